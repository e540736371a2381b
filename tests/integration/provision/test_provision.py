"""Provision stage through Ansible (ansible-runner, as AWX) and the real oci SDK against the OCI sandbox.

Per scenario: converge, re-run with changed=0, check mode that changes nothing in the state dump,
no duplicates, teardown leaving nothing of ours. `exhausted` must fail cleanly with the attempts table.
"""

from __future__ import annotations

import base64
import collections
import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
import yaml

from tests.helpers.ansible import REPO, assert_ok

from .conftest import live, resources_view

LMS, SERVICES, WORKERS = 2, 1, 2  # tests/rehearsal/inventory counts
LABEL = "openedx-scale/pool"


def ready_nodes(state, role):
    nodes = []
    for pool in live(state, "node_pools"):
        labels = {kv["key"]: kv["value"] for kv in pool.get("initialNodeLabels") or []}
        if labels.get(LABEL) != role:
            continue
        nodes += [n for n in pool.get("nodes") or [] if n.get("lifecycleState") == "ACTIVE" and not n.get("nodeError")]
    return nodes


def assert_no_duplicates(state):
    for kind, key in (("clusters", "name"), ("node_pools", "name"), ("instances", "displayName")):
        items = [r for r in live(state, kind) if not (kind == "instances" and r["freeformTags"].get("openedx_scale_component") == "node_pool")]
        names = collections.Counter(r.get(key) for r in items)
        dups = {n: c for n, c in names.items() if c > 1}
        assert not dups, f"duplicate {kind}: {dups}"


def assert_kubeconfig_token_accepted(stage, cluster_id):
    """kubectl's exec user runs our oke_token.py on the SDK (no OCI CLI); its token passes OKE's check."""
    config = yaml.safe_load((stage.workdir / "kubeconfig").read_text())
    spec = config["users"][0]["user"]["exec"]
    assert spec["command"] == str(REPO / ".venv" / "bin" / "python") or "python" in Path(spec["command"]).name, spec
    assert spec["args"][0].endswith("roles/oke_cluster/files/oke_token.py") and "generate-token" not in spec["args"], spec
    out = subprocess.run([spec["command"], *spec["args"]], capture_output=True, text=True, timeout=60, check=True)
    credential = json.loads(out.stdout)
    assert credential["kind"] == "ExecCredential" and credential["status"]["expirationTimestamp"].endswith("Z")
    url = base64.urlsafe_b64decode(credential["status"]["token"]).decode()
    assert url.split("?")[0] == f"{stage.sb.url}/cluster_request/{cluster_id}"
    with urllib.request.urlopen(url, timeout=30) as response:
        assert json.load(response)["clusterId"] == cluster_id
    forged = url.replace("date=", "date=Mon%2C+01+Jan+2024+00%3A00%3A00+GMT&x=")  # a different date than the one signed
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(forged, timeout=30)
    assert info.value.code == 401


def changed_tasks(run):
    return sorted({ev["event_data"]["task"] for ev in run.events if ev.get("event") == "runner_on_ok" and ev["event_data"].get("res", {}).get("changed")})


