"""playbooks/awx_configure.yml through ansible-runner against the real AWX 24.6.1 (tests/helpers/awx): what AWX holds
afterwards read back through its API, idempotence (a second run changes nothing), the survey specs accepted and the
survey answers judged by AWX itself, then jobs launched through AWX (receptor, ansible-runner worker, the podman
stand-in) that finish `successful` with their events stored. Bad input is refused before any write; secrets never
reach the -vvv output."""

from __future__ import annotations

import configparser
import json
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from tests.helpers.ansible import assert_ok, run_playbook
from tests.helpers.awx import RealAWX
from tests.rehearsal import inventory_path
from tests.sandbox.lms import DEFAULT_COURSES, StandIn, write_users_csv
from tests.sandbox.machines import Machines, machines
from tests.sandbox.oci import OciSandbox

REPO = Path(__file__).resolve().parents[3]
PLAYBOOK = REPO / "playbooks" / "awx_configure.yml"
INVENTORY = inventory_path("sandbox")
DEFAULTS = yaml.safe_load((REPO / "roles" / "awx_config" / "defaults" / "main.yml").read_text())
# AWX itself, then three full runs of the playbook and the jobs AWX runs.
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def oci(tmp_path_factory):
    """The OCI sandbox the provision job works against; its API key is what the OCI credential holds."""
    with OciSandbox("ample", tmp_path_factory.mktemp("awx-oci")) as sandbox:
        yield sandbox


@pytest.fixture(scope="module")
def secrets(oci) -> dict:
    """The OCI sandbox's API signing key (its user, tenancy, fingerprint, PEM key) and an OpenSSH key."""
    config = configparser.ConfigParser()
    config.read(oci.config_file)
    profile = config["DEFAULT"]
    ssh_key = ed25519.Ed25519PrivateKey.generate().private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH,
                                                                 serialization.NoEncryption())
    return {"oci": {"user": profile["user"], "tenancy": profile["tenancy"], "fingerprint": profile["fingerprint"],
                    "region": profile["region"], "private_key": Path(profile["key_file"]).read_text(), "passphrase": ""},
            "oci_key": Path(profile["key_file"]).read_text(), "ssh_key": ssh_key.decode()}


def _commit() -> str:
    """The project is this checkout as a git repository: AWX syncs the commit under test (not the main branch)."""
    return subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()


# The rehearsal inventory places the kubeconfig in its checkout; a provision job writes it in its own private data
# dir: a fixed extra var of the job template (awx_config_job_templates[].extra_vars), as docs/awx.md shows.
JOB_TEMPLATES = [
    {**jt, "extra_vars": {"openedx_scale_kubeconfig": "/runner/kubeconfig"}} if jt["playbook"] == "playbooks/provision_cluster.yml" else jt
    for jt in DEFAULTS["awx_config_job_templates"]
]


def extravars(awx: RealAWX, secrets: dict, **overrides) -> dict:
    values = {
        "awx_config_job_templates": JOB_TEMPLATES,
        "awx_config_controller_host": awx.url,
        "awx_config_controller_oauthtoken": awx.token,
        "awx_config_validate_certs": False,
        "awx_config_oci_api_key": secrets["oci"],
        "awx_config_ssh_private_key": secrets["ssh_key"],
        "awx_config_project": {"name": "openedx-scale", "description": "this checkout", "scm_url": f"file://{REPO}",
                               "scm_branch": _commit(), "scm_update_on_launch": True, "scm_update_cache_timeout": 60},
    }
    values.update(overrides)
    return values


def _secret_values(awx: RealAWX, secrets: dict) -> list[str]:
    """Strings that must never reach the output: token, passphrase, and a line from the middle of each key."""
    lines = [ln for key in (secrets["oci_key"], secrets["ssh_key"]) for ln in key.splitlines() if "-----" not in ln and len(ln) > 40]
    return [awx.token, *lines[1:3], *lines[-3:-1]]


@pytest.fixture(scope="module")
def awx():
    with RealAWX() as real:
        yield real


