"""The node-pool engine against OKE behaviours the sandbox models from real OKE (scenario files name the sources).

Each scenario runs the real oci SDK against the in-process sandbox with `jump_on_poll` off (a poll does not skip
the sandbox clock to the end of a work request, so OKE's own work requests really overlap ours, as on OCI).
Acceptance per scenario: converges, no duplicate update or pool, a re-run changes nothing, teardown leaves nothing.
"""

from __future__ import annotations

import collections
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.openedx_scale.oke.plugins.module_utils import oke_node_pools  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import REPORT_POLICY, Placement, fetch_report  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import OciClients  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError, InputError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_iam import check_policies, missing_statements  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reservations import reserve  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry import ProgressLog, RetryPolicy  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_clusters import ClusterReconciler  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_node_pools import NodePoolReconciler  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_options import check_cluster_options, check_node_pool_options  # noqa: E402

from tests.sandbox.oci import OciSandbox  # noqa: E402
from tests.sandbox.oci.scenario import Subnet, load  # noqa: E402

COMPARTMENT = "ocid1.compartment.oc1..aaaaaaaasandboxcompartment"
SUBNET = "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaasandboxworkers"
E4 = {"shape": "VM.Standard.E4.Flex", "ocpus": 30.0, "memory_in_gbs": 128.0}
E5 = {"shape": "VM.Standard.E5.Flex", "ocpus": 30.0, "memory_in_gbs": 128.0}
ROLES = (("lms", 5, E4, E5), ("services", 2, dict(E4, ocpus=16.0, memory_in_gbs=64.0), dict(E5, ocpus=16.0, memory_in_gbs=64.0)))
MUTATIONS = ("ce.CreateNodePool", "ce.UpdateNodePool", "ce.DeleteNodePool")


class StoreClock:
    """The in-process sandbox's virtual clock, as the modules' injectable clock: a wait advances it."""

    def __init__(self, sandbox):
        self.sb = sandbox

    def now(self):
        return self.sb.store.clock.elapsed()

    def wall(self):
        return self.sb.store.clock.now()

    def sleep(self, seconds):
        if seconds > 0:
            self.sb.advance(seconds)


class Stage:
    def __init__(self, sandbox):
        self.sb = sandbox
        self.clock = StoreClock(sandbox)
        self.clients = OciClients({"config_file": sandbox.config_file, "profile": "DEFAULT", "service_endpoint": sandbox.url})
        self.cluster_id = ClusterReconciler(self.clients, self.policy("cluster"), {
            "deployment": "behave", "compartment_id": COMPARTMENT, "name": "behave",
            "vcn_id": "ocid1.vcn.oc1.me-jeddah-1.aaaaaaaasandboxvcn", "endpoint_subnet_id": SUBNET,
            "kubernetes_version": "v1.35.4", "cluster_type": "ENHANCED_CLUSTER", "pods_cidr": "10.244.0.0/16",
            "services_cidr": "10.96.0.0/16", "freeform_tags": {}, "public_endpoint": True, "service_lb_subnet_ids": [],
        }).ensure_present()["cluster"]["id"]
        self.ad = self.clients.identity.list_availability_domains(compartment_id=self.clients.tenancy).data[0].name

    def policy(self, label, deadline=7200):
        return RetryPolicy(deadline, clock=self.clock, base=15, max_wait=300, throttle_cooldown=60, progress=ProgressLog(label=label))

    def params(self, role, count, shape, alt, state="present"):
        return {"deployment": "behave", "name": "behave-" + role, "role": role, "label_key": "openedx-scale/pool", "node_labels": {},
                "count": count, "cluster_id": self.cluster_id, "compartment_id": COMPARTMENT, "subnet_id": SUBNET,
                "image_id": "ocid1.image.oc1.me-jeddah-1.aaaaaaaasandboxoke", "kubernetes_version": "v1.35.4",
                "shapes": [shape, alt], "fault_domains": ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"],
                "availability_domain": self.ad, "tenancy_id": self.clients.tenancy, "wait_timeout": 7200, "freeform_tags": {},
                "capacity_probe_rounds": 3, "state": state}

    def converge(self):
        out = {}
        for role, count, shape, alt in ROLES:
            policy = self.policy(role)
            out[role] = NodePoolReconciler(self.clients, policy, self.params(role, count, shape, alt)).ensure_present()
            out[role]["warnings"] = policy.progress.warnings  # what run_module passes to module.warn()
        return out

    def teardown(self):
        for role, count, shape, alt in ROLES:
            NodePoolReconciler(self.clients, self.policy(role), self.params(role, count, shape, alt, state="absent")).ensure_absent()

    def calls(self):
        return dict(self.sb.state()["counters"]["calls"])


