"""The OCI sandbox driven by the real oci SDK: identity, compute, VNICs, paging, tokens, auth."""

from __future__ import annotations

import configparser
import json
import os
import stat
import urllib.error
import urllib.request

import oci
import pytest
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from tests.sandbox.oci.testing import launch_details, make_clients, wait_work_request

AD = "hxIl:ME-JEDDAH-1-AD-1"


def test_written_config_is_usable_as_is(oci_sandbox):
    config = oci.config.from_file(oci_sandbox.config_file)
    oci.config.validate_config(config)
    assert config["region"] == "me-jeddah-1"
    assert config["service_endpoint"] == oci_sandbox.url
    assert stat.S_IMODE(os.stat(config["key_file"]).st_mode) == 0o600
    env = oci_sandbox.env()
    assert env["OCI_SANDBOX_ENDPOINT"] == oci_sandbox.url == (oci_sandbox.state_dir / "endpoint").read_text().strip()
    assert env["OCI_CONFIG_FILE"] == oci_sandbox.config_file


@pytest.mark.oci_scenario("jeddah-tight")
def test_availability_and_fault_domains(clients):
    ads = clients.identity.list_availability_domains(clients.tenancy).data
    assert [ad.name for ad in ads] == [AD]
    fds = clients.identity.list_fault_domains(clients.tenancy, AD).data
    assert [fd.name for fd in fds] == ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"]
    assert {fd.availability_domain for fd in fds} == {AD}
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.identity.list_fault_domains(clients.tenancy, "ME-JEDDAH-1-AD-9")
    assert (err.value.status, err.value.code) == (400, "InvalidParameter")


def capacity_report(clients, shapes=("VM.Standard.E4.Flex", "VM.Standard.E5.Flex")):
    models = oci.core.models
    wanted = [
        models.CreateCapacityReportShapeAvailabilityDetails(
            instance_shape=shape, fault_domain=fd, instance_shape_config=models.CapacityReportInstanceShapeConfig(ocpus=30, memory_in_gbs=128)
        )
        for shape in shapes
        for fd in ("FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3")
    ]
    report = clients.compute.create_compute_capacity_report(
        models.CreateComputeCapacityReportDetails(compartment_id=clients.tenancy, availability_domain=AD, shape_availabilities=wanted)
    ).data
    return {(s.instance_shape, s.fault_domain): (s.available_count, s.availability_status) for s in report.shape_availabilities}


# (E4 FD1, E4 FD2, E4 FD3, E5 FD1, E5 FD2, E5 FD3) available 30-OCPU/128-GB nodes per scenario.
EXPECTED_REPORTS = {
    "ample": [33, 33, 33, 33, 33, 33],
    "jeddah-tight": [4, 0, 0, 0, 0, 6],
    "recovering": [0, 0, 1, None, 0, None],
    "exhausted": [0, 0, 0, 0, 0, 0],
}


@pytest.mark.parametrize("scenario", sorted(EXPECTED_REPORTS))
def test_capacity_report_per_scenario(oci_sandbox_factory, scenario):
    clients = make_clients(oci_sandbox_factory(scenario))
    report = capacity_report(clients)
    keys = [(shape, fd) for shape in ("VM.Standard.E4.Flex", "VM.Standard.E5.Flex") for fd in ("FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3")]
    for key, expected in zip(keys, EXPECTED_REPORTS[scenario], strict=True):
        count, status = report[key]
        if expected is None:  # the shape has no hosts in this fault domain at all
            assert status == "OUT_OF_HOST_CAPACITY" and count == 0, key
        else:
            assert count == expected, key
            assert status == ("AVAILABLE" if expected else "OUT_OF_HOST_CAPACITY"), key


