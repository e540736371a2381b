"""playbooks/awx_configure.yml through ansible-runner (as AWX runs playbooks) against tests.sandbox.awx, a
strict local stand-in for the AWX REST API: what the controller holds afterwards, idempotence (no write on a
re-run), check mode, bad input refused before any write, and secrets never in the -vvv output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from tests.helpers.ansible import assert_ok, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.awx import FakeAWX

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "awx_configure.yml"
INVENTORY = inventory_path("sandbox")
DEFAULTS = yaml.safe_load((REPO / "roles" / "awx_config" / "defaults" / "main.yml").read_text())
TOKEN = "awx-token-6f1c0e9a7d"
PASSPHRASE = "oci-key-passphrase-93b1"
# Three full runs of the playbook (about a minute each on a loaded 2-core machine).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def secrets() -> dict:
    """A passphrase-protected RSA API key (PKCS#8 PEM, as `openssl genrsa -aes256` writes) and an OpenSSH key."""
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    oci_key = rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.BestAvailableEncryption(PASSPHRASE.encode()))
    ssh_key = ed25519.Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                                 serialization.NoEncryption())
    return {"oci_key": oci_key.decode(), "ssh_key": ssh_key.decode()}


def extravars(awx: FakeAWX, secrets: dict, **overrides) -> dict:
    values = {
        "awx_config_controller_host": awx.url,
        "awx_config_controller_oauthtoken": TOKEN,
        "awx_config_oci_api_key": {
            "user": "ocid1.user.oc1..aaaaaaaaexampleuser",
            "tenancy": "ocid1.tenancy.oc1..aaaaaaaaexampletenancy",
            "fingerprint": "12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0",
            "region": "me-jeddah-1",
            "private_key": secrets["oci_key"],
            "passphrase": PASSPHRASE,
        },
        "awx_config_ssh_private_key": secrets["ssh_key"],
    }
    values.update(overrides)
    return values


def _secret_values(secrets: dict) -> list[str]:
    """Strings that must never reach the output: token, passphrase, and a line from the middle of each key."""
    lines = [ln for key in (secrets["oci_key"], secrets["ssh_key"]) for ln in key.splitlines() if "-----" not in ln and len(ln) > 40]
    return [TOKEN, PASSPHRASE, *lines[1:3], *lines[-3:-1]]


@pytest.fixture(scope="module")
def configured(secrets):
    """A fresh fake controller configured twice: the first run at -vvv, the second must change nothing."""
    with FakeAWX(TOKEN) as awx:
        first = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets), verbosity=3)
        assert_ok(first)
        writes_after_first = len(awx.writes())
        second = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets))
        assert_ok(second)
        yield {"awx": awx, "first": first, "second": second, "writes_after_first": writes_after_first, "dump": awx.state.dump()}


def test_first_run_creates_and_second_run_changes_nothing(configured):
    assert configured["first"].changed > 0
    assert configured["second"].changed == 0, configured["second"].stdout[-5000:]
    assert len(configured["awx"].writes()) == configured["writes_after_first"], "the re-run sent write requests"


def test_organization_and_execution_environment(configured):
    dump = configured["dump"]
    org = dump["organizations"]["openedx-scale"]
    ee = dump["execution_environments"]["openedx-scale-ee"]
    assert ee["image"] == DEFAULTS["awx_config_execution_environment"]["image"]
    assert ee["organization"] == org["id"]


def test_oci_credential_type_reaches_the_controller_unrendered(configured):
    ctype = configured["dump"]["credential_types"]["OCI API key"]
    assert ctype["kind"] == "cloud" and not ctype["managed"]
    fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
    assert fields["private_key"]["secret"] and fields["private_key"]["multiline"] and fields["passphrase"]["secret"]
    # The role must hand the controller Jinja templates, not values Ansible already rendered.
    assert ctype["injectors"]["env"]["OCI_USER_ID"] == "{{ user }}"
    assert ctype["injectors"]["file"]["template.key"] == "{{ private_key }}"
    assert "key_file={{ tower.filename.key }}" in ctype["injectors"]["file"]["template.config"]
    assert "raw" not in json.dumps(ctype["injectors"])


def test_credentials_hold_the_inputs_and_hide_the_secrets(configured, secrets):
    dump, state = configured["dump"], configured["awx"].state
    oci_cred = dump["credentials"]["openedx-scale OCI API key"]
    assert oci_cred["credential_type"] == dump["credential_types"]["OCI API key"]["id"]
    assert oci_cred["inputs"]["user"] == "ocid1.user.oc1..aaaaaaaaexampleuser"
    assert oci_cred["inputs"]["private_key"] == oci_cred["inputs"]["passphrase"] == "$encrypted$"
    assert state.secrets[oci_cred["id"]] == {"private_key": secrets["oci_key"], "passphrase": PASSPHRASE}
    ssh = dump["credentials"]["openedx-scale load generators SSH"]
    assert ssh["credential_type"] == dump["credential_types"]["Machine"]["id"]
    assert ssh["inputs"] == {"username": "root", "ssh_key_data": "$encrypted$"}
    assert state.secrets[ssh["id"]] == {"ssh_key_data": secrets["ssh_key"]}