@pytest.mark.parametrize("scenario", ["ample", "jeddah-tight", "recovering", "oke-reconcile", "report-denied"])
def test_converge_idempotent_check_teardown(make_stage, scenario):
    stage = make_stage(scenario)
    # converge
    assert_ok(stage.play("provision_cluster"))
    run = stage.play("provision_loadgen")
    assert_ok(run)
    state = stage.state()
    assert len(live(state, "clusters")) == 1
    assert len(ready_nodes(state, "lms")) == LMS
    assert len(ready_nodes(state, "services")) == SERVICES
    vms = [i for i in live(state, "instances") if i["freeformTags"].get("openedx_scale_component") == "instance"]
    assert sorted(i["displayName"] for i in vms) == ["locust-master-01", "locust-worker-01", "locust-worker-02"]
    assert all(i["lifecycleState"] == "RUNNING" for i in vms)
    assert_no_duplicates(state)
    added = run.results("Add the VMs to locust_master / locust_workers")
    assert added, "VMs were not added to the in-memory inventory"
    assert (stage.workdir / "kubeconfig").stat().st_mode & 0o777 == 0o600
    assert_kubeconfig_token_accepted(stage, live(state, "clusters")[0]["id"])
    # live progress: one file per pool / VM group, one line per attempt, written while the modules ran
    logs = {p.name: p.read_text().splitlines() for p in (stage.workdir / "progress").glob("*.progress")}
    assert {"openedx-rehearsal-lms.progress", "openedx-rehearsal-services.progress", "locust-worker.progress"} <= set(logs), sorted(logs)
    assert all(any("attempt 1 |" in line for line in lines) for name, lines in logs.items() if name != "locust-master.progress")
    # re-run: nothing to do
    for name in ("provision_cluster", "provision_loadgen"):
        again = stage.play(name)
        assert_ok(again)
        assert again.changed == 0, f"{name} re-run changed: {changed_tasks(again)}"
    # check mode changes nothing
    before = resources_view(stage.state())
    for name in ("provision_cluster", "provision_loadgen", "teardown"):
        assert_ok(stage.play(name, check=True))
    assert resources_view(stage.state()) == before
    # teardown, twice (safe to re-run)
    assert_ok(stage.play("teardown"))
    second = stage.play("teardown")
    assert_ok(second)
    assert second.changed == 0, changed_tasks(second)
    state = stage.state()
    for kind in ("clusters", "node_pools", "instances", "capacity_reservations"):
        assert live(state, kind) == [], f"{kind} left after teardown"
    assert not (stage.workdir / "kubeconfig").exists()


def test_exhausted_fails_cleanly_with_table(make_stage):
    stage = make_stage("exhausted")
    run = stage.play("provision_cluster", oke_cluster_wait_timeout=900)
    assert run.rc != 0
    failed = run.results("Ensure the labelled node pools")
    assert failed, run.stdout[-3000:]
    res = failed[0]["results"][0]  # the LMS pool, first item of the loop
    assert res["failed"] and "would pass the 900s deadline" in res["msg"], res["msg"]
    assert res["attempts_table"][0].startswith("attempt")
    assert len(res["attempts"]) >= 2
    for item in failed[0]["results"]:  # both pools gave up before their deadline, on the sandbox clock
        assert item["failed"] and item["elapsed_seconds"] < 900, item["elapsed_seconds"]
    state = stage.state()
    assert_no_duplicates(state)
    assert ready_nodes(state, "lms") == []
    # The stage's last word names everything it left, by id (issue 30: nothing half-made without saying so).
    (left,) = run.results("Fail naming what the stage left behind")
    msg = " ".join(left["msg"].split())
    assert "Provisioning stopped at 'Ensure the labelled node pools'" in msg and "playbooks/teardown.yml" in msg, msg
    clusters = [r["id"] for r in live(state, "clusters")]
    assert len(clusters) == 1 and clusters[0] in msg and "would pass the 900s deadline" in msg, msg
    for pool in live(state, "node_pools"):
        assert pool["id"] in msg, (pool["id"], msg)
    assert "attempt | placement" not in msg, "the attempts tables are in the failed task's result, not repeated"
    assert_ok(stage.play("teardown"))
    state = stage.state()
    for kind in ("clusters", "node_pools", "instances", "capacity_reservations"):
        assert live(state, kind) == [], f"{kind} left after teardown"


