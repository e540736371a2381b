"""OKE in the sandbox through the real SDK: clusters, kubeconfig, node pools and their failures."""

from __future__ import annotations

import re

import oci
import pytest
import yaml

from tests.sandbox.oci.testing import SUBNET, create_cluster, launch_details, make_clients, node_pool_details, wait_work_request

AD = "hxIl:ME-JEDDAH-1-AD-1"
OOHC_WR_ERROR = re.compile(
    r"^2 node\(s\) launch failure\. Reason for failure on one of the nodes : .*\(500, InternalError, false\) Out of host capacity\. \(opc-request-id: \w+\)$"
)


def test_cluster_lifecycle_and_kubeconfig(oci_sandbox, clients):
    oci_sandbox.settings(kube_api_url="https://127.0.0.1:16443")
    cluster_id = create_cluster(clients)
    cluster = clients.ce.get_cluster(cluster_id).data
    assert cluster.lifecycle_state == "ACTIVE" and cluster.endpoints.kubernetes == "127.0.0.1:16443"
    details = oci.container_engine.models.CreateClusterKubeconfigContentDetails(token_version="2.0.0", endpoint="PUBLIC_ENDPOINT")
    content = clients.ce.create_kubeconfig(cluster_id, create_cluster_kubeconfig_content_details=details).data.text
    config = yaml.safe_load(content)
    assert config["clusters"][0]["cluster"]["server"] == "https://127.0.0.1:16443"
    assert config["users"][0]["user"]["exec"]["args"][:3] == ["ce", "cluster", "generate-token"]
    assert [c.id for c in clients.ce.list_clusters(clients.tenancy, name="openedx").data] == [cluster_id]
    wr_id = clients.ce.delete_cluster(cluster_id).headers["opc-work-request-id"]
    assert wait_work_request(clients.ce, wr_id)[0].operation_type == "CLUSTER_DELETE"
    assert clients.ce.get_cluster(cluster_id).data.lifecycle_state == "DELETED"


def test_kubeconfig_file_from_state_dir_settings(oci_sandbox, clients, tmp_path):
    testbed = tmp_path / "admin.conf"
    testbed.write_text(
        yaml.safe_dump(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "clusters": [{"name": "kwok", "cluster": {"server": "https://old:1"}}],
                "users": [{"name": "admin", "user": {"token": "t0k"}}],
                "contexts": [{"name": "kwok", "context": {"cluster": "kwok", "user": "admin"}}],
                "current-context": "kwok",
            }
        )
    )
    (oci_sandbox.state_dir / "settings.yaml").write_text(yaml.safe_dump({"kube_api_url": "https://10.9.0.1:6443", "kubeconfig_file": str(testbed)}))
    cluster_id = create_cluster(clients)
    config = yaml.safe_load(clients.ce.create_kubeconfig(cluster_id).data.text)
    assert config["clusters"][0]["cluster"]["server"] == "https://10.9.0.1:6443"
    assert config["users"][0]["user"]["token"] == "t0k"


@pytest.mark.oci_scenario("jeddah-tight")
def test_node_pool_out_of_host_capacity(oci_sandbox, clients):
    cluster_id = create_cluster(clients)
    # FD-2 and FD-3 have no E4.Flex: 4 nodes spread over FD-1, FD-2, FD-3, FD-1 -> 2 fail.
    response = clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=4))
    assert response.status == 202 and response.data is None
    wr, seen = wait_work_request(clients.ce, response.headers["opc-work-request-id"])
    assert seen[0] in ("ACCEPTED", "IN_PROGRESS") and wr.status == "FAILED" and wr.operation_type == "NODEPOOL_CREATE"
    errors = clients.ce.list_work_request_errors(clients.tenancy, wr.id).data
    assert [e.code for e in errors] == ["GetWorkRequestGeneric"]
    assert OOHC_WR_ERROR.match(errors[0].message), errors[0].message
    pool = clients.ce.get_node_pool(wr.resources[0].identifier).data
    assert pool.lifecycle_state == "NEEDS_ATTENTION"
    assert [(n.fault_domain, n.lifecycle_state) for n in pool.nodes] == [
        ("FAULT-DOMAIN-1", "ACTIVE"),
        ("FAULT-DOMAIN-2", "FAILING"),
        ("FAULT-DOMAIN-3", "FAILING"),
        ("FAULT-DOMAIN-1", "ACTIVE"),
    ]
    failed = [n for n in pool.nodes if n.node_error]
    assert all(n.id is None and n.node_error.code == "InternalError" and n.node_error.message == "Out of host capacity." for n in failed)
    healthy = [n for n in pool.nodes if not n.node_error]
    assert all(n.private_ip and n.id.startswith("ocid1.instance.") for n in healthy)
    # The healthy nodes are compute instances carrying the pool's node tags.
    instances = {i.id: i for i in clients.compute.list_instances(clients.tenancy, lifecycle_state="RUNNING").data}
    assert set(instances) == {n.id for n in healthy}
    assert all(i.freeform_tags == {} for i in instances.values())
    state = oci_sandbox.state()
    fd1 = next(p for p in state["capacity"] if p["fault_domain"] == "FAULT-DOMAIN-1" and p["shape"] == "VM.Standard.E4.Flex")
    assert fd1["free_ocpus"] == 120 - 60
    # Shrinking to the healthy nodes drops the failed ones; the pool becomes ACTIVE.
    models = oci.container_engine.models
    update = clients.ce.update_node_pool(pool.id, models.UpdateNodePoolDetails(node_config_details=models.UpdateNodePoolNodeConfigDetails(size=2)))
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.ce.update_node_pool(pool.id, models.UpdateNodePoolDetails(node_config_details=models.UpdateNodePoolNodeConfigDetails(size=3)))
    assert err.value.status == 409
    wr, _seen = wait_work_request(clients.ce, update.headers["opc-work-request-id"])
    assert wr.status == "SUCCEEDED"
    pool = clients.ce.get_node_pool(pool.id).data
    assert pool.lifecycle_state == "ACTIVE" and [n.id for n in pool.nodes] == [n.id for n in healthy]