def test_project_is_this_repository_and_synced(configured):
    dump = configured["dump"]
    project = dump["projects"]["openedx-scale"]
    assert project["scm_type"] == "git" and project["scm_url"] == f"file://{REPO}"
    assert project["status"] == "successful" and project["scm_update_on_launch"] is True
    assert project["default_environment"] == dump["execution_environments"]["openedx-scale-ee"]["id"]


def test_inventories_sync_from_the_project_files(configured):
    dump = configured["dump"]
    # The product ships example-jeddah's; the rehearsal inventory adds its own (tests/rehearsal/inventory).
    inventories = yaml.safe_load((INVENTORY / "group_vars" / "all" / "awx_config.yml").read_text())["awx_config_inventories"]
    assert [i["name"] for i in DEFAULTS["awx_config_inventories"]] == ["openedx-scale example-jeddah"]
    for inv in inventories:
        source = dump["inventory_sources"][f"{inv['name']} from project"]
        assert source["inventory"] == dump["inventories"][inv["name"]]["id"]
        assert source["source"] == "scm" and source["source_path"] == inv["source_path"]
        assert source["source_project"] == dump["projects"]["openedx-scale"]["id"]
        assert (REPO / inv["source_path"]).is_file()


def test_job_templates_playbooks_credentials_and_surveys(configured):
    dump = configured["dump"]
    sandbox_vars = yaml.safe_load((INVENTORY / "group_vars" / "all" / "openedx_scale.yml").read_text())
    for jt in DEFAULTS["awx_config_job_templates"]:
        got = dump["job_templates"][jt["name"]]
        assert got["playbook"] == jt["playbook"] and (REPO / jt["playbook"]).is_file()
        assert got["inventory"] == dump["inventories"]["openedx-scale sandbox"]["id"]
        assert got["execution_environment"] == dump["execution_environments"]["openedx-scale-ee"]["id"]
        assert got["ask_variables_on_launch"] is False and got["ask_inventory_on_launch"]
        assert sorted(got.get("associations", {}).get("credentials", [])) == sorted(jt["credentials"])
        assert got["survey_enabled"] is True
        spec = got["survey_spec"]["spec"]
        assert [q["variable"] for q in spec] == [q["variable"] for q in jt["survey"]]
        for q in spec:
            assert "{{" not in str(q.get("default")), f"{jt['name']}: {q['variable']} default was not rendered"
            if q["variable"] in sandbox_vars:
                assert q["default"] == sandbox_vars[q["variable"]], (jt["name"], q)


def _launch(awx: FakeAWX, coll: str, name: str, extra_vars: dict):
    """POST .../launch/ as a launcher would (the API, a schedule, `awx job_templates launch`)."""
    import urllib.error
    import urllib.request

    oid = awx.state.dump()[coll][name]["id"]
    req = urllib.request.Request(f"{awx.url}/api/v2/{coll}/{oid}/launch/", data=json.dumps({"extra_vars": extra_vars}).encode(),
                                 headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}, method="POST")
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_launchers_set_only_the_survey_variables(configured):
    awx = configured["awx"]
    hostile = {"awx_config_ssh_private_key": "attacker key", "ansible_host": "203.0.113.9", "locust_host": "https://evil.example"}
    status, job = _launch(awx, "job_templates", "openedx-scale provision load generators", {**hostile, "loadgen_vms_worker_count": 3})
    assert status == 201, job
    assert json.loads(job["extra_vars"])["loadgen_vms_worker_count"] == 3
    assert not set(hostile) & set(json.loads(job["extra_vars"])) and set(job["ignored_fields"]["extra_vars"]) == set(hostile)
    # The load test's own target is a survey question there, checked against its type and bounds.
    status, job = _launch(awx, "job_templates", "openedx-scale load test", {"locust_host": "https://lms.example", "locust_ramp_steps": "5"})
    assert status == 400 and job["variables_needed_to_start"] == ["Value 5 for 'locust_ramp_steps' expected to be of type integer."]
    status, job = _launch(awx, "job_templates", "openedx-scale load test", {"locust_ramp_steps": 500})
    assert status == 400 and "'locust_ramp_steps' value 500 is too large (must be no more than 100)." in job["variables_needed_to_start"]
    status, job = _launch(awx, "workflow_job_templates", "openedx-scale pipeline", {"openedx_scale_target_users": 1000, **hostile})
    assert status == 201 and set(job["ignored_fields"]["extra_vars"]) == set(hostile)


def test_open_extra_vars_are_an_opt_in(secrets):
    with FakeAWX(TOKEN) as awx:
        assert_ok(run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets, awx_config_ask_variables_on_launch=True)))
        dump = awx.state.dump()
        assert all(dump["job_templates"][jt["name"]]["ask_variables_on_launch"] is True for jt in DEFAULTS["awx_config_job_templates"])
        assert all(wf["ask_variables_on_launch"] is True for wf in dump["workflow_job_templates"].values())
        status, job = _launch(awx, "job_templates", "openedx-scale teardown", {"ansible_host": "203.0.113.9"})
        assert status == 201 and json.loads(job["extra_vars"])["ansible_host"] == "203.0.113.9" and not job["ignored_fields"]