@pytest.fixture
def stage_for(tmp_path):
    started = []

    def make(name):
        scenario = load(name)
        scenario.clock.jump_on_poll = False  # OKE's own work requests overlap ours, as on OCI
        sandbox = OciSandbox(scenario, tmp_path / name).start()
        started.append(sandbox)
        return Stage(sandbox)

    yield make
    for sandbox in started:
        sandbox.stop()


def healthy(state, role):
    return [n for p in state["resources"]["node_pools"].values() if p["lifecycleState"] != "DELETED"
            and {kv["key"]: kv["value"] for kv in p["initialNodeLabels"]}.get("openedx-scale/pool") == role
            for n in p["nodes"] if n["lifecycleState"] == "ACTIVE" and not n.get("nodeError")]


def converged(stage_for, scenario):
    """The scenario's stage after one convergence of both pools, which must reach 5 LMS and 2 services nodes."""
    stage = stage_for(scenario)
    results = stage.converge()
    state = stage.sb.state()
    assert len(healthy(state, "lms")) == 5 and len(healthy(state, "services")) == 2
    return stage, results, state


def assert_rerun_and_teardown(stage):
    before = stage.calls()
    again = stage.converge()
    assert not any(r["changed"] for r in again.values()), {k: r["actions"] for k, r in again.items()}
    after = stage.calls()
    assert all(after.get(op, 0) == before.get(op, 0) for op in MUTATIONS), "a re-run mutated something"
    stage.teardown()
    stage.teardown()  # safe to repeat
    state = stage.sb.state()
    assert [p["name"] for p in state["resources"]["node_pools"].values() if p["lifecycleState"] != "DELETED"] == []
    assert [i["id"] for i in state["resources"]["instances"].values() if i["lifecycleState"] != "TERMINATED"] == []


def test_oke_reconcile_is_waited_for_and_a_lost_update_is_not_sent_twice(stage_for):
    stage, results, state = converged(stage_for, "oke-reconcile")
    lines = [line for r in results.values() for line in r["progress"]]
    # OKE's own reconcile held the pool: the module waited for that work request instead of retrying into 409s
    ops = collections.Counter(wr["operationType"] for wr in state["work_requests"].values())
    assert ops["NODEPOOL_RECONCILE"] >= 1, ops
    conflicts = state["counters"]["by_operation_status"]["ce.UpdateNodePool"].get("409", 0)
    busy = [line for line in lines if "busy (409)" in line and "NODEPOOL_RECONCILE" in line]
    assert conflicts >= 1 and len(busy) == conflicts, (conflicts, busy)
    assert not any("retry" in line and "UpdateNodePool" in line for line in lines), lines
    # one progress line per poll interval while a work request runs
    assert sum("waiting for work request" in line and "NODEPOOL_RECONCILE IN_PROGRESS" in line for line in lines) >= 3
    # the lost answer was recognised from the pool's work requests: exactly one NODEPOOL_UPDATE per update made
    assert any("answer was lost" in line and "not sending it again" in line for line in lines), lines
    updates = collections.Counter(r["identifier"] for wr in state["work_requests"].values() if wr["operationType"] == "NODEPOOL_UPDATE"
                                  for r in wr["resources"] if r["entityType"] == "nodepool")  # not the RELATED cluster
    made = sum(1 for r in results.values() for a in r["actions"] if a["action"] == "update")
    assert sum(updates.values()) == made, (updates, [r["actions"] for r in results.values()])
    # attempt outcomes and shrinks say what was kept
    assert any("kept 4 of 5 node(s)" in line for line in lines), lines
    assert_rerun_and_teardown(stage)


