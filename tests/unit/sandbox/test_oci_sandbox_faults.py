"""Fault injection, throttling, the sandbox clock and capacity reservations, seen through the SDK."""

from __future__ import annotations

import json
import time
import urllib.request

import oci
import pytest
import requests

from tests.sandbox.oci import SLEPT_HEADER
from tests.sandbox.oci.pytest_plugin import oci_test_client_kwargs
from tests.sandbox.oci.testing import VCN, create_cluster, launch_details, make_clients, node_pool_details, sdk_on_sandbox_clock, wait_work_request

AD = "hxIl:ME-JEDDAH-1-AD-1"
E4_FD1 = {"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 100, "memory_gbs": 800}


def fast_retry():
    return oci_test_client_kwargs()["retry_strategy"]


def test_throttling_429_and_sdk_retry(oci_sandbox_factory):
    sandbox = oci_sandbox_factory({"name": "throttled", "capacity": [E4_FD1], "throttle": {"per_minute": 30, "burst": 2}})
    plain = make_clients(sandbox)
    # Burst of 2, then 30/min = one call per 2 sandbox-seconds; a fast-clock call costs 0.5 s.
    outcomes = []
    for _attempt in range(6):
        try:
            plain.identity.list_availability_domains(plain.tenancy)
            outcomes.append(200)
        except oci.exceptions.ServiceError as err:
            assert (err.code, err.message) == ("TooManyRequests", "Too many requests for the user")
            outcomes.append(err.status)
    assert outcomes == [200, 200, 429, 429, 200, 429]
    # The SDK's retry (429 is retryable) gets through; each retry is a counted call.
    retrying = make_clients(sandbox, retry=fast_retry())
    assert retrying.identity.list_availability_domains(retrying.tenancy).data
    statuses = sandbox.state()["counters"]["by_operation_status"]["identity.ListAvailabilityDomains"]
    assert statuses["429"] >= 3 and statuses["200"] == 4


def test_throttle_window_and_client_reported_sleep(oci_sandbox_factory):
    sandbox = oci_sandbox_factory({"name": "burst", "capacity": [E4_FD1], "throttle": {"windows": [{"start_seconds": 100, "duration_seconds": 50}]}})
    clients = make_clients(sandbox)
    clients.identity.list_availability_domains(clients.tenancy)
    sandbox.advance(100)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.identity.list_availability_domains(clients.tenancy)
    assert err.value.status == 429
    # A client that slept 60 s says so in a header; the clock moves before the request is judged.
    config = clients.config
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    response = requests.get(
        f"{sandbox.url}/20160918/availabilityDomains?compartmentId={config['tenancy']}", auth=signer, headers={SLEPT_HEADER: "60"}, timeout=10
    )
    assert response.status_code == 200
    clock = sandbox.state()["clock"]
    assert clock["advanced_by_clients_seconds"] == 160 and clock["elapsed_seconds"] >= 160


def test_transient_500_retried_by_the_sdk(oci_sandbox_factory):
    scenario = {"name": "five-hundreds", "capacity": [E4_FD1], "faults": [{"operations": ["ce.ListClusters"], "first": 2}]}
    sandbox = oci_sandbox_factory(scenario)
    plain = make_clients(sandbox)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        plain.ce.list_clusters(plain.tenancy)
    assert (err.value.status, err.value.code) == (500, "InternalError")
    retrying = make_clients(sandbox, retry=fast_retry())
    assert retrying.ce.list_clusters(retrying.tenancy).data == []
    state = sandbox.state()
    assert state["counters"]["by_operation_status"]["ce.ListClusters"] == {"500": 2, "200": 1}
    assert [(f["operation"], f["call"]) for f in state["counters"]["faults_fired"]] == [("ce.ListClusters", 1), ("ce.ListClusters", 2)]


@pytest.mark.oci_scenario("jeddah-tight")
def test_false_limit_exceeded_after_the_instance_was_created(oci_sandbox, clients):
    # jeddah-tight: the 3rd LaunchInstance answers LimitExceeded although the instance exists.
    clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name="lg-1"))
    clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name="lg-2"))
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name="lg-3"), opc_retry_token="lg-3")
    assert (err.value.status, err.value.code) == (400, "LimitExceeded")
    listed = clients.compute.list_instances(clients.tenancy, display_name="lg-3").data
    assert len(listed) == 1
    # Retrying with the same token returns that instance instead of creating another.
    again = clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name="lg-3"), opc_retry_token="lg-3").data
    assert again.id == listed[0].id and oci_sandbox.state()["live_counts"]["instances"] == 3