def test_capacity_report_rejects_bad_shape_config(clients):
    models = oci.core.models
    details = models.CreateComputeCapacityReportDetails(
        compartment_id=clients.tenancy,
        availability_domain=AD,
        shape_availabilities=[
            models.CreateCapacityReportShapeAvailabilityDetails(
                instance_shape="VM.Standard.E4.Flex", instance_shape_config=models.CapacityReportInstanceShapeConfig(ocpus=2, memory_in_gbs=900)
            )
        ],
    )
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.create_compute_capacity_report(details)
    assert err.value.status == 400 and "memoryInGBs" in err.value.message


def test_launch_work_request_and_private_ip(oci_sandbox, clients):
    response = clients.compute.launch_instance(launch_details(AD, clients.tenancy, fault_domain="FAULT-DOMAIN-2"))
    instance = response.data
    assert instance.lifecycle_state == "PROVISIONING" and instance.fault_domain == "FAULT-DOMAIN-2"
    assert instance.freeform_tags == {"openedx-scale/owner": "test"}
    wr, seen = wait_work_request(clients.work_requests, response.headers["opc-work-request-id"])
    assert wr.status == "SUCCEEDED" and wr.operation_type == "LaunchInstance"
    assert seen[0] in ("ACCEPTED", "IN_PROGRESS") and wr.resources[0].identifier == instance.id
    assert clients.compute.get_instance(instance.id).data.lifecycle_state == "RUNNING"
    attachments = clients.compute.list_vnic_attachments(clients.tenancy, instance_id=instance.id).data
    assert [a.lifecycle_state for a in attachments] == ["ATTACHED"]
    vnic = clients.network.get_vnic(attachments[0].vnic_id).data
    assert vnic.private_ip == "10.0.10.2" and vnic.is_primary
    state = oci_sandbox.state()
    pool = next(p for p in state["capacity"] if p["fault_domain"] == "FAULT-DOMAIN-2" and p["shape"] == "VM.Standard.E4.Flex")
    assert pool["free_ocpus"] == pool["initial_ocpus"] - 2
    # Terminating gives the capacity back once the instance is TERMINATED.
    clients.compute.terminate_instance(instance.id)
    assert clients.compute.get_instance(instance.id).data.lifecycle_state == "TERMINATING"
    oci_sandbox.advance(60)
    assert clients.compute.get_instance(instance.id).data.lifecycle_state == "TERMINATED"
    state = oci_sandbox.state()
    pool = next(p for p in state["capacity"] if p["fault_domain"] == "FAULT-DOMAIN-2" and p["shape"] == "VM.Standard.E4.Flex")
    assert pool["free_ocpus"] == pool["initial_ocpus"]
    assert state["live_counts"]["instances"] == 0 and state["resources"]["vnics"][vnic.id]["lifecycleState"] == "TERMINATED"


@pytest.mark.oci_scenario("jeddah-tight")
def test_launch_out_of_host_capacity(oci_sandbox, clients):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(launch_details(AD, clients.tenancy, fault_domain="FAULT-DOMAIN-2"))
    assert (err.value.status, err.value.code, err.value.message) == (500, "InternalError", "Out of host capacity.")
    assert err.value.request_id
    # Without a fault domain OCI picks one with room (FAULT-DOMAIN-1 here).
    placed = clients.compute.launch_instance(launch_details(AD, clients.tenancy)).data
    assert placed.fault_domain == "FAULT-DOMAIN-1"
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.launch_instance(launch_details(AD, clients.tenancy, shape="VM.Standard.A1.Flex"))
    assert err.value.status == 404
    counters = oci_sandbox.state()["counters"]["by_operation_status"]["compute.LaunchInstance"]
    assert counters == {"500": 1, "200": 1, "404": 1}


def test_retry_token_replays_instead_of_creating(oci_sandbox, clients):
    details = launch_details(AD, clients.tenancy)
    first = clients.compute.launch_instance(details, opc_retry_token="launch-loadgen-1")
    again = clients.compute.launch_instance(details, opc_retry_token="launch-loadgen-1")
    other = clients.compute.launch_instance(details, opc_retry_token="launch-loadgen-2")
    assert first.data.id == again.data.id != other.data.id
    assert first.headers["opc-work-request-id"] == again.headers["opc-work-request-id"]
    state = oci_sandbox.state()
    assert len(state["resources"]["instances"]) == 2
    token = next(t for t in state["retry_tokens"] if t["token"] == "launch-loadgen-1")
    assert token["resource_id"] == first.data.id and token["replays"] == 1


