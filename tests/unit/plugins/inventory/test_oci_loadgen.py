"""The oci_loadgen inventory plugin through the real `ansible-inventory`, against the OCI sandbox: it lists the
running VMs that carry this deployment's ownership tags into locust_master / locust_workers, leaves out other
deployments, foreign and terminated instances, changes nothing in OCI, and refuses bad input naming the field."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.sandbox.oci.testing import launch_details, make_clients, wait_work_request

REPO = Path(__file__).resolve().parents[4]
AD = "hxIl:ME-JEDDAH-1-AD-1"


def _owned(deployment: str, role: str) -> dict:
    return {"openedx_scale_managed_by": "openedx_scale.oke", "openedx_scale_deployment": deployment,
            "openedx_scale_component": "instance", "openedx_scale_role": role}


def _launch(clients, name: str, tags: dict) -> str:
    response = clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name=name, freeform_tags=tags))
    wait_work_request(clients.work_requests, response.headers["opc-work-request-id"])
    return response.data.id


def _plain(value):
    """ansible-inventory marks values read from OCI as unsafe (never templated): the value itself."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def _inventory(sandbox, tmp_path, **options) -> subprocess.CompletedProcess:
    config = {"plugin": "openedx_scale.oke.oci_loadgen", "deployment": "rehearsal", "config_file": str(sandbox.config_file), "profile": "DEFAULT",
              "service_endpoint": sandbox.url, **options}
    path = tmp_path / "oci_loadgen.yml"
    path.write_text(yaml.safe_dump(config))
    env = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections"), "ANSIBLE_INVENTORY_ENABLED": "openedx_scale.oke.oci_loadgen",
           "ANSIBLE_INVENTORY_UNPARSED_FAILED": "true", "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    return subprocess.run(["ansible-inventory", "-i", str(path), "--list"], env=env, capture_output=True, text=True, timeout=300, check=False)


def test_lists_the_deployments_load_generators(oci_sandbox, tmp_path):
    clients = make_clients(oci_sandbox)
    tenancy = clients.tenancy
    master = _launch(clients, "locust-master-01", _owned("rehearsal", "locust_master"))
    workers = [_launch(clients, f"locust-worker-0{i}", _owned("rehearsal", "locust_worker")) for i in (1, 2)]
    _launch(clients, "other-worker-01", _owned("other", "locust_worker"))       # another deployment
    _launch(clients, "foreign-01", {"owner": "someone"})                          # not ours at all
    _launch(clients, "lms-node-01", {**_owned("rehearsal", "lms"), "openedx_scale_component": "node_pool"})
    gone = _launch(clients, "locust-worker-09", _owned("rehearsal", "locust_worker"))
    clients.compute.terminate_instance(gone)
    oci_sandbox.advance(60)
    before = oci_sandbox.state()["resources"]

    res = _inventory(oci_sandbox, tmp_path, compartment_id=tenancy)
    assert res.returncode == 0, res.stdout + res.stderr
    inv = json.loads(res.stdout)
    assert inv["locust_master"]["hosts"] == ["locust-master-01"]
    assert sorted(inv["locust_workers"]["hosts"]) == ["locust-worker-01", "locust-worker-02"]
    hostvars = inv["_meta"]["hostvars"]
    assert set(hostvars) == {"locust-master-01", "locust-worker-01", "locust-worker-02"}
    assert _plain(hostvars["locust-master-01"]["loadgen_vms_instance_id"]) == master
    assert {_plain(hostvars[f"locust-worker-0{i}"]["loadgen_vms_instance_id"]) for i in (1, 2)} == set(workers)
    vnics = {v["privateIp"] for v in oci_sandbox.state()["resources"]["vnics"].values()}
    assert all(_plain(h["ansible_host"]) in vnics for h in hostvars.values()), hostvars
    assert oci_sandbox.state()["resources"] == before, "the inventory plugin changed OCI state"


def test_bad_input_names_the_field(oci_sandbox, tmp_path):
    res = _inventory(oci_sandbox, tmp_path, compartment_id="not-an-ocid")
    assert res.returncode != 0 and "compartment_id" in res.stderr and "Fix:" in res.stderr, res.stderr
    res = _inventory(oci_sandbox, tmp_path, compartment_id=make_clients(oci_sandbox).tenancy, deployment="Bad Name")
    assert res.returncode != 0 and "deployment" in res.stderr and "Fix:" in res.stderr, res.stderr