@pytest.mark.oci_scenario("jeddah-tight")
def test_placement_change_replaces_nodes_and_delete_frees_capacity(oci_sandbox, clients):
    models = oci.container_engine.models
    cluster_id = create_cluster(clients)
    response = clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=2, fault_domains=["FAULT-DOMAIN-1"], name="services"))
    wr, _seen = wait_work_request(clients.ce, response.headers["opc-work-request-id"])
    pool_id = wr.resources[0].identifier
    before = [n.id for n in clients.ce.get_node_pool(pool_id).data.nodes]
    assert wr.status == "SUCCEEDED" and len(before) == 2
    # Moving the pool to FD-3 with E5.Flex: every node is replaced (OKE terminates the old ones).
    placement = models.NodePoolPlacementConfigDetails(availability_domain=AD, subnet_id=SUBNET, fault_domains=["FAULT-DOMAIN-3"])
    details = models.UpdateNodePoolDetails(
        node_shape="VM.Standard.E5.Flex", node_config_details=models.UpdateNodePoolNodeConfigDetails(size=2, placement_configs=[placement])
    )
    wr, _seen = wait_work_request(clients.ce, clients.ce.update_node_pool(pool_id, details).headers["opc-work-request-id"])
    assert wr.status == "SUCCEEDED" and wr.operation_type == "NODEPOOL_UPDATE"
    nodes = clients.ce.get_node_pool(pool_id).data.nodes
    assert {n.fault_domain for n in nodes} == {"FAULT-DOMAIN-3"} and not {n.id for n in nodes} & set(before)
    oci_sandbox.advance(60)
    assert {clients.compute.get_instance(i).data.lifecycle_state for i in before} == {"TERMINATED"}
    # Deleting the pool terminates its nodes and returns every OCPU.
    wr, _seen = wait_work_request(clients.ce, clients.ce.delete_node_pool(pool_id).headers["opc-work-request-id"])
    assert wr.status == "SUCCEEDED" and clients.ce.get_node_pool(pool_id).data.lifecycle_state == "DELETED"
    state = oci_sandbox.state()
    assert all(p["free_ocpus"] == p["initial_ocpus"] for p in state["capacity"])
    assert state["live_counts"]["instances"] == 0 and state["live_counts"]["node_pools"] == 0
    assert [p.lifecycle_state for p in clients.ce.list_node_pools(clients.tenancy, cluster_id=cluster_id).data] == ["DELETED"]


def test_node_pool_retry_token_and_listing(oci_sandbox, clients):
    cluster_id = create_cluster(clients)
    details = node_pool_details(clients, cluster_id, AD, size=1)
    first = clients.ce.create_node_pool(details, opc_retry_token="pool-lms-1")
    again = clients.ce.create_node_pool(details, opc_retry_token="pool-lms-1")
    assert first.headers["opc-work-request-id"] == again.headers["opc-work-request-id"]
    pools = clients.ce.list_node_pools(clients.tenancy, cluster_id=cluster_id, name="lms").data
    assert len(pools) == 1 and pools[0].freeform_tags == {"openedx-scale/owner": "test"}
    assert pools[0].initial_node_labels[0].key == "openedx-scale/pool"
    listed = clients.ce.list_work_requests(clients.tenancy, resource_id=pools[0].id).data
    assert [w.operation_type for w in listed] == ["NODEPOOL_CREATE"]