def test_a_retry_token_whose_resource_was_deleted_is_invalidated(oci_sandbox, clients):
    """OCI's API errors reference: 409 InvalidatedRetryToken when "an entity created with the same token has since
    been deleted" (https://docs.oracle.com/iaas/Content/API/References/apierrors.htm) -- never the old 2xx again."""
    details = launch_details(AD, clients.tenancy)
    first = clients.compute.launch_instance(details, opc_retry_token="launch-loadgen-gone")
    clients.compute.terminate_instance(first.data.id)
    with pytest.raises(oci.exceptions.ServiceError) as info:
        clients.compute.launch_instance(details, opc_retry_token="launch-loadgen-gone")
    assert (info.value.status, info.value.code) == (409, "InvalidatedRetryToken")
    token = next(t for t in oci_sandbox.state()["retry_tokens"] if t["token"] == "launch-loadgen-gone")
    assert token["replays"] == 0 and token["invalidated"] == 1
    assert len([i for i in oci_sandbox.state()["resources"]["instances"].values() if i["lifecycleState"] not in ("TERMINATING", "TERMINATED")]) == 0


def test_pagination_follows_next_page(oci_sandbox, clients):
    for index in range(5):
        clients.compute.launch_instance(launch_details(AD, clients.tenancy, display_name=f"lg-{index}"))
    page = clients.compute.list_instances(clients.tenancy, limit=2)
    assert len(page.data) == 2 and page.has_next_page
    before = oci_sandbox.state()["counters"]["calls"]["compute.ListInstances"]
    every = oci.pagination.list_call_get_all_results(clients.compute.list_instances, clients.tenancy, limit=2).data
    assert sorted(i.display_name for i in every) == [f"lg-{i}" for i in range(5)]
    assert oci_sandbox.state()["counters"]["calls"]["compute.ListInstances"] - before == 3
    named = clients.compute.list_instances(clients.tenancy, display_name="lg-3").data
    assert [i.display_name for i in named] == ["lg-3"]
    assert clients.compute.list_instances(clients.tenancy, lifecycle_state="TERMINATED").data == []
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.compute.list_instances(clients.tenancy, page="not-a-token")
    assert (err.value.status, err.value.code) == (400, "InvalidParameter")