def test_denied_capacity_report_degrades_to_probing_and_names_the_policy(stage_for):
    stage, results, state = converged(stage_for, "report-denied")
    for result in results.values():
        assert len(result["warnings"]) == 1 and REPORT_POLICY in result["warnings"][0] and "404 NotAuthorizedOrNotFound" in result["warnings"][0]
        assert [a["outcome"] for a in result["attempts"]] == ["ok"], result["attempts"]
    # asked once per module run, not once per round
    assert state["counters"]["calls"]["compute.CreateComputeCapacityReport"] == len(ROLES)
    assert len(state["counters"]["iam_denials"]) == len(ROLES)
    assert_rerun_and_teardown(stage)


def test_null_count_is_unknown_and_an_overstated_fault_domain_is_dropped(stage_for):
    stage, results, state = converged(stage_for, "report-null")
    # FAULT-DOMAIN-2 reports AVAILABLE with a null count: not read as unlimited, so the LMS spread leaves it out
    lms = results["lms"]["attempts"]
    assert lms[0]["outcome"] == "ok" and "FD-2" not in lms[0]["placement"], lms
    # FAULT-DOMAIN-1 was reported with room it did not have: the services attempt keeps what it got, and no later
    # attempt goes back to FD-1
    services = results["services"]
    first, later = services["attempts"][0], services["attempts"][1:]
    assert first["outcome"] == "partial" and first["reason"].startswith("kept 1 of 2 node(s)"), first
    assert later and all("FD-1" not in a["placement"] for a in later), later
    assert any("overstated VM.Standard.E4.Flex in FAULT-DOMAIN-1" in line for line in services["progress"])
    names = collections.Counter(p["name"] for p in state["resources"]["node_pools"].values() if p["lifecycleState"] != "DELETED")
    assert max(names.values()) == 1, names
    assert_rerun_and_teardown(stage)


def test_a_reprovision_13_hours_after_teardown_never_rebuilds_an_old_retry_token(stage_for):
    stage = stage_for("reprovision-13h")
    stage.converge()
    first = {p["id"] for p in stage.sb.state()["resources"]["node_pools"].values()}
    stage.teardown()
    stage.sb.advance(13 * 3600)  # the deleted pools are no longer listed; their create tokens are still kept
    listed = stage.clients.ce.list_node_pools(compartment_id=COMPARTMENT, cluster_id=stage.cluster_id).data
    assert listed == []
    results = stage.converge()
    state = stage.sb.state()
    assert [results[role]["ready_nodes"] for role, *_rest in ROLES] == [count for _role, count, *_rest in ROLES], results
    live = {p["id"] for p in state["resources"]["node_pools"].values() if p["lifecycleState"] == "ACTIVE"}
    assert len(live) == len(ROLES) and not live & first
    replays = [t for t in state["retry_tokens"] if t["operation"] == "ce.CreateNodePool" and (t["replays"] or t.get("invalidated"))]
    assert replays == [], replays
    assert "409" not in state["counters"]["by_operation_status"]["ce.CreateNodePool"]  # every create carried a new token
    assert_rerun_and_teardown(stage)