@pytest.fixture(scope="module")
def configured(awx, secrets):
    """AWX configured twice: the first run at -vvv, the second must change nothing."""
    first = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets), verbosity=3)
    assert_ok(first)
    second = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets))
    assert_ok(second)
    return {"first": first, "second": second}


def test_first_run_creates_and_second_run_changes_nothing(configured):
    assert configured["first"].changed > 0
    assert configured["second"].changed == 0, configured["second"].stdout[-5000:]


def test_organization_and_execution_environment(awx, configured):
    org = awx.named("organizations", "openedx-scale")
    ee = awx.named("execution_environments", "openedx-scale-ee")
    assert ee["image"] == DEFAULTS["awx_config_execution_environment"]["image"]
    assert ee["organization"] == org["id"] and ee["pull"] == "missing"


def test_oci_credential_type_reaches_the_controller_unrendered(awx, configured):
    ctype = awx.named("credential_types", "OCI API key")
    assert ctype["kind"] == "cloud" and not ctype["managed"]
    fields = {f["id"]: f for f in ctype["inputs"]["fields"]}
    assert fields["private_key"]["secret"] and fields["private_key"]["multiline"] and fields["passphrase"]["secret"]
    # The role must hand the controller Jinja templates, not values Ansible already rendered.
    assert ctype["injectors"]["env"]["OCI_USER_ID"] == "{{ user }}"
    assert ctype["injectors"]["file"]["template.key"] == "{{ private_key }}"
    assert "key_file={{ tower.filename.key }}" in ctype["injectors"]["file"]["template.config"]
    assert "raw" not in json.dumps(ctype["injectors"])


def test_credentials_hold_the_inputs_and_hide_the_secrets(awx, configured, secrets):
    oci_cred = awx.named("credentials", "openedx-scale OCI API key")
    assert oci_cred["credential_type"] == awx.named("credential_types", "OCI API key")["id"]
    assert oci_cred["inputs"]["user"] == secrets["oci"]["user"] and oci_cred["inputs"]["private_key"] == "$encrypted$"
    ssh = awx.named("credentials", "openedx-scale load generators SSH")
    assert ssh["credential_type"] == awx.named("credential_types", "Machine")["id"]
    assert ssh["inputs"] == {"username": "root", "ssh_key_data": "$encrypted$"}


def test_project_is_this_repository_and_synced(awx, configured):
    project = awx.named("projects", "openedx-scale")
    assert project["scm_type"] == "git" and project["scm_url"] == f"file://{REPO}"
    assert project["status"] == "successful" and project["scm_update_on_launch"] is True
    assert project["default_environment"] == awx.named("execution_environments", "openedx-scale-ee")["id"]
    # AWX lists the playbooks it found in the synced project: every job template's playbook is among them.
    playbooks = awx.get(f"/api/v2/projects/{project['id']}/playbooks/")
    assert {jt["playbook"] for jt in DEFAULTS["awx_config_job_templates"]} <= set(playbooks)


def test_inventories_sync_from_the_project_files(awx, configured):
    inventories = yaml.safe_load((INVENTORY / "group_vars" / "all" / "awx_config.yml").read_text())["awx_config_inventories"]
    assert [i["name"] for i in DEFAULTS["awx_config_inventories"]] == ["openedx-scale example-jeddah"]
    project = awx.named("projects", "openedx-scale")
    for inv in inventories:
        source = awx.named("inventory_sources", f"{inv['name']} from project")
        assert source["inventory"] == awx.named("inventories", inv["name"])["id"]
        assert source["source"] == "scm" and source["source_path"] == inv["source_path"]
        assert source["source_project"] == project["id"]


