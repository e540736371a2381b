"""No secret in the output of any stage, whichever way it is supplied (issue 30 item 4).

Every stage gets canary secrets through each supported path - the inventory's group_vars, an ansible-vault encrypted
group_vars file, an extra-vars file (-e @file) and, where the product reads one, an environment variable - and is run
at -vvv through ansible-runner, as AWX runs it. The display and every event's data are searched for each canary.
Each run must also fail or pass for the expected reason, which proves the secret reached the role: a private key
pasted where a public key belongs (provision), an OCI config file holding a pasted key (provision, refused by file
and line), Tutor's secrets in render mode (deploy), the accounts' passwords of the users CSV (load test), the AWX
token and credentials in front of an unreachable controller (operate).
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml

from tests.helpers.ansible import REPO, VENV_BIN, assert_ok, run_playbook
from tests.helpers.net import free_port
from tests.helpers.secrets import canaries, leaks, rendered_secret_values
from tests.integration.deploy.test_render import PLAYBOOK as DEPLOY_PLAYBOOK
from tests.integration.loadtest.test_loadtest_bad_input import PLAYBOOK as LOADTEST_PLAYBOOK
from tests.integration.loadtest.test_loadtest_bad_input import write_inventory
from tests.rehearsal import INVENTORY

PATHS = ("inventory", "vault", "extra_vars_file")
PLAYBOOKS = REPO / "playbooks"


def private_key(tag: str) -> tuple[str, str]:
    """A PEM-looking private key whose body is a unique canary: (key text, canary)."""
    body = f"MIIEpCanary{tag}{uuid.uuid4().hex}"
    return f"-----BEGIN OPENSSH PRIVATE KEY-----\n{body}\n{body[::-1]}\n-----END OPENSSH PRIVATE KEY-----\n", body


def supply(tmp_path: Path, how: str, variables: dict, inventory: Path = INVENTORY) -> dict:
    """run_playbook() arguments that hand `variables` to the play the way `how` says, on a copy of `inventory`."""
    inv = tmp_path / "inventory"
    if inventory.is_dir():
        shutil.copytree(inventory, inv)
        source = inv
    else:
        inv.mkdir()
        source = inv / inventory.name
        shutil.copy(inventory, source)
    group_vars = inv / "group_vars" / "all"
    group_vars.mkdir(parents=True, exist_ok=True)
    if inventory.is_dir():
        # The copy no longer sits in the checkout its paths start from (tests/rehearsal/inventory's rehearsal_repo_dir).
        (group_vars / "zz_checkout.yml").write_text(yaml.safe_dump({"rehearsal_repo_dir": str(REPO)}))
    text = yaml.safe_dump(variables)
    if how == "inventory":
        (group_vars / "zz_secrets.yml").write_text(text)
        return {"inventory": source}
    if how == "vault":
        password = tmp_path / "vault-password"
        password.write_text(uuid.uuid4().hex)
        vaulted = group_vars / "zz_secrets.yml"
        vaulted.write_text(text)
        subprocess.run([str(VENV_BIN / "ansible-vault"), "encrypt", "--vault-password-file", str(password), str(vaulted)],
                       check=True, capture_output=True)
        assert vaulted.read_text().startswith("$ANSIBLE_VAULT")
        return {"inventory": source, "envvars": {"ANSIBLE_VAULT_PASSWORD_FILE": str(password)}}
    assert how == "extra_vars_file"
    path = tmp_path / "secrets.yml"
    path.write_text(text)
    return {"inventory": source, "extra_args": ["-e", f"@{path}"]}


def play(playbook: Path, how_args: dict, extravars: dict | None = None, envvars: dict | None = None):
    args = dict(how_args)
    args["envvars"] = {**args.get("envvars", {}), **(envvars or {})}
    run = run_playbook(playbook, extravars=extravars, verbosity=3, **args)
    assert run.stdout.count("<localhost>") > 3 or run.stdout.count("ESTABLISH LOCAL CONNECTION") > 0, "not a -vvv log"
    return run


def refused(run, *needles):
    assert run.rc != 0, run.stdout[-4000:]
    for needle in needles:
        assert needle in run.stdout, (needle, run.stdout[-6000:])
    assert "Traceback (most recent call last)" not in run.stdout, run.stdout[-6000:]


@pytest.mark.parametrize("how", PATHS)
def test_provision_private_keys_pasted_as_public_keys(tmp_path, how):
    key, canary = private_key("Cluster")
    key2, canary2 = private_key("Loadgen")
    args = supply(tmp_path, how, {"oke_cluster_ssh_public_key": key, "loadgen_vms_ssh_authorized_keys": [key2]})
    work = {"openedx_scale_kubeconfig": str(tmp_path / "kubeconfig"), "oke_cluster_progress_dir": str(tmp_path / "progress"),
            "loadgen_vms_progress_dir": str(tmp_path / "progress")}
    cluster = play(PLAYBOOKS / "provision_cluster.yml", args, work)
    refused(cluster, "oke_cluster_ssh_public_key: not an OpenSSH public key")
    loadgen = play(PLAYBOOKS / "provision_loadgen.yml", args, work)
    refused(loadgen, "loadgen_vms_ssh_authorized_keys[0]: not an OpenSSH public key")
    assert leaks(cluster, [canary, canary[::-1]]) == {} and leaks(loadgen, [canary2, canary2[::-1]]) == {}


@pytest.mark.parametrize("how", PATHS)
def test_provision_oci_config_holding_a_key_is_refused_by_line(tmp_path, how):
    """The config file's path comes by `how`; the key's pass phrase by the environment (OCI_USER_KEY_PASS_PHRASE)."""
    key, canary = private_key("Config")
    config = tmp_path / "oci-config"
    config.write_text("[DEFAULT]\nuser=ocid1.user.oc1..aaaaaaaauser\ntenancy=ocid1.tenancy.oc1..aaaaaaaatenancy\n"
                      "fingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\nregion=me-jeddah-1\n" + key)
    phrase = f"CanaryPhrase{uuid.uuid4().hex}"
    args = supply(tmp_path, how, {"openedx_scale_oci_auth": {"config_file": str(config), "profile": "DEFAULT"}})
    run = play(PLAYBOOKS / "provision_cluster.yml", args,
               {"openedx_scale_kubeconfig": str(tmp_path / "kubeconfig"), "oke_cluster_progress_dir": str(tmp_path / "progress")},
               {"OCI_USER_KEY_PASS_PHRASE": phrase})
    refused(run, "config_file: lines 6, 7, 8, 9 of the OCI config file " + str(config), "its content is not shown")
    assert leaks(run, [canary, canary[::-1], phrase, "PRIVATE KEY-----"]) == {}


@pytest.mark.parametrize("how", ("vault", "extra_vars_file"))
def test_deploy_tutor_secrets(tmp_path, how):
    """Inventory and extra variables: deploy/test_no_log.py; here the vault and an extra-vars file (render mode)."""
    secrets = canaries(how.replace("_", "").title())
    out = tmp_path / "out"
    run = play(DEPLOY_PLAYBOOK, supply(tmp_path, how, {"tutor_settings": secrets}),
               {"openedx_scale_render_dir": str(out), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl")})
    assert_ok(run)
    rendered = "\n".join(rendered_secret_values((out / "openedx.yaml").read_text(), (out / "datastores.yaml").read_text()))
    assert secrets["OPENEDX_SECRET_KEY"] in rendered and secrets["REDIS_PASSWORD"] in rendered, "the canaries did not reach Tutor"
    assert leaks(run, secrets.values()) == {}


def test_loadtest_account_passwords(tmp_path):
    """The accounts' passwords come in the users CSV (the seeding's Secret writes it the same way)."""
    run_id = uuid.uuid4().hex
    users = tmp_path / "users.csv"
    passwords = [f"CanaryPw{i}{run_id}" for i in range(40)]
    users.write_text("username,email,password\n" + "".join(f"u{i},u{i}@example.com,{p}\n" for i, p in enumerate(passwords)))
    inventory = write_inventory(tmp_path, openedx_scale_users_csv=str(users))
    run = play(LOADTEST_PLAYBOOK, {"inventory": inventory})
    refused(run, "locust_host")  # the LMS port is closed: stopped in preflight after the CSV was read and split
    assert leaks(run, passwords) == {}


@pytest.mark.parametrize("how", PATHS)
def test_operate_awx_token_and_credentials(tmp_path, how):
    """The token by the environment (CONTROLLER_OAUTH_TOKEN), the keys by `how`; the controller does not answer."""
    api_key, canary = private_key("AwxApi")
    ssh_key, canary2 = private_key("AwxSsh")
    token = f"CanaryToken{uuid.uuid4().hex}"
    args = supply(tmp_path, how, {
        "awx_config_oci_api_key": {"user": "ocid1.user.oc1..aaaaaaaauser", "tenancy": "ocid1.tenancy.oc1..aaaaaaaatenancy",
                                   "fingerprint": "11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff", "region": "me-jeddah-1",
                                   "private_key": api_key.replace("OPENSSH ", "RSA "), "passphrase": ""},
        "awx_config_ssh_private_key": ssh_key,
    })
    run = play(PLAYBOOKS / "awx_configure.yml", args, {"awx_config_controller_host": f"http://127.0.0.1:{free_port()}"},
               {"CONTROLLER_OAUTH_TOKEN": token})
    refused(run, "Reach the controller")
    assert leaks(run, [canary, canary[::-1], canary2, canary2[::-1], token]) == {}