def test_false_limit_exceeded_with_room_left(oci_sandbox_factory):
    scenario = {
        "name": "false-limit",
        "capacity": [E4_FD1],
        "faults": [{"operations": ["LaunchInstance"], "calls": [1], "status": 400, "code": "LimitExceeded", "message": "standard-e4-core-count"}],
    }
    sandbox = oci_sandbox_factory(scenario)
    clients = make_clients(sandbox)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(launch_details(AD, clients.tenancy))
    assert err.value.code == "LimitExceeded"
    assert clients.compute.list_instances(clients.tenancy).data == []
    assert clients.compute.launch_instance(launch_details(AD, clients.tenancy)).data.lifecycle_state == "PROVISIONING"


def test_stall_past_the_client_read_timeout(oci_sandbox_factory):
    scenario = {
        "name": "stall",
        "capacity": [E4_FD1],
        "faults": [{"operations": ["LaunchInstance"], "calls": [1], "status": 504, "code": "GatewayTimeout", "applied": True, "stall_seconds": 3.0}],
    }
    sandbox = oci_sandbox_factory(scenario)
    config = oci.config.from_file(sandbox.config_file)
    compute = oci.core.ComputeClient(config, service_endpoint=sandbox.url, timeout=(5, 0.3), retry_strategy=oci.retry.NoneRetryStrategy())
    started = time.monotonic()
    with pytest.raises(oci.exceptions.RequestException):
        compute.launch_instance(launch_details(AD, config["tenancy"]), opc_retry_token="stalled-1")
    assert time.monotonic() - started < 2.5  # the client gave up; the sandbox was still stalling
    # The launch happened although the client never heard back; the same token finds it.
    compute = oci.core.ComputeClient(config, service_endpoint=sandbox.url, retry_strategy=oci.retry.NoneRetryStrategy())
    replay = compute.launch_instance(launch_details(AD, config["tenancy"]), opc_retry_token="stalled-1").data
    state = sandbox.state()
    assert list(state["resources"]["instances"]) == [replay.id]
    assert state["counters"]["faults_fired"][0]["code"] == "GatewayTimeout"


def _e4_available(clients, fd):
    models = oci.core.models
    wanted = [
        models.CreateCapacityReportShapeAvailabilityDetails(
            instance_shape="VM.Standard.E4.Flex",
            fault_domain=fd,
            instance_shape_config=models.CapacityReportInstanceShapeConfig(ocpus=30, memory_in_gbs=128),
        )
    ]
    details = models.CreateComputeCapacityReportDetails(compartment_id=clients.tenancy, availability_domain=AD, shape_availabilities=wanted)
    return clients.compute.create_compute_capacity_report(details).data.shape_availabilities[0].available_count


def _advance(sandbox, seconds):
    """POST /_sandbox/clock/advance, as a sleeping client would."""
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/clock/advance?seconds={seconds}", data=b"", method="POST")
    with urllib.request.urlopen(request) as response:
        return json.load(response)["elapsed_seconds"]


def test_recovering_capacity_follows_the_clock_only(oci_sandbox_factory):
    sandbox = oci_sandbox_factory("recovering")
    clients = make_clients(sandbox)
    e4 = [lambda fd=fd: _e4_available(clients, fd) for fd in ("FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3")]
    assert [f() for f in e4] == [0, 0, 1]
    # Failed placements change nothing: capacity comes back with time, not because a client hammered.
    shape_config = oci.core.models.LaunchInstanceShapeConfigDetails(ocpus=30, memory_in_gbs=128)
    for _attempt in range(6):
        with pytest.raises(oci.exceptions.ServiceError):
            clients.compute.launch_instance(launch_details(AD, clients.tenancy, fault_domain="FAULT-DOMAIN-1", shape_config=shape_config))
    assert [f() for f in e4] == [0, 0, 1]
    assert _advance(sandbox, 7200) >= 7200
    assert [f() for f in e4] == [1, 0, 1]  # one host's worth in FD-1 after 2 sandbox-hours
    _advance(sandbox, 7200)
    assert [f() for f in e4] == [10, 0, 1]
    _advance(sandbox, 7200)
    assert [f() for f in e4] == [10, 10, 1]
    applied = {(p["fault_domain"], p["shape"]): p["applied_changes"] for p in sandbox.state()["capacity"]}
    assert applied[("FAULT-DOMAIN-1", "VM.Standard.E4.Flex")] == [0, 1] and applied[("FAULT-DOMAIN-2", "VM.Standard.E5.Flex")] == [0]