def test_job_templates_playbooks_credentials_and_surveys(awx, configured):
    sandbox_vars = yaml.safe_load((INVENTORY / "group_vars" / "all" / "openedx_scale.yml").read_text())
    for jt in DEFAULTS["awx_config_job_templates"]:
        got = awx.named("job_templates", jt["name"])
        assert got["playbook"] == jt["playbook"]
        assert got["inventory"] == awx.named("inventories", "openedx-scale sandbox")["id"]
        assert got["execution_environment"] == awx.named("execution_environments", "openedx-scale-ee")["id"]
        assert got["ask_variables_on_launch"] is False and got["ask_inventory_on_launch"]
        creds = awx.get(f"/api/v2/job_templates/{got['id']}/credentials/")["results"]
        assert sorted(c["name"] for c in creds) == sorted(jt["credentials"])
        assert got["survey_enabled"] is True
        spec = awx.get(f"/api/v2/job_templates/{got['id']}/survey_spec/")["spec"]
        assert [q["variable"] for q in spec] == [q["variable"] for q in jt["survey"]]
        for q in spec:
            assert "{{" not in str(q.get("default")), f"{jt['name']}: {q['variable']} default was not rendered"
            if q["variable"] in sandbox_vars:
                assert q["default"] == sandbox_vars[q["variable"]], (jt["name"], q)


def test_workflows_chain_the_templates(awx, configured):
    for wf in DEFAULTS["awx_config_workflows"]:
        got = awx.named("workflow_job_templates", wf["name"])
        spec = awx.get(f"/api/v2/workflow_job_templates/{got['id']}/survey_spec/")["spec"]
        assert got["survey_enabled"] and [q["variable"] for q in spec] == [q["variable"] for q in wf["survey"]]
        nodes = awx.get(f"/api/v2/workflow_job_templates/{got['id']}/workflow_nodes/?page_size=200")["results"]
        by_id = {n["id"]: n["identifier"] for n in nodes}
        assert sorted(by_id.values()) == sorted(n["identifier"] for n in wf["nodes"])
        for node in wf["nodes"]:
            stored = next(n for n in nodes if n["identifier"] == node["identifier"])
            assert stored["summary_fields"]["unified_job_template"]["name"] == node["template"]
            for kind in ("success_nodes", "failure_nodes", "always_nodes"):
                assert sorted(by_id[i] for i in stored[kind]) == sorted(node.get(kind, [])), (wf["name"], node["identifier"], kind)


def _launch(awx: RealAWX, coll: str, name: str, extra_vars: dict, **prompts) -> tuple[int, dict]:
    """POST .../launch/ as a launcher would (the API, a schedule, `awx job_templates launch`); prompts: what the
    template asks on launch besides the survey (the inventory)."""
    oid = awx.named(coll, name)["id"]
    return awx.api("POST", f"/api/v2/{coll}/{oid}/launch/", {"extra_vars": extra_vars, **prompts})


def _answers(awx: RealAWX, coll: str, name: str, **overrides) -> dict:
    """Every survey answer: the stored defaults, then the overrides. AWX 24.6.1 refuses an API launch that leaves out
    a required question even when it has a default (only the UI pre-fills them; workflows skip that check)."""
    oid = awx.named(coll, name)["id"]
    return {**{q["variable"]: q["default"] for q in awx.get(f"/api/v2/{coll}/{oid}/survey_spec/")["spec"]}, **overrides}


def test_awx_refuses_bad_survey_answers(awx, configured):
    """AWX checks every answer against the survey's type, bounds and choices before it creates a job."""
    before = awx.get("/api/v2/unified_jobs/?page_size=1")["count"]
    loadtest = "openedx-scale load test"
    status, body = _launch(awx, "job_templates", loadtest, _answers(awx, "job_templates", loadtest, locust_ramp_steps="5"))
    assert status == 400 and body["variables_needed_to_start"] == ["Value 5 for 'locust_ramp_steps' expected to be an integer."], body
    status, body = _launch(awx, "job_templates", loadtest, _answers(awx, "job_templates", loadtest, locust_ramp_steps=500))
    assert status == 400 and body["variables_needed_to_start"] == ["'locust_ramp_steps' value 500 is too large (must be no more than 100)."], body
    status, body = _launch(awx, "job_templates", loadtest, {"locust_ramp_steps": 5})
    assert status == 400 and "'locust_host' value missing" in body["variables_needed_to_start"], body
    deploy = "openedx-scale deploy Open edX"
    status, body = _launch(awx, "job_templates", deploy, _answers(awx, "job_templates", deploy, tutor_search_backend="solr"))
    assert status == 400 and len(body["variables_needed_to_start"]) == 1 and "tutor_search_backend" in body["variables_needed_to_start"][0], body
    pipeline = "openedx-scale pipeline"
    status, body = _launch(awx, "workflow_job_templates", pipeline, _answers(awx, "workflow_job_templates", pipeline, locust_slo_max_failure_ratio=2))
    assert status == 400 and any("locust_slo_max_failure_ratio" in m for m in body["variables_needed_to_start"]), body
    assert awx.get("/api/v2/unified_jobs/?page_size=1")["count"] == before, "a refused launch created a job"