# The capacity report is advisory (oci-cli #748): here it claims nothing anywhere while E4.Flex in FD-1 has room.
STALE_REPORT = {
    "name": "stale-report",
    "description": "Capacity reports say no E4/E5 anywhere; FAULT-DOMAIN-1 really has E4.Flex room for 10 nodes.",
    "capacity": [
        {"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 300, "memory_gbs": 1400, "reported": 0},
        {"fault_domain": "FAULT-DOMAIN-2", "shape": "VM.Standard.E4.Flex", "ocpus": 0, "memory_gbs": 0},
        {"fault_domain": "FAULT-DOMAIN-3", "shape": "VM.Standard.E4.Flex", "ocpus": 0, "memory_gbs": 0},
    ],
}


def test_capacity_reservations_end_to_end(make_stage):
    """The reservation tier: reserve what really exists, launch nodes and VMs into it, release it at teardown."""
    stage = make_stage(STALE_REPORT)
    opts = {"oke_cluster_capacity_reservation": True, "loadgen_vms_capacity_reservation": True}
    assert_ok(stage.play("provision_cluster", **opts))
    assert_ok(stage.play("provision_loadgen", **opts))
    state = stage.state()
    reservations = {r["id"]: r for r in live(state, "capacity_reservations")}
    assert reservations, "no capacity reservation was made"
    for role, count in (("lms", LMS), ("services", SERVICES)):
        nodes = ready_nodes(state, role)
        assert len(nodes) == count, role
        assert all(n["faultDomain"] == "FAULT-DOMAIN-1" for n in nodes)
    pools = live(state, "node_pools")
    assert all(pc.get("capacityReservationId") in reservations for p in pools for pc in p["nodeConfigDetails"]["placementConfigs"])
    instances = live(state, "instances")
    assert instances and all(i.get("capacityReservationId") in reservations for i in instances)
    # every reserved slot is used: the modules reserve what they launch, no more
    assert sum(r["usedInstanceCount"] for r in reservations.values()) == len(instances)
    assert sum(r["reservedInstanceCount"] for r in reservations.values()) == len(instances)
    assert_no_duplicates(state)
    for name in ("provision_cluster", "provision_loadgen"):
        again = stage.play(name, **opts)
        assert_ok(again)
        assert again.changed == 0, f"{name} re-run changed: {changed_tasks(again)}"
    assert_ok(stage.play("teardown"))
    state = stage.state()
    for kind in ("clusters", "node_pools", "instances", "capacity_reservations"):
        assert live(state, kind) == [], f"{kind} left after teardown"


def test_stale_report_is_probed(make_stage):
    """Reservations off: the report says nothing anywhere; the planner trusts it for two rounds, then probes one
    placement it calls full (every third empty round), finds FD-1's real room and converges; re-runs change nothing."""
    stage = make_stage(STALE_REPORT)
    converge = stage.play("provision_cluster")
    assert_ok(converge)
    assert_ok(stage.play("provision_loadgen"))
    state = stage.state()
    assert live(state, "capacity_reservations") == []
    for role, count in (("lms", LMS), ("services", SERVICES)):
        assert len(ready_nodes(state, role)) == count, role
    for item in converge.results("Ensure the labelled node pools")[0]["results"]:
        attempts = item["attempts"]
        assert [a["outcome"] for a in attempts] == ["no capacity", "no capacity", "ok"], attempts
        assert attempts[2]["tier"] == "probe" and attempts[2]["round"] == 3 and "FD-1" in attempts[2]["placement"], attempts[2]
    vms = [i for i in live(state, "instances") if i["freeformTags"].get("openedx_scale_component") == "instance"]
    assert len(vms) == 1 + WORKERS and all(i["faultDomain"] == "FAULT-DOMAIN-1" for i in vms)
    assert_no_duplicates(state)
    for name in ("provision_cluster", "provision_loadgen"):
        again = stage.play(name)
        assert_ok(again)
        assert again.changed == 0, f"{name} re-run changed: {changed_tasks(again)}"
    assert_ok(stage.play("teardown"))
    state = stage.state()
    for kind in ("clusters", "node_pools", "instances"):
        assert live(state, kind) == [], f"{kind} left after teardown"


def test_instance_that_dies_while_starting_is_replaced(make_stage):
    """An accepted launch whose instance goes TERMINATED while provisioning is replaced under the same name."""
    stage = make_stage({"name": "boot-fails-once", "capacity": [{"fault_domain": fd, "shape": "VM.Standard.E4.Flex", "ocpus": 64, "memory_gbs": 512}
                                                                for fd in ("FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3")],
                        "boot_hook": {"python": "tests.sandbox.oci.testing:boot_fails_first_time", "kinds": ["instance"]}})
    run = stage.play("provision_loadgen")
    assert_ok(run)
    state = stage.state()
    failures = state["counters"]["boot_failures"]
    assert sorted(f["display_name"] for f in failures) == ["locust-master-01", "locust-worker-01", "locust-worker-02"]
    vms = [i for i in state["resources"]["instances"].values() if i["freeformTags"].get("openedx_scale_component") == "instance"]
    running = sorted(i["displayName"] for i in vms if i["lifecycleState"] == "RUNNING")
    assert running == ["locust-master-01", "locust-worker-01", "locust-worker-02"]
    assert sorted(i["displayName"] for i in vms if i["lifecycleState"] == "TERMINATED") == running  # one dead first boot each
    attempts = [a for item in run.results("Ensure the Locust master and worker VMs")[0]["results"] for a in item["attempts"]]
    assert sum("terminated while starting" in a["reason"] for a in attempts) == 3, attempts
    again = stage.play("provision_loadgen")
    assert_ok(again)
    assert again.changed == 0, changed_tasks(again)
    assert_ok(stage.play("teardown"))
    assert live(stage.state(), "instances") == []


def test_a_fleet_cut_short_by_capacity_says_what_it_left_and_teardown_removes_it(make_stage):
    """Room checks pass (addresses and limits are there) but the hosts run out part-way: the failure names the
    instances left running, a re-run would launch only the missing ones, and teardown removes every one."""
    # 3 OCPUs of E4 in one fault domain: the master (2) and one worker (1), not the second worker.
    capacity = [{"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 3, "memory_gbs": 64}]
    stage = make_stage({"name": "capacity-for-two", "capacity": capacity})
    run = stage.play("provision_loadgen", loadgen_vms_wait_timeout=600, loadgen_vms_fault_domains=["FAULT-DOMAIN-1"])
    assert run.rc != 0
    items = run.results("Ensure the Locust master and worker VMs")[0]["results"]
    workers = [i for i in items if i.get("failed")]
    assert len(workers) == 1 and "1 of 2 still missing (locust-worker-02)" in workers[0]["msg"], workers
    assert "left running: locust-worker-01 (a re-run launches only the missing ones" in workers[0]["msg"]
    running = sorted(i["displayName"] for i in live(stage.state(), "instances"))
    assert running == ["locust-master-01", "locust-worker-01"]
    assert_ok(stage.play("teardown"))
    assert live(stage.state(), "instances") == []


def test_iam_preflight_fails_before_anything_with_the_statements(make_stage):
    """iam-denied: no policy for OKE's work requests nor the capacity report; the stage stops at its IAM preflight."""
    stage = make_stage("iam-denied")
    run = stage.play("provision_cluster")
    assert run.rc != 0
    failed = run.results("Fail with the IAM policy statements to add")
    assert failed, run.stdout[-3000:]
    msg = failed[0]["msg"]
    assert "Allow group <your-group> to read cluster-work-requests in compartment id" in msg, msg
    # the advisory report statement comes as a module warning, shown by Ansible
    assert "[WARNING]: The compute capacity report was denied" in run.stdout and "manage compute-capacity-reports in tenancy" in run.stdout
    state = stage.state()
    assert state["counters"]["calls"].get("ce.CreateCluster", 0) == 0
    for kind in ("clusters", "node_pools", "instances", "capacity_reservations"):
        assert live(state, kind) == [], kind