def test_capacity_change_after_failed_placements(oci_sandbox_factory):
    scenario = {
        "name": "after-failures",
        "capacity": [
            {
                "fault_domain": "FAULT-DOMAIN-1",
                "shape": "VM.Standard.E4.Flex",
                "ocpus": 0,
                "memory_gbs": 0,
                "changes": [{"after_failures": 3, "ocpus": 300, "memory_gbs": 1400}],
            },
        ],
    }
    sandbox = oci_sandbox_factory(scenario)
    clients = make_clients(sandbox)
    shape_config = oci.core.models.LaunchInstanceShapeConfigDetails(ocpus=30, memory_in_gbs=128)
    for _attempt in range(3):
        assert _e4_available(clients, "FAULT-DOMAIN-1") == 0
        with pytest.raises(oci.exceptions.ServiceError) as info:
            clients.compute.launch_instance(launch_details(AD, clients.tenancy, fault_domain="FAULT-DOMAIN-1", shape_config=shape_config))
        assert info.value.status == 500 and "Out of host capacity" in info.value.message
    assert _e4_available(clients, "FAULT-DOMAIN-1") == 10


def test_node_pool_read_while_its_work_request_runs(oci_sandbox_factory):
    """With jump_on_poll off, a poll sees the pool mid-creation (nodes CREATING, failed ones FAILING) and is served."""
    scenario = {
        "name": "no-jump",
        "clock": {"mode": "fast", "jump_on_poll": False},
        "capacity": [{"fault_domain": "FAULT-DOMAIN-1", "shape": "VM.Standard.E4.Flex", "ocpus": 30, "memory_gbs": 128}],
    }
    sandbox = oci_sandbox_factory(scenario)
    clients = make_clients(sandbox)

    def finish(wr_id):  # a client that sleeps between polls: the clock only moves when it says so
        for _poll in range(30):
            wr = clients.ce.get_work_request(wr_id).data
            if wr.status in ("SUCCEEDED", "FAILED"):
                return wr
            _advance(sandbox, 30)
        raise AssertionError(f"work request {wr_id} never finished")

    models = oci.container_engine.models
    created = clients.ce.create_cluster(models.CreateClusterDetails(name="openedx", compartment_id=clients.tenancy, vcn_id=VCN, kubernetes_version="v1.35.4"))
    cluster_id = finish(created.headers["opc-work-request-id"]).resources[0].identifier
    before = sandbox.state()["clock"]["elapsed_seconds"]
    response = clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=2, fault_domains=["FAULT-DOMAIN-1"]))
    wr_id = response.headers["opc-work-request-id"]
    assert clients.ce.get_work_request(wr_id).data.status in ("ACCEPTED", "IN_PROGRESS")
    _advance(sandbox, 5)  # past "accepted": the nodes are being placed
    wr = clients.ce.get_work_request(wr_id).data
    assert wr.status == "IN_PROGRESS" and sandbox.state()["clock"]["elapsed_seconds"] - before < 60  # no jump to the end
    pool_id = next(r.identifier for r in wr.resources if r.entity_type.lower() == "nodepool")
    nodes = clients.ce.get_node_pool(pool_id).data.nodes
    assert sorted(n.lifecycle_state for n in nodes) == ["CREATING", "FAILING"]  # one fits in FD-1, one does not
    assert finish(wr_id).status == "FAILED"
    assert sorted(n.lifecycle_state for n in clients.ce.get_node_pool(pool_id).data.nodes) == ["ACTIVE", "FAILING"]