def test_awx_refuses_a_survey_spec_it_cannot_hold(awx, configured):
    """The survey spec our role sends is what AWX validates; a question without `required` is refused by AWX."""
    jt = awx.named("job_templates", "openedx-scale teardown")
    spec = awx.get(f"/api/v2/job_templates/{jt['id']}/survey_spec/")
    broken = {**spec, "spec": [{k: v for k, v in q.items() if k != "required"} for q in spec["spec"]]}
    status, body = awx.api("POST", f"/api/v2/job_templates/{jt['id']}/survey_spec/", broken)
    assert status == 400 and "'required' missing from survey question 0" in body["error"], body
    assert awx.get(f"/api/v2/job_templates/{jt['id']}/survey_spec/") == spec


def test_secrets_never_in_the_vvv_output(awx, configured, secrets):
    first = configured["first"]
    text = first.stdout + json.dumps(first.events, default=str)
    assert "Create the credentials" in first.stdout
    leaked = [s[:12] + "..." for s in _secret_values(awx, secrets) if s in text]
    assert not leaked, f"secret values in the -vvv output/events: {leaked}"


def test_check_mode_reports_changes_but_writes_nothing(awx, configured, secrets):
    jt = awx.named("job_templates", "openedx-scale load test")
    run = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets, openedx_scale_target_users=123), check=True)
    assert_ok(run)
    assert run.changed > 0, "a changed survey default should show as a change in check mode"
    spec = awx.get(f"/api/v2/job_templates/{jt['id']}/survey_spec/")["spec"]
    assert next(q for q in spec if q["variable"] == "openedx_scale_target_users")["default"] == 60
    assert awx.named("job_templates", "openedx-scale load test")["modified"] == jt["modified"]


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
def test_bad_input_fails_clearly_before_any_write(awx, configured, case, secrets):
    overrides, expected = BAD_INPUTS[case]
    before = awx.get("/api/v2/activity_stream/?page_size=1")["count"]
    run = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets, **overrides))
    assert run.rc != 0, f"{case}: the playbook succeeded"
    assert expected in run.stdout, f"{case}: no clear message naming {expected!r}:\n{run.stdout[-4000:]}"
    assert awx.get("/api/v2/activity_stream/?page_size=1")["count"] == before, f"{case}: AWX recorded a change before the failure"


def test_refused_credential_is_reported_without_its_inputs(awx, configured, secrets):
    """no_log on the credential task hides the controller's whole answer; the failure must still say which credential
    AWX refused and why, with none of the inputs in the output or the events."""
    value = "hunter2-credential-secret-5d1e"
    bad = {"name": "extra credential", "credential_type": "Machine", "inputs": {"username": "opc", "ssh_key_data": secrets["ssh_key"], "vault_token": value}}
    credentials = [*DEFAULTS["awx_config_credentials"], bad]
    run = run_playbook(PLAYBOOK, INVENTORY, extravars=extravars(awx, secrets, awx_config_credentials=credentials), verbosity=3)
    text = run.stdout + json.dumps(run.events, default=str)
    assert run.rc != 0
    assert "credential 'extra credential' (type Machine)" in run.stdout, run.stdout[-4000:]
    assert "censored" not in run.stdout.split("Fail when the controller refused a credential")[-1]
    leaked = [s[:12] + "..." for s in [value, *_secret_values(awx, secrets)] if s in text]
    assert not leaked, f"secret values in the output/events: {leaked}"
    assert awx.get("/api/v2/credentials/?name=extra+credential")["count"] == 0


