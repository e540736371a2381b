"""playbooks/provision_loadgen.yml sizes the Locust fleet from the target before it asks OCI for anything.

A worker fleet smaller than the target needs is refused with the numbers; a much larger one is warned about with its
OCPU cost; example-jeddah's derived fleet passes. Every case stops in (or runs only) the loadgen_vms preflight, so no
OCI endpoint is needed: a refused run must not get past it.
"""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from tests.helpers.ansible import REPO, run_playbook

PLAYBOOK = REPO / "playbooks" / "provision_loadgen.yml"
JEDDAH = REPO / "inventories" / "example-jeddah"


@pytest.fixture
def inventory(tmp_path):
    config = tmp_path / "oci-config"
    config.write_text("[DEFAULT]\n")
    base = {
        "openedx_scale_deployment": "sizing-test",
        "openedx_scale_compartment_id": "ocid1.compartment.oc1..aaaaaaaasizingtest",
        "openedx_scale_oci_auth": {"config_file": str(config), "profile": "DEFAULT"},
        "openedx_scale_target_users": 50000,
        "openedx_scale_think_time_seconds": [5, 15],
        "openedx_scale_login_limits_raised": True,
        "loadgen_vms_subnet_id": "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaasizingtest",
        "loadgen_vms_image_id": "ocid1.image.oc1.me-jeddah-1.aaaaaaaasizingtest",
        "loadgen_vms_users_per_core": 12500,
        "loadgen_vms_progress_dir": str(tmp_path / "progress"),
        "loadgen_vms_worker_count": 12,
        "loadgen_vms_worker_shape": {"shape": "VM.Standard.E4.Flex", "ocpus": 1, "memory_in_gbs": 4},
    }

    def write(**overrides):
        local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
        inv = {"all": {"vars": {**base, **overrides}, "hosts": {"localhost": local}}}
        path = tmp_path / "hosts.yml"
        path.write_text(yaml.safe_dump(inv))
        return path

    return write


def _text(run) -> str:
    """The output with the callback's line wrapping undone."""
    return " ".join(run.stdout.split())


def _refused(run, *needles):
    assert run.rc != 0, f"provision_loadgen.yml accepted a too-small fleet:\n{run.stdout[-4000:]}"
    for needle in needles:
        assert needle in _text(run), f"expected {needle!r} in the error:\n{run.stdout[-4000:]}"
    assert "Ensure the Locust master and worker VMs" not in run.stdout, "the refused fleet reached OCI"


# Too-small fleets and bad sizing input: (inventory overrides, text the refusal must show)
REFUSED = {
    "too little CPU": (
        {"loadgen_vms_worker_count": 1, "loadgen_vms_max_connections_per_ip": 0},
        ["loadgen_vms_worker_count=1 x loadgen_vms_worker_shape.ocpus=1", "2 worker processes", "50,000 users need 5 processes",
         "Fix: set loadgen_vms_worker_count: 3"],
    ),
    "too few source IPs for limit-connections": (
        {"loadgen_vms_worker_count": 4, "loadgen_vms_worker_shape": {"shape": "VM.Standard.E4.Flex", "ocpus": 4, "memory_in_gbs": 16}},
        ["4 worker VMs are 4 source IPs", "50,000 users need 12", "Fix: set loadgen_vms_worker_count: 12"],
    ),
    "too few source IPs for the default login limit": (
        {"openedx_scale_login_limits_raised": False, "loadgen_vms_max_connections_per_ip": 0},
        ["12 worker VMs are 12 source IPs", "per-IP login limit: 93", "Fix: set loadgen_vms_worker_count: 93"],
    ),
    "users per core zero": ({"loadgen_vms_users_per_core": 0}, ["users_per_core must be greater than 0"]),
    "bad login rate": ({"openedx_scale_login_limits_raised": False, "loadgen_vms_login_rate_limit_ip": "lots"},
                       ["login rate limit per IP must look like 100/5m"]),
    "bad think time": ({"openedx_scale_think_time_seconds": [15, 5]}, ["think_time_seconds [min, max] has min > max"]),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_fleet_smaller_than_needed_is_refused(inventory, case):
    overrides, needles = REFUSED[case]
    _refused(run_playbook(PLAYBOOK, inventory=inventory(**overrides), tags="loadgen_vms_preflight"), *needles)


def test_case_study_fleet_passes_with_its_ocpu_cost(inventory):
    run = run_playbook(PLAYBOOK, inventory=inventory(loadgen_vms_worker_count=50, loadgen_vms_worker_shape={
        "shape": "VM.Standard.E4.Flex", "ocpus": 2, "memory_in_gbs": 8}), tags="loadgen_vms_preflight")
    assert run.rc == 0, run.stdout[-4000:]
    assert "WARNING: loadgen_vms_worker_count=50: fleet much larger than needed" in _text(run)
    assert "= 101 OCPUs where 50,000 users need 12 worker VMs x 2 OCPU + 1 = 25 OCPUs; 76 OCPUs more than needed" in _text(run)


def test_example_jeddah_fleet_is_derived_and_passes(tmp_path):
    config = tmp_path / "oci-config"
    config.write_text("[DEFAULT]\n")
    # The example's key is a placeholder the preflight refuses on purpose: a user supplies their own, as here.
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "id")], check=True)
    run = run_playbook(PLAYBOOK, inventory=JEDDAH, tags="loadgen_vms_preflight", extravars={
        "openedx_scale_oci_auth": {"config_file": str(config), "profile": "DEFAULT"}, "loadgen_vms_progress_dir": str(tmp_path / "p"),
        "loadgen_vms_ssh_authorized_keys": [(tmp_path / "id.pub").read_text().strip()], "loadgen_vms_ssh_private_key_file": str(tmp_path / "id")})
    assert run.rc == 0, run.stdout[-4000:]
    assert "Load generators for 50,000 users" in _text(run)
    assert "WARNING" not in run.stdout and "fleet too small" not in run.stdout