def test_a_create_whose_retry_token_oci_invalidated_is_sent_again_with_a_new_token(stage_for, monkeypatch):
    """OCI answers 409 InvalidatedRetryToken to a token whose resource was deleted (API errors reference); a controller
    clock that keeps the token epoch (pinned here) rebuilds the first create's token after a teardown, so OCI's answer
    must lead to one more create under a new token, never to a replayed deleted pool or a loop."""
    monkeypatch.setattr(oke_node_pools, "token_epoch", lambda now=None: 0)
    stage = stage_for("reprovision-13h")
    stage.converge()
    first = {p["id"] for p in stage.sb.state()["resources"]["node_pools"].values()}
    stage.teardown()
    stage.sb.advance(13 * 3600)
    results = stage.converge()
    state = stage.sb.state()
    assert [results[role]["ready_nodes"] for role, *_rest in ROLES] == [count for _role, count, *_rest in ROLES], results
    live = {p["id"] for p in state["resources"]["node_pools"].values() if p["lifecycleState"] == "ACTIVE"}
    assert len(live) == len(ROLES) and not live & first
    invalidated = [t for t in state["retry_tokens"] if t["operation"] == "ce.CreateNodePool" and t.get("invalidated")]
    assert len(invalidated) == len(ROLES) and all(t["invalidated"] == 1 and not t["replays"] for t in invalidated), invalidated
    assert state["counters"]["by_operation_status"]["ce.CreateNodePool"]["409"] == len(ROLES)
    lines = [line for r in results.values() for line in r["progress"]]
    assert sum("OCI invalidated the retry token" in line for line in lines) == len(ROLES), lines
    assert_rerun_and_teardown(stage)


def test_a_persistent_validation_409_fails_at_once_with_ocis_message(stage_for):
    """OKE answers every UpdateNodePool with 409 Conflict while nothing runs on the pool (terraform-oci-oke#879): the
    pool's work requests show it is not busy, so the module stops at the first 409 with OCI's message and a fix."""
    stage = stage_for("conflict-validation")
    stage.converge()  # creates only
    role, count, shape, alt = ROLES[1]
    before = len(stage.sb.state()["request_log"])
    with pytest.raises(ApiError) as info:
        NodePoolReconciler(stage.clients, stage.policy(role), stage.params(role, count + 2, shape, alt)).ensure_present()
    log = stage.sb.state()["request_log"][before:]
    first = next(i for i, entry in enumerate(log) if entry["operation"] == "ce.UpdateNodePool")
    tail = log[first:]
    assert [e["operation"] for e in tail].count("ce.UpdateNodePool") == 1, tail
    assert len(tail) <= 5 and tail[-1]["t"] - tail[0]["t"] < 60, tail
    text = str(info.value)
    assert "409 Conflict Cannot perform nodepool cycling and nodepool Placement Configuration change simultaneously" in text, text
    assert info.value.fix and "Fix:" in text
    # nothing was changed: the pools keep their size, and the original count re-runs without a change
    assert len(healthy(stage.sb.state(), role)) == count
    assert_rerun_and_teardown(stage)


def test_failing_nodes_are_shrunk_away_and_replaced(stage_for):
    stage, results, state = converged(stage_for, "nodes-failing")
    lines = [line for r in results.values() for line in r["progress"]]
    assert any(line.startswith("shrink") or " shrink " in line for line in lines if "FAILING" in line), lines
    nodes = [n for p in state["resources"]["node_pools"].values() if p["lifecycleState"] != "DELETED" for n in p["nodes"]]
    assert not [n for n in nodes if n["lifecycleState"] != "ACTIVE"], nodes
    assert state["counters"]["by_status"].get("409", 0) == 0
    assert_rerun_and_teardown(stage)


def test_a_node_stuck_without_error_is_given_up_after_the_timeout_and_replaced(stage_for):
    stage, results, state = converged(stage_for, "nodes-stuck")
    lines = [line for r in results.values() for line in r["progress"]]
    assert any("UPDATING without progress or node_error for 900s" in line for line in lines), lines
    nodes = [n for p in state["resources"]["node_pools"].values() if p["lifecycleState"] != "DELETED" for n in p["nodes"]]
    assert not [n for n in nodes if n["lifecycleState"] != "ACTIVE"], nodes
    assert_rerun_and_teardown(stage)


def test_a_failed_node_without_fault_domain_still_teaches_the_overstated_fault_domain(stage_for):
    stage, results, _state = converged(stage_for, "failed-no-fault-domain")
    failed_seen = [n for r in results.values() for p in r["pools"] for n in p["nodes"] if n["node_error"]]
    assert all(n["fault_domain"] is None for n in failed_seen), failed_seen
    services = results["services"]
    first, later = services["attempts"][0], services["attempts"][1:]
    assert first["outcome"] == "partial" and first["reason"].startswith("kept 1 of 2 node(s)"), first
    assert later and all("FD-1" not in a["placement"] for a in later), later
    assert any("overstated VM.Standard.E4.Flex in FAULT-DOMAIN-1" in line for line in services["progress"])
    assert_rerun_and_teardown(stage)