def _job_output(awx: RealAWX, job: dict) -> str:
    return awx.api("GET", f"/api/v2/jobs/{job['id']}/stdout/?format=json")[1].get("content", "")


def test_provision_job_launched_through_awx_succeeds(awx, configured, oci):
    """The provision job template, launched with survey answers, runs through receptor and ansible-runner (the podman
    stand-in for the EE) against the OCI sandbox: AWX syncs the project and the inventory, injects the OCI credential,
    stores the job's events, and the cluster and its pools exist afterwards."""
    env = {k: v for k, v in oci.env().items() if k != "OCI_CONFIG_FILE"}  # the credential injects its own config file
    status, body = awx.api("PATCH", "/api/v2/settings/jobs/", {"AWX_TASK_ENV": env})
    assert status == 200, body
    jt = awx.named("job_templates", "openedx-scale provision cluster")
    assert yaml.safe_load(jt["extra_vars"]) == {"openedx_scale_kubeconfig": "/runner/kubeconfig"}
    status, job = _launch(awx, "job_templates", jt["name"], _answers(awx, "job_templates", jt["name"], openedx_scale_deployment="awx-job"))
    assert status == 201, job
    done = awx.wait_job(f"/api/v2/jobs/{job['id']}/")
    assert done["status"] == "successful", f"{done['status']}: {done.get('job_explanation')}\n{_job_output(awx, done)[-6000:]}\n{awx.logs()}"
    events = awx.get(f"/api/v2/jobs/{job['id']}/job_events/?event=playbook_on_stats")
    assert events["count"] == 1 and awx.get(f"/api/v2/jobs/{job['id']}/job_events/?page_size=1")["count"] > 10
    assert json.loads(done["extra_vars"])["openedx_scale_deployment"] == "awx-job"
    clusters = [c for c in oci.state()["resources"]["clusters"].values() if c.get("lifecycleState") == "ACTIVE"]
    assert len(clusters) == 1 and clusters[0]["freeformTags"].get("openedx_scale_deployment") == "awx-job", clusters


LOADGEN = {"locust_master": ["awx-locust-master"], "locust_workers": ["awx-locust-worker"]}


@pytest.fixture(scope="module")
def loadgen(nspawn_host, tmp_path_factory):
    """The load generators as a user's AWX sees them: two machines (tests/sandbox/machines) reached over SSH, and the
    LMS stand-in on this checkout's machine bridge with the accounts of a users CSV."""
    work = tmp_path_factory.mktemp("awx-loadtest")
    users_csv = write_users_csv(work / "users.csv", 40)
    mgr = Machines()
    with machines([n for names in LOADGEN.values() for n in names], cpus=1) as booted, \
            StandIn(work / "lms", users_csv, enroll=DEFAULT_COURSES, extra_args=["--host", mgr.host_ip]) as lms:
        yield {"mgr": mgr, "machines": booted, "lms": lms, "users_csv": users_csv, "reports": work / "reports"}


def _loadgen_inventory(awx: RealAWX, loadgen: dict) -> int:
    """An AWX inventory of the load generators, made through the API as a user makes it: the groups loadtest.yml
    reads, one host per machine (its address, the machines' known_hosts; the key and user come from the machine
    credential), and the short run's settings as inventory variables."""
    mgr = loadgen["mgr"]
    settings = {
        "openedx_scale_users_csv": str(loadgen["users_csv"]),
        "locust_course_ids": list(DEFAULT_COURSES),
        "locust_discovery_enabled": True,
        "locust_think_time": [0.5, 1.5],
        "locust_ramp_step_hold": 4,
        "locust_ramp_down": 3,
        "locust_ramp_spawn_rate": 4,
        "locust_expect_workers_max_wait": 60,
        "locust_progress_interval": 5,
        "locust_wheelhouse_dir": str(REPO / "build" / "locust" / "wheelhouse"),
        "locust_reports_dir": str(loadgen["reports"]),
        "locust_run_id": "awx",
    }
    org = awx.named("organizations", "openedx-scale")["id"]
    status, inv = awx.api("POST", "/api/v2/inventories/", {"name": "openedx-scale load generators", "organization": org, "variables": json.dumps(settings)})
    assert status == 201, inv
    for group, names in LOADGEN.items():
        status, grp = awx.api("POST", f"/api/v2/inventories/{inv['id']}/groups/", {"name": group})
        assert status == 201, grp
        for name in names:
            hostvars = {k: v for k, v in mgr.host_vars(loadgen["machines"][name]).items() if k not in ("ansible_user", "ansible_ssh_private_key_file")}
            status, host = awx.api("POST", f"/api/v2/groups/{grp['id']}/hosts/", {"name": name, "inventory": inv["id"], "variables": json.dumps(hostvars)})
            assert status == 201, host
    return inv["id"]


