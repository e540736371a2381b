"""The test bed is a real control plane: nodes as OKE registers them, and the controllers our deploy relies on.

Every assertion reads the API server's state (objects, conditions, events), never what a helper returned.
"""

from __future__ import annotations

import json
import ssl
import urllib.request
from collections import Counter

import pytest
from kubernetes import client
from kubernetes.client.rest import ApiException

from tests.sandbox.kube.fixtures import wait_for
from tests.sandbox.kube.testbed import K8S_VERSION, load_nodeset


@pytest.fixture(scope="module")
def core(api):
    return client.CoreV1Api(api)


@pytest.fixture(scope="module")
def apps(api):
    return client.AppsV1Api(api)


@pytest.fixture(scope="module")
def batch(api):
    return client.BatchV1Api(api)


def _nodes(core, pool: str | None = None):
    sel = f"openedx-scale/pool={pool}" if pool else "openedx-scale/pool"
    return core.list_node(label_selector=sel).items


def test_api_server_is_the_pinned_release_over_tls_with_client_certs(kube_testbed):
    pki = kube_testbed.pki
    ctx = ssl.create_default_context(cafile=str(pki.ca))
    ctx.load_cert_chain(str(pki.crt("admin")), str(pki.key("admin")))
    with urllib.request.urlopen(f"{kube_testbed.state()['server']}/version", context=ctx, timeout=10) as r:
        version = json.load(r)
    assert version["gitVersion"] == K8S_VERSION
    # Without a client certificate the API server treats us as anonymous, which RBAC does not allow to list nodes.
    anon = ssl.create_default_context(cafile=str(pki.ca))
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(f"{kube_testbed.state()['server']}/api/v1/nodes", context=anon, timeout=10)
    assert err.value.code in (401, 403)


def test_nodes_ready_with_oke_labels_and_capacity(kube_testbed, core):
    ns = load_nodeset(kube_testbed.state()["nodeset"])
    nodes = _nodes(core)
    expected = {p.name: p.count for p in ns.pools}
    assert Counter(n.metadata.labels["openedx-scale/pool"] for n in nodes) == expected
    for n in nodes:
        labels = n.metadata.labels
        pool = next(p for p in ns.pools if p.name == labels["openedx-scale/pool"])
        assert labels["node.kubernetes.io/instance-type"] == "VM.Standard.E4.Flex"
        assert labels["topology.kubernetes.io/zone"] == ns.zone
        assert labels["oci.oraclecloud.com/fault-domain"] in ns.fault_domains
        assert labels["topology.kubernetes.io/region"] == ns.region
        # x86 flex shapes: 1 OCPU = 2 vCPUs; the LMS shape is the case study's 30 OCPU / 128 GB.
        assert n.status.capacity["cpu"] == str(pool.ocpus * 2)
        assert n.status.capacity["memory"] == f"{pool.memory_gbs}Gi" == "128Gi"
        assert n.status.capacity["pods"] == "110"
        assert n.status.allocatable == n.status.capacity
        if pool.name == "lms":
            assert n.status.capacity["cpu"] == "60"
        ready = [c for c in n.status.conditions if c.type == "Ready"]
        assert ready and ready[0].status == "True", f"{n.metadata.name} not Ready: {n.status.conditions}"
        assert not n.spec.unschedulable
    for pool in ns.pools:
        fds = [n.metadata.labels["oci.oraclecloud.com/fault-domain"] for n in _nodes(core, pool.name)]
        assert len(set(fds)) == min(3, pool.count), f"{pool.name} nodes not spread over fault domains: {fds}"
    # kwok renews each node's lease, so the node-lifecycle controller keeps them Ready (and untainted).
    leases = client.CoordinationV1Api(kube_testbed.client()).list_namespaced_lease("kube-node-lease").items
    assert {lease.metadata.name for lease in leases} >= {n.metadata.name for n in nodes}
    assert all(not (n.spec.taints or []) for n in nodes)


def test_deployment_with_anti_affinity_puts_one_pod_per_lms_node(core, apps, namespace):
    lms_nodes = {n.metadata.name for n in _nodes(core, "lms")}
    labels = {"app": "lms"}
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "lms"},
            "spec": {
                "replicas": len(lms_nodes),
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "nodeSelector": {"openedx-scale/pool": "lms"},
                        "affinity": {
                            "podAntiAffinity": {
                                "requiredDuringSchedulingIgnoredDuringExecution": [
                                    {"labelSelector": {"matchLabels": labels}, "topologyKey": "kubernetes.io/hostname"}
                                ]
                            }
                        },
                        "containers": [{"name": "lms", "image": "openedx:test", "resources": {"requests": {"cpu": "20", "memory": "32Gi"}}}],
                    },
                },
            },
        },
    )
    dep = wait_for(
        lambda: (d := apps.read_namespaced_deployment("lms", namespace)).status.available_replicas == len(lms_nodes) and d,
        90,
        "Deployment lms available",
    )
    assert dep.status.ready_replicas == len(lms_nodes)
    pods = core.list_namespaced_pod(namespace, label_selector="app=lms").items
    assert sorted(p.spec.node_name for p in pods) == sorted(lms_nodes)
    for p in pods:
        assert p.status.phase == "Running"
        assert p.status.pod_ip and p.status.pod_ip.startswith("10.244.")
        assert p.metadata.owner_references[0].kind == "ReplicaSet"

    # Garbage collector: deleting the Deployment (background propagation) removes its ReplicaSet and pods.
    apps.delete_namespaced_deployment("lms", namespace, propagation_policy="Background")
    wait_for(
        lambda: not apps.list_namespaced_replica_set(namespace).items and not core.list_namespaced_pod(namespace).items,
        90,
        "ReplicaSet and pods garbage-collected",
    )