def test_wrong_key_is_rejected(oci_sandbox, tmp_path):
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    key_file = tmp_path / "other.pem"
    key_file.write_bytes(other.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    config = dict(oci.config.from_file(oci_sandbox.config_file), key_file=str(key_file))
    identity = oci.identity.IdentityClient(config, service_endpoint=oci_sandbox.url, retry_strategy=oci.retry.NoneRetryStrategy())
    with pytest.raises(oci.exceptions.ServiceError) as err:
        identity.list_availability_domains(config["tenancy"])
    assert (err.value.status, err.value.code) == (401, "NotAuthenticated")
    # Unsigned requests too, including for routes that do not exist.
    with pytest.raises(urllib.error.HTTPError) as unsigned:
        urllib.request.urlopen(f"{oci_sandbox.url}/20180222/nodePools?compartmentId={config['tenancy']}")
    assert unsigned.value.code == 401 and json.load(unsigned.value)["code"] == "NotAuthenticated"
    failures = oci_sandbox.state()["counters"]["auth_failures"]
    assert [f["reason"] for f in failures] == ["signature does not verify with the configured public key", "no authorization header"]


def test_tampered_body_is_rejected(oci_sandbox):
    config = oci.config.from_file(oci_sandbox.config_file)
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    request = requests.Request("POST", f"{oci_sandbox.url}/20160918/instances", data=b'{"a": 1}', headers={"content-type": "application/json"}, auth=signer)
    prepared = request.prepare()
    prepared.body = b'{"a": 2}'  # same length, different content: x-content-sha256 no longer matches
    response = requests.Session().send(prepared, timeout=10)
    assert response.status_code == 401 and response.json()["code"] == "NotAuthenticated"


def test_unknown_route_is_404_with_request_id(oci_sandbox):
    config = oci.config.from_file(oci_sandbox.config_file)
    signer = oci.signer.Signer(config["tenancy"], config["user"], config["fingerprint"], config["key_file"])
    response = requests.get(f"{oci_sandbox.url}/20160918/bogusThings?x=1", auth=signer, headers={"opc-request-id": "CLIENT1"}, timeout=10)
    assert response.status_code == 404
    assert response.json() == {"code": "NotAuthorizedOrNotFound", "message": "Authorization failed or requested resource not found."}
    assert response.headers["opc-request-id"].startswith("CLIENT1/")
    missing = requests.get(f"{oci_sandbox.url}/20160918/instances/ocid1.instance.oc1.me-jeddah-1.nope", auth=signer, timeout=10)
    assert missing.status_code == 404 and missing.json()["code"] == "NotAuthorizedOrNotFound"


def test_state_dump_endpoint_and_file(oci_sandbox, clients):
    clients.compute.launch_instance(launch_details(AD, clients.tenancy))
    with urllib.request.urlopen(f"{oci_sandbox.url}/_sandbox/state") as response:
        state = json.load(response)
    assert state["scenario"] == "ample" and state["clock"]["mode"] == "fast"
    assert state["live_counts"]["instances"] == 1
    (instance,) = state["resources"]["instances"].values()
    assert instance["freeformTags"] == {"openedx-scale/owner": "test"}
    assert state["counters"]["calls"]["compute.LaunchInstance"] == 1 and state["counters"]["by_status"]["200"] >= 1
    assert json.loads((oci_sandbox.state_dir / "state.json").read_text())["live_counts"]["instances"] == 1


def test_config_file_profile_keys(oci_sandbox):
    parser = configparser.ConfigParser()
    parser.read(oci_sandbox.config_file)
    assert set(parser["DEFAULT"]) == {"user", "fingerprint", "tenancy", "region", "key_file", "service_endpoint"}


def _control(sandbox, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else (b"" if method != "GET" else None)
    request = urllib.request.Request(f"{sandbox.url}/_sandbox/{path}", data=data, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


@pytest.mark.oci_scenario("exhausted")
def test_control_endpoints(oci_sandbox, clients):
    assert _control(oci_sandbox, "GET", "health") == (200, {"status": "ok", "scenario": "exhausted"})
    status, pool = _control(oci_sandbox, "PUT", "capacity", {"fault_domain": "FAULT-DOMAIN-2", "shape": "VM.Standard.E4.Flex", "ocpus": 4, "memory_gbs": 32})
    assert status == 200 and pool["free_ocpus"] == 4
    assert clients.compute.launch_instance(launch_details(AD, clients.tenancy)).data.fault_domain == "FAULT-DOMAIN-2"
    status, error = _control(oci_sandbox, "PUT", "settings", {"kube_api_urll": "x"})
    assert status == 400 and "kube_api_urll" in error["message"]
    assert _control(oci_sandbox, "PUT", "settings", {"kube_api_url": "https://10.1.1.1:6443"})[1]["kube_api_url"] == "https://10.1.1.1:6443"
    assert _control(oci_sandbox, "POST", "clock/advance?seconds=-5")[0] == 400
    before = _control(oci_sandbox, "GET", "clock")[1]["elapsed_seconds"]
    assert _control(oci_sandbox, "POST", "clock/advance?seconds=90")[1]["elapsed_seconds"] == pytest.approx(before + 90)
    assert _control(oci_sandbox, "GET", "nothing-here")[0] == 404
    # Control calls are not API calls: they are neither counted nor signed.
    assert not any(op.startswith("_sandbox") for op in oci_sandbox.state()["counters"]["calls"])