def test_workflows_chain_the_templates(configured):
    dump = configured["dump"]
    for wf in DEFAULTS["awx_config_workflows"]:
        got = dump["workflow_job_templates"][wf["name"]]
        assert got["survey_enabled"] and [q["variable"] for q in got["survey_spec"]["spec"]] == [q["variable"] for q in wf["survey"]]
        for node in wf["nodes"]:
            stored = dump["workflow_job_template_nodes"][f"{wf['name']}/{node['identifier']}"]
            assert stored["workflow_job_template"] == got["id"]
            assert stored["summary_fields"]["unified_job_template"]["name"] == node["template"]
            links = stored.get("associations", {})
            for kind in ("success_nodes", "failure_nodes", "always_nodes"):
                assert sorted(links.get(kind, [])) == sorted(node.get(kind, [])), (wf["name"], node["identifier"], kind)
        others = [k for k in dump["workflow_job_template_nodes"] if k.startswith(wf["name"] + "/")]
        assert len(others) == len(wf["nodes"])


def test_secrets_never_in_the_vvv_output(configured, secrets):
    first = configured["first"]
    text = first.stdout + json.dumps(first.events, default=str)
    assert "Create the credentials" in first.stdout
    leaked = [s[:12] + "..." for s in _secret_values(secrets) if s in text]
    assert not leaked, f"secret values in the -vvv output/events: {leaked}"


def test_check_mode_reports_changes_but_writes_nothing(configured, secrets):
    awx = configured["awx"]
    before = len(awx.writes())
    run = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets, openedx_scale_target_users=123), check=True)
    assert_ok(run)
    assert run.changed > 0, "a changed survey default should show as a change in check mode"
    assert len(awx.writes()) == before, f"check mode wrote: {awx.writes()[before:]}"
    jt = awx.state.dump()["job_templates"]["openedx-scale load test"]
    assert next(q for q in jt["survey_spec"]["spec"] if q["variable"] == "openedx_scale_target_users")["default"] == 60


# One case per kind of check (each is a full ansible-runner run): inputs, secret formats, cross references,
# and the controller refusing the token.
BAD_INPUTS = {
    "no token": ({"awx_config_controller_oauthtoken": ""}, "awx_config_controller_oauthtoken"),
    "no project URL": ({"awx_config_project": {"name": "openedx-scale", "scm_url": ""}}, "awx_config_project.scm_url"),
    "bad user OCID": ({"awx_config_oci_api_key": {"user": "ocid1.tenancy.oc1..x", "tenancy": "ocid1.tenancy.oc1..y",
                                                  "fingerprint": "12:34:56:78:9a:bc:de:f0:12:34:56:78:9a:bc:de:f0", "region": "me-jeddah-1",
                                                  "private_key": "-----BEGIN PRIVATE KEY-----\nx\n-----END PRIVATE KEY-----\n"}},
                      "user=ocid1.user"),
    "unknown credential": ({"awx_config_job_templates": [{"name": "x", "playbook": "playbooks/teardown.yml", "credentials": ["nope"]}],
                            "awx_config_workflows": []}, "are not in awx_config_credentials"),
    "wrong token": ({"awx_config_controller_oauthtoken": "not-the-token"}, "HTTP 401"),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_fails_clearly_before_any_write(case, secrets):
    overrides, expected = BAD_INPUTS[case]
    with FakeAWX(TOKEN) as awx:
        run = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets, **overrides))
        assert run.rc != 0, f"{case}: the playbook succeeded"
        assert expected in run.stdout, f"{case}: no clear message naming {expected!r}:\n{run.stdout[-4000:]}"
        assert awx.writes() == [], f"{case}: wrote {awx.writes()} before failing"


def test_refused_credential_is_reported_without_its_inputs(secrets):
    """no_log on the credential task hides the controller's whole answer; the failure must still say which credential
    the controller refused and why, with none of the inputs in the output."""
    value = "hunter2-credential-secret-5d1e"
    bad = {"name": "extra credential", "credential_type": "Machine", "inputs": {"username": "opc", "ssh_key_data": secrets["ssh_key"], "vault_token": value}}
    with FakeAWX(TOKEN) as awx:
        credentials = [*DEFAULTS["awx_config_credentials"], bad]
        run = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets, awx_config_credentials=credentials), verbosity=3)
        text = run.stdout + json.dumps(run.events, default=str)
        assert run.rc != 0
        assert "credential 'extra credential' (type Machine)" in run.stdout and "are not valid fields for Machine" in run.stdout, run.stdout[-4000:]
        assert "censored" not in run.stdout.split("Fail when the controller refused a credential")[-1]
        leaked = [s[:12] + "..." for s in [value, *_secret_values(secrets)] if s in text]
        assert not leaked, f"secret values in the output/events: {leaked}"
        assert "extra credential" not in awx.state.dump()["credentials"]