@pytest.mark.parametrize("cluster_gone", [False, True])
def test_teardown_sweeps_orphaned_node_pool_reservations_by_ownership_tag(stage_for, cluster_gone):
    """A run interrupted between reserving and creating the pool leaves a reservation no pool refers to (OCI bills it
    while it exists); teardown releases it by its ownership tags, also when the cluster itself is already gone."""
    stage = stage_for("ample")
    role, count, shape, alt = ROLES[0]
    params = stage.params(role, count, shape, alt)
    place = Placement(stage.ad, ["FAULT-DOMAIN-1"], shape["shape"], shape["ocpus"], shape["memory_in_gbs"], reservation=True)
    orphan, reserved = reserve(stage.clients, stage.policy(role), params, place, 2, role)
    assert orphan and reserved == 2
    other = dict(params, deployment="someone-else")
    foreign, _count = reserve(stage.clients, stage.policy(role), other, place, 1, role)
    absent = stage.params(role, count, shape, alt, state="absent")
    if cluster_gone:
        absent["cluster_id"] = None
    check = NodePoolReconciler(stage.clients, stage.policy(role), absent, check_mode=True).ensure_absent()
    assert check["changed"] and {"action": "release_reservation", "id": orphan} in check["actions"]
    assert stage.sb.state()["resources"]["capacity_reservations"][orphan]["lifecycleState"] == "ACTIVE"  # check mode
    result = NodePoolReconciler(stage.clients, stage.policy(role), absent).ensure_absent()
    assert {"action": "release_reservation", "id": orphan} in result["actions"]
    reservations = stage.sb.state()["resources"]["capacity_reservations"]
    assert reservations[orphan]["lifecycleState"] in ("DELETING", "DELETED")
    assert reservations[foreign]["lifecycleState"] == "ACTIVE"  # not ours: never touched
    again = NodePoolReconciler(stage.clients, stage.policy(role), absent).ensure_absent()
    assert not again["changed"], again["actions"]


def test_iam_preflight_names_the_exact_statements(stage_for):
    stage = stage_for("iam-denied")
    policy = stage.policy("iam")
    params = stage.params(*ROLES[0])
    report = fetch_report(stage.clients, policy, stage.clients.tenancy, stage.ad, params["shapes"], params["fault_domains"])
    needs = check_policies(stage.clients, policy, COMPARTMENT, report, reservations=True)
    assert missing_statements(needs, required=True) == [
        f"Allow group <your-group> to read cluster-work-requests in compartment id {COMPARTMENT}"]
    assert missing_statements(needs, required=False) == [REPORT_POLICY]
    unprobed = [n["statement"] for n in needs if n["allowed"] is None]
    assert "Allow service oke to use compute-capacity-reservations in tenancy" in unprobed
    assert [n["allowed"] for n in needs if "compute-capacity-reservations in compartment" in n["statement"]] == [True]
    # and every statement is the one docs/provision.md lists
    doc = (REPO / "docs" / "provision.md").read_text()
    assert all(n["statement"].split(" in ")[0] in doc for n in needs), [n["statement"] for n in needs]


def test_node_pool_options_check_image_version_and_architecture_against_the_sandbox(stage_for):
    stage = stage_for("ample")
    params = stage.params(*ROLES[0])
    check_node_pool_options(stage.clients, stage.policy("options"), params)  # the inventory's image fits v1.35.4 and E4/E5
    arm = dict(params, shapes=[params["shapes"][0], {"shape": "VM.Standard.A1.Flex", "ocpus": 30.0, "memory_in_gbs": 128.0}])
    with pytest.raises(InputError) as info:
        check_node_pool_options(stage.clients, stage.policy("options"), arm)
    assert info.value.field == "alternative_shapes[0]" and "ocid1.image.oc1.me-jeddah-1.aaaaaaaasandboxokearm" in info.value.msg
    with pytest.raises(InputError) as info:
        check_cluster_options(stage.clients, stage.policy("options"), "v1.30.1")
    assert info.value.field == "kubernetes_version" and "v1.35.4" in info.value.msg