def test_node_pool_bad_input_is_named(oci_sandbox, clients):
    cluster_id = create_cluster(clients)
    details = node_pool_details(clients, cluster_id, AD, size=1, fault_domains=["FAULT-DOMAIN-7"])
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.ce.create_node_pool(details)
    assert err.value.status == 400 and "placementConfigs[0].faultDomains" in err.value.message
    details = node_pool_details(clients, cluster_id, AD, size=1, shape="VM.Standard.E9.Flex")
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.ce.create_node_pool(details)
    assert err.value.status == 404 and "VM.Standard.E9.Flex" in err.value.message
    assert oci_sandbox.state()["live_counts"]["node_pools"] == 0
    # A bad update is refused before anything changes.
    wr, _seen = wait_work_request(clients.ce, clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=1)).headers["opc-work-request-id"])
    models = oci.container_engine.models
    bad = models.UpdateNodePoolDetails(name="renamed", node_shape_config=models.UpdateNodeShapeConfigDetails(ocpus=30, memory_in_gbs=4000))
    with pytest.raises(oci.exceptions.ServiceError) as err:
        clients.ce.update_node_pool(wr.resources[0].identifier, bad)
    assert err.value.status == 400 and "nodeShapeConfig.memoryInGBs" in err.value.message
    pool = clients.ce.get_node_pool(wr.resources[0].identifier).data
    assert pool.name == "lms" and pool.node_shape_config.memory_in_gbs == 128 and pool.lifecycle_state == "ACTIVE"


def test_reconcile_retries_failed_nodes_when_capacity_returns(oci_sandbox_factory):
    scenario = {
        "name": "reconciling",
        "capacity": [
            {
                "fault_domain": "FAULT-DOMAIN-1",
                "shape": "VM.Standard.E4.Flex",
                "ocpus": 30,
                "memory_gbs": 128,
                "changes": [{"after_seconds": 600, "ocpus": 300, "memory_gbs": 2000}],
            }
        ],
        "node_pools": {"reconcile_after_seconds": 300},
    }
    sandbox = oci_sandbox_factory(scenario)
    clients = make_clients(sandbox)
    cluster_id = create_cluster(clients)
    response = clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=3, fault_domains=["FAULT-DOMAIN-1"]))
    wr, _seen = wait_work_request(clients.ce, response.headers["opc-work-request-id"])
    assert wr.status == "FAILED"
    sandbox.advance(1200)  # capacity is back at 600 s; OKE's reconcile retries the failed nodes
    reconciles = [
        w for w in clients.ce.list_work_requests(clients.tenancy, resource_id=wr.resources[0].identifier).data if w.operation_type == "NODEPOOL_RECONCILE"
    ]
    assert reconciles and reconciles[-1].status in ("SUCCEEDED", "IN_PROGRESS", "ACCEPTED")
    wait_work_request(clients.ce, reconciles[-1].id)
    pool = clients.ce.get_node_pool(wr.resources[0].identifier).data
    assert pool.lifecycle_state == "ACTIVE" and [n.lifecycle_state for n in pool.nodes] == ["ACTIVE"] * 3


def test_deleting_the_cluster_mid_creation_leaks_nothing(oci_sandbox, clients):
    cluster_id = create_cluster(clients)
    response = clients.ce.create_node_pool(node_pool_details(clients, cluster_id, AD, size=2))
    wr_id = response.headers["opc-work-request-id"]
    oci_sandbox.advance(10)  # the node pool work request has started: its nodes are being created
    assert oci_sandbox.state()["work_requests"][wr_id]["status"] == "IN_PROGRESS"  # (polling would wait for it)
    wait_work_request(clients.ce, clients.ce.delete_cluster(cluster_id).headers["opc-work-request-id"])
    wr, _seen = wait_work_request(clients.ce, wr_id)
    assert wr.status == "FAILED"
    oci_sandbox.advance(60)
    state = oci_sandbox.state()
    assert set(state["live_counts"].values()) == {0}, state["live_counts"]
    assert all(i["lifecycleState"] == "TERMINATED" for i in state["resources"]["instances"].values())
    assert all(p["free_ocpus"] == p["initial_ocpus"] for p in state["capacity"])


def test_terminating_a_provisioning_instance(oci_sandbox, clients):
    response = clients.compute.launch_instance(launch_details(AD, clients.tenancy))
    clients.compute.terminate_instance(response.data.id)
    wait_work_request(clients.work_requests, response.headers["opc-work-request-id"])
    oci_sandbox.advance(60)
    assert clients.compute.get_instance(response.data.id).data.lifecycle_state == "TERMINATED"
    state = oci_sandbox.state()
    assert state["live_counts"]["instances"] == 0 and all(p["free_ocpus"] == p["initial_ocpus"] for p in state["capacity"])