def test_job_completes(core, batch, namespace):
    batch.create_namespaced_job(
        namespace,
        {
            "metadata": {"name": "init"},
            "spec": {
                "backoffLimit": 0,
                "template": {
                    "spec": {
                        "restartPolicy": "Never",
                        "containers": [{"name": "init", "image": "openedx:test", "command": ["./manage.py", "migrate"]}],
                    }
                },
            },
        },
    )
    job = wait_for(
        lambda: (j := batch.read_namespaced_job("init", namespace)).status.succeeded == 1 and j,
        90,
        "Job init to succeed",
    )
    assert any(c.type == "Complete" and c.status == "True" for c in job.status.conditions)
    pod = core.list_namespaced_pod(namespace, label_selector="job-name=init").items[0]
    assert pod.status.phase == "Succeeded"
    assert pod.status.container_statuses[0].state.terminated.exit_code == 0


def test_statefulset_with_oci_bv_claims_becomes_ready(core, apps, namespace):
    apps.create_namespaced_stateful_set(
        namespace,
        {
            "metadata": {"name": "mongodb"},
            "spec": {
                "replicas": 3,
                "serviceName": "mongodb",
                "selector": {"matchLabels": {"app": "mongodb"}},
                "template": {
                    "metadata": {"labels": {"app": "mongodb"}},
                    "spec": {
                        "nodeSelector": {"openedx-scale/pool": "services"},
                        "containers": [{"name": "mongodb", "image": "mongo:test", "volumeMounts": [{"name": "data", "mountPath": "/data/db"}]}],
                    },
                },
                "volumeClaimTemplates": [
                    {
                        "metadata": {"name": "data"},
                        "spec": {"accessModes": ["ReadWriteOnce"], "storageClassName": "oci-bv", "resources": {"requests": {"storage": "20Gi"}}},
                    }
                ],
            },
        },
    )
    sts = wait_for(
        lambda: (s := apps.read_namespaced_stateful_set("mongodb", namespace)).status.ready_replicas == 3 and s,
        120,
        "StatefulSet mongodb with 3 ready replicas",
    )
    assert sts.status.current_replicas == 3
    claims = core.list_namespaced_persistent_volume_claim(namespace).items
    assert sorted(c.metadata.name for c in claims) == [f"data-mongodb-{i}" for i in range(3)]
    for claim in claims:
        assert claim.status.phase == "Bound"
        pv = core.read_persistent_volume(claim.spec.volume_name)
        # The OCI stand-in provisions like the block-volume CSI driver: 50 GB minimum, zone-pinned.
        assert pv.spec.capacity["storage"] == "50Gi"
        assert pv.spec.csi.driver == "blockvolume.csi.oraclecloud.com"
        assert pv.spec.claim_ref.uid == claim.metadata.uid
        term = pv.spec.node_affinity.required.node_selector_terms[0].match_expressions[0]
        assert (term.key, term.values) == ("topology.kubernetes.io/zone", ["ME-JEDDAH-1-AD-1"])
    pods = core.list_namespaced_pod(namespace, label_selector="app=mongodb").items
    assert {p.spec.node_name for p in pods} <= {n.metadata.name for n in _nodes(core, "services")}


def test_service_account_tokens_and_namespace_deletion(core, api):
    name = "t-ns-lifecycle"
    core.create_namespace({"metadata": {"name": name}})
    wait_for(lambda: core.list_namespaced_service_account(name).items, 30, "default ServiceAccount")
    # The service-account token controller fills in a legacy token Secret that names an account.
    core.create_namespaced_secret(
        name,
        {"metadata": {"name": "sa-token", "annotations": {"kubernetes.io/service-account.name": "default"}}, "type": "kubernetes.io/service-account-token"},
    )
    secret = wait_for(lambda: (s := core.read_namespaced_secret("sa-token", name)).data and "token" in s.data and s, 30, "token in the Secret")
    assert {"token", "ca.crt", "namespace"} <= set(secret.data)
    # The TokenRequest API signs with the test bed's service-account key.
    tr = core.create_namespaced_service_account_token("default", name, {"spec": {"audiences": ["https://kubernetes.default.svc.cluster.local"]}})
    assert tr.status.token.count(".") == 2
    core.create_namespaced_config_map(name, {"metadata": {"name": "leftover"}})
    core.delete_namespace(name)

    def gone():
        try:
            core.read_namespace(name)
        except ApiException as exc:
            return exc.status == 404
        return False

    wait_for(gone, 90, f"namespace {name} deleted by the namespace controller")


def test_load_balancer_service_gets_an_address(core, namespace):
    core.create_namespaced_service(
        namespace,
        {"metadata": {"name": "ingress"}, "spec": {"type": "LoadBalancer", "selector": {"app": "ingress"}, "ports": [{"port": 443, "targetPort": 443}]}},
    )
    svc = wait_for(
        lambda: (s := core.read_namespaced_service("ingress", namespace)).status.load_balancer.ingress and s,
        30,
        "a load-balancer address",
    )
    assert svc.status.load_balancer.ingress[0].ip.startswith("192.0.2.")
    assert svc.spec.ports[0].node_port  # allocated by the API server itself