def test_loadtest_job_launched_through_awx_passes(awx, configured, loadgen):
    """The load-test job template, launched on an inventory of load generators with short-run survey answers, runs
    the real load test through AWX: Locust master and worker on the machines under systemd over SSH with the
    machine credential's key, the report written where the inventory says, verdict PASS, the job's events stored."""
    mgr, lms = loadgen["mgr"], loadgen["lms"]
    ssh = awx.named("credentials", "openedx-scale load generators SSH")
    status, body = awx.api("PATCH", f"/api/v2/credentials/{ssh['id']}/", {"inputs": {"username": "root", "ssh_key_data": mgr.key.read_text()}})
    assert status == 200, body
    # A job sees only its private data dir and the paths AWX exposes to it: the accounts, the wheelhouse, the reports.
    exposed = [str(loadgen["users_csv"].parent), str(REPO / "build" / "locust"), str(mgr.known_hosts.parent)]
    for path in exposed:
        Path(path).mkdir(parents=True, exist_ok=True)
    status, body = awx.api("PATCH", "/api/v2/settings/jobs/", {"AWX_ISOLATION_SHOW_PATHS": exposed})
    assert status == 200, body
    inventory = _loadgen_inventory(awx, loadgen)
    name = "openedx-scale load test"
    answers = _answers(awx, "job_templates", name, openedx_scale_target_users=8, locust_host=lms.url, locust_ramp_steps=2,
                       locust_ramp_hold=20, locust_slo_p95_ms=2000)
    before = lms.stats()
    status, job = _launch(awx, "job_templates", name, answers, inventory=inventory)
    assert status == 201, job
    done = awx.wait_job(f"/api/v2/jobs/{job['id']}/")
    output = _job_output(awx, done)
    assert done["status"] == "successful", f"{done['status']}: {done.get('job_explanation')}\n{output[-8000:]}\n{awx.logs()}"
    assert done["inventory"] == inventory
    events = awx.get(f"/api/v2/jobs/{job['id']}/job_events/?event=playbook_on_stats")
    assert events["count"] == 1 and awx.get(f"/api/v2/jobs/{job['id']}/job_events/?page_size=1")["count"] > 10
    hosts = {s["host_name"]: s for s in awx.get(f"/api/v2/jobs/{job['id']}/job_host_summaries/")["results"]}
    assert {h for names in LOADGEN.values() for h in names} <= set(hosts) and not any(s["failures"] or s["dark"] for s in hosts.values()), hosts
    # The report is where the job's stored verdict event says it is, with the verdict and charts; the LMS saw every user log in.
    task = urllib.parse.quote("Show the verdict and where the report is")
    shown = awx.get(f"/api/v2/jobs/{job['id']}/job_events/?event=runner_on_ok&task={task}")["results"]
    assert len(shown) == 1 and shown[0]["host_name"] == LOADGEN["locust_master"][0], shown
    report = Path(shown[0]["event_data"]["res"]["msg"][-1].removeprefix("report: "))
    assert report.parent == loadgen["reports"] and report.is_dir(), report
    verdict = report / "report" / "verdict.md"
    assert verdict.read_text().splitlines()[0].endswith(": PASS") and list(verdict.parent.glob("*.png")), sorted(report.rglob("*"))
    after = lms.stats()
    assert after["logins"].get("ok", 0) - before["logins"].get("ok", 0) >= 8, after["logins"]