def test_a_pool_its_subnet_cannot_hold_is_refused_before_it_is_created(stage_for):
    """A /28 node subnet (13 usable) that other things already use 10 of: 5 LMS nodes are refused with the numbers,
    from GetSubnet and ListPrivateIps, and no node pool is created (the same check counts the compute limits)."""
    stage = stage_for("ample")
    stage.sb.store.sc.subnets.append(Subnet(id=SUBNET, cidr_block="10.0.20.0/28", others_in_use=10))
    role, count, shape, alt = ROLES[0]
    with pytest.raises(InputError) as err:
        NodePoolReconciler(stage.clients, stage.policy(role), stage.params(role, count, shape, alt)).ensure_present()
    assert err.value.field == "count"
    assert "5 (count) need 5 addresses in subnet" in str(err.value) and "3 free (10.0.20.0/28: 13 usable, 10 in use)" in str(err.value)
    calls = stage.calls()
    assert calls.get("network.GetSubnet") == 1 and not [op for op in calls if op.startswith("containerengine.") and "Create" in op]
    assert not [p for p in stage.sb.state()["resources"]["node_pools"].values() if p["lifecycleState"] != "DELETED"]


def test_node_pool_work_requests_look_like_the_recorded_ones(stage_for):
    """Shape of a node-pool work request as oracle/oci-cli recorded it from the real service
    (services/container_engine/tests/cassettes/test_oce_fixture_node_pool.yml): a clustersworkrequest OCID, the pool's
    resource IN_PROGRESS until SUCCEEDED then CREATED, its cluster RELATED, entityUri without the API version."""
    stage = stage_for("ample")
    role, count, shape, alt = ROLES[1]
    m = __import__("oci").container_engine.models
    params = stage.params(role, count, shape, alt)
    details = m.CreateNodePoolDetails(
        compartment_id=COMPARTMENT, cluster_id=stage.cluster_id, name="recorded", kubernetes_version="v1.35.4", node_shape=shape["shape"],
        node_shape_config=m.CreateNodeShapeConfigDetails(ocpus=shape["ocpus"], memory_in_gbs=shape["memory_in_gbs"]),
        node_source_details=m.NodeSourceViaImageDetails(source_type="IMAGE", image_id=params["image_id"]),
        node_config_details=m.CreateNodePoolNodeConfigDetails(size=1, placement_configs=[
            m.NodePoolPlacementConfigDetails(availability_domain=stage.ad, subnet_id=SUBNET)]))
    wr_id = stage.clients.ce.create_node_pool(details).headers["opc-work-request-id"]
    assert wr_id.startswith("ocid1.clustersworkrequest.")
    pending = stage.clients.ce.get_work_request(wr_id).data
    assert pending.operation_type == "NODEPOOL_CREATE" and pending.status in ("ACCEPTED", "IN_PROGRESS")
    assert [(r.entity_type, r.action_type) for r in pending.resources] == [("nodepool", "IN_PROGRESS"), ("cluster", "RELATED")]
    pool_id = pending.resources[0].identifier
    assert pending.resources[0].entity_uri == "/nodePools/" + pool_id and pending.resources[1].entity_uri == "/clusters/" + stage.cluster_id
    stage.sb.advance(3600)
    done = stage.clients.ce.get_work_request(wr_id).data
    assert done.status == "SUCCEEDED" and [(r.entity_type, r.action_type) for r in done.resources] == [("nodepool", "CREATED"), ("cluster", "RELATED")]
    listed = stage.clients.ce.list_work_requests(compartment_id=COMPARTMENT, resource_id=pool_id).data
    assert [w.id for w in listed] == [wr_id]