@pytest.mark.oci_scenario("jeddah-tight")
def test_capacity_reservation_partial_and_used(oci_sandbox, clients):
    models = oci.core.models
    config = models.InstanceReservationConfigDetails(
        instance_shape="VM.Standard.E4.Flex",
        fault_domain="FAULT-DOMAIN-1",
        instance_shape_config=models.InstanceReservationShapeConfigDetails(ocpus=30, memory_in_gbs=128),
        reserved_count=10,
    )
    details = models.CreateComputeCapacityReservationDetails(
        compartment_id=clients.tenancy, availability_domain=AD, display_name="lms", instance_reservation_configs=[config], freeform_tags={"owner": "t"}
    )
    response = clients.compute.create_compute_capacity_reservation(details)
    reservation = response.data
    assert reservation.lifecycle_state == "CREATING" and reservation.reserved_instance_count == 4  # only 4 fit in FD-1
    wait_work_request(clients.work_requests, response.headers["opc-work-request-id"])
    assert clients.compute.get_compute_capacity_reservation(reservation.id).data.lifecycle_state == "ACTIVE"
    # The reserved capacity is gone from the on-demand pool...
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(
            launch_details(AD, clients.tenancy, fault_domain="FAULT-DOMAIN-1", shape_config=models.LaunchInstanceShapeConfigDetails(ocpus=2, memory_in_gbs=16))
        )
    assert err.value.message == "Out of host capacity."
    # ...but launching into the reservation works.
    launch = launch_details(
        AD, clients.tenancy, capacity_reservation_id=reservation.id, shape_config=models.LaunchInstanceShapeConfigDetails(ocpus=30, memory_in_gbs=128)
    )
    instance = clients.compute.launch_instance(launch).data
    listed = clients.compute.list_compute_capacity_reservations(clients.tenancy, display_name="lms").data
    assert [(r.reserved_instance_count, r.used_instance_count) for r in listed] == [(4, 1)]
    assert instance.capacity_reservation_id == reservation.id
    # Shrinking keeps what is used; deleting returns the unused slots to the pool.
    config.reserved_count = 1
    update = clients.compute.update_compute_capacity_reservation(
        reservation.id, models.UpdateComputeCapacityReservationDetails(instance_reservation_configs=[config])
    )
    wait_work_request(clients.work_requests, update.headers["opc-work-request-id"])
    assert clients.compute.get_compute_capacity_reservation(reservation.id).data.reserved_instance_count == 1
    wait_work_request(clients.work_requests, clients.compute.delete_compute_capacity_reservation(reservation.id).headers["opc-work-request-id"])
    fd1 = next(p for p in oci_sandbox.state()["capacity"] if p["fault_domain"] == "FAULT-DOMAIN-1" and p["shape"] == "VM.Standard.E4.Flex")
    assert fd1["free_ocpus"] == 120 - 30


@pytest.mark.oci_scenario("exhausted")
def test_exhausted_node_pool_fails_every_node(oci_sandbox, clients):
    cluster_id = create_cluster(clients)
    response = clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=2))
    wr, _seen = wait_work_request(clients.ce, response.headers["opc-work-request-id"])
    errors = clients.ce.list_work_request_errors(clients.tenancy, wr.id).data
    assert wr.status == "FAILED" and errors[0].message.startswith("2 node(s) launch failure.")
    state = oci_sandbox.state()
    (pool,) = state["resources"]["node_pools"].values()
    assert [n["nodeError"]["message"] for n in pool["nodes"]] == ["Out of host capacity."] * 2
    assert state["live_counts"]["instances"] == 0


def test_sdk_default_retry_sleeps_on_the_sandbox_clock(oci_sandbox_factory):
    sandbox = oci_sandbox_factory({"name": "sdk-retry", "capacity": [E4_FD1], "faults": [{"operations": ["ce.ListClusters"], "first": 3}]})
    config = oci.config.from_file(sandbox.config_file)
    # The CE client's defaults: DEFAULT_RETRY_STRATEGY (exponential back-off, seconds apart).
    ce = oci.container_engine.ContainerEngineClient(
        config, service_endpoint=sandbox.url, circuit_breaker_strategy=oci.circuit_breaker.NoCircuitBreakerStrategy()
    )
    started = time.monotonic()
    with sdk_on_sandbox_clock(sandbox) as shim:
        assert ce.list_clusters(config["tenancy"]).data == []
    assert time.monotonic() - started < 2 and shim.slept > 0
    clock = sandbox.state()["clock"]
    assert clock["advanced_by_clients_seconds"] == pytest.approx(shim.slept)
    assert sandbox.state()["counters"]["by_operation_status"]["ce.ListClusters"] == {"500": 3, "200": 1}


def test_service_limit_is_a_real_limit_exceeded(oci_sandbox_factory):
    sandbox = oci_sandbox_factory({"name": "limited", "capacity": [E4_FD1], "limits": {"VM.Standard.E4.Flex": 40}})
    clients = make_clients(sandbox)
    shape = oci.core.models.LaunchInstanceShapeConfigDetails(ocpus=30, memory_in_gbs=128)
    clients.compute.launch_instance(launch_details(AD, clients.tenancy, shape_config=shape))
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(launch_details(AD, clients.tenancy, shape_config=shape))
    assert (err.value.status, err.value.code) == (400, "LimitExceeded") and "standard-e4-core-count" in err.value.message
    # Node pools meet the same limit per node: the node carries the LimitExceeded error.
    cluster_id = create_cluster(clients)
    wr, _seen = wait_work_request(clients.ce, clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=1)).headers["opc-work-request-id"])
    errors = clients.ce.list_work_request_errors(clients.tenancy, wr.id).data
    assert wr.status == "FAILED" and "(400, LimitExceeded, false)" in errors[0].message
    node = clients.ce.get_node_pool(wr.resources[0].identifier).data.nodes[0]
    assert node.node_error.code == "LimitExceeded"
    log = sandbox.state()["request_log"]
    assert [e["status"] for e in log if e["operation"] == "compute.LaunchInstance"] == [200, 400]


def test_stale_capacity_report(oci_sandbox_factory):
    stale = dict(E4_FD1, ocpus=0, memory_gbs=0, reported=3)
    sandbox = oci_sandbox_factory({"name": "stale", "capacity": [stale]})
    clients = make_clients(sandbox)
    models = oci.core.models
    wanted = [
        models.CreateCapacityReportShapeAvailabilityDetails(
            instance_shape="VM.Standard.E4.Flex",
            fault_domain="FAULT-DOMAIN-1",
            instance_shape_config=models.CapacityReportInstanceShapeConfig(ocpus=2, memory_in_gbs=16),
        )
    ]
    details = models.CreateComputeCapacityReportDetails(compartment_id=clients.tenancy, availability_domain=AD, shape_availabilities=wanted)
    (entry,) = clients.compute.create_compute_capacity_report(details).data.shape_availabilities
    assert (entry.available_count, entry.availability_status) == (3, "AVAILABLE")
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(launch_details(AD, clients.tenancy, fault_domain="FAULT-DOMAIN-1"))
    assert err.value.message == "Out of host capacity."


def test_real_clock_progresses_with_wall_time(oci_sandbox_factory):
    timings = {"accept": 0.05, "instance_launch": 0.3}
    sandbox = oci_sandbox_factory({"name": "real", "capacity": [E4_FD1], "timings": timings}, clock="real")
    clients = make_clients(sandbox)
    response = clients.compute.launch_instance(launch_details(AD, clients.tenancy))
    wr_id = response.headers["opc-work-request-id"]
    # No jump on poll in real mode: the work request finishes only once the time has really passed.
    assert clients.work_requests.get_work_request(wr_id).data.status in ("ACCEPTED", "IN_PROGRESS")
    deadline = time.monotonic() + 5
    while clients.work_requests.get_work_request(wr_id).data.status != "SUCCEEDED":
        assert time.monotonic() < deadline, "work request did not finish on the real clock"
        time.sleep(0.05)
    assert sandbox.state()["clock"]["mode"] == "real" and clients.compute.get_instance(response.data.id).data.lifecycle_state == "RUNNING"


def test_fragmented_capacity_fits_small_nodes_only(oci_sandbox_factory):
    fragmented = dict(E4_FD1, max_instance_ocpus=16)
    sandbox = oci_sandbox_factory({"name": "fragmented", "capacity": [fragmented]})
    clients = make_clients(sandbox)
    big = oci.core.models.LaunchInstanceShapeConfigDetails(ocpus=30, memory_in_gbs=128)
    small = oci.core.models.LaunchInstanceShapeConfigDetails(ocpus=15, memory_in_gbs=64)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(launch_details(AD, clients.tenancy, shape_config=big))
    assert err.value.message == "Out of host capacity."
    assert clients.compute.launch_instance(launch_details(AD, clients.tenancy, shape_config=small)).data.shape_config.ocpus == 15
