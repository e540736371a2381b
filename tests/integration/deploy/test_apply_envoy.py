"""The envoy-gateway edge applied on the Kubernetes test bed (real kube-apiserver, kwok nodes).

The role installs Envoy Gateway's gateway-helm chart from the source tree of v1.9.1 (tests.helpers.helm) with a
helm built from its Go module, and applies the chart's Gateway API and Envoy Gateway CRDs; the apiserver then
checks every Gateway API object against the CRD schemas and their CEL rules (the implementation's own
validation). A re-run changes nothing. Own module: the LMS pods of test_apply's deployment must be gone before
this one schedules its own.
"""

from __future__ import annotations

import subprocess
import uuid

import pytest
import yaml

from tests.helpers import helm
from tests.helpers.ansible import assert_ok, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.kube.fixtures import wait_for

from .test_render import PLAYBOOK, VENV_BIN

GROUP, EG_GROUP = "gateway.networking.k8s.io", "gateway.envoyproxy.io"


@pytest.fixture(scope="module")
def envoy_deployment(kube_testbed):
    from kubernetes import client

    api = kube_testbed.client()
    name = f"eg-{uuid.uuid4().hex[:6]}"
    gateway_ns = f"{name}-gw"
    variables = {
        "openedx_scale_kubeconfig": str(kube_testbed.kubeconfig),
        "openedx_scale_edge": "envoy-gateway",
        "tutor_executable": str(VENV_BIN / "tutor"),
        "tutor_kubectl": str(VENV_BIN / "kubectl"),
        "openedx_scale_namespace": name,
        # A TLS listener, so the HTTPS listener, the redirect route and the ReferenceGrant are applied too.
        "openedx_scale_tls_secret": f"{name}-tls",
        "openedx_scale_edge_namespace": gateway_ns,
        "envoy_gateway_class": name,
        # The release names the chart's cluster-scoped RBAC: one per test.
        "envoy_gateway_release_name": name,
        "tutor_apply_timeout": 600,
        "envoy_gateway_wait_timeout": 600,
    }
    yield {"api": api, "ns": name, "gateway_ns": gateway_ns, "vars": variables, "kubeconfig": str(kube_testbed.kubeconfig)}
    core, custom = client.CoreV1Api(api), client.CustomObjectsApi(api)
    custom.delete_cluster_custom_object(GROUP, "v1", "gatewayclasses", name)
    helm.uninstall(name, gateway_ns, str(kube_testbed.kubeconfig))
    for ns in (name, gateway_ns):
        core.delete_namespace(ns)
    wait_for(lambda: not {n.metadata.name for n in core.list_namespace().items} & {name, gateway_ns}, 300, f"namespaces {name}* deleted")


def deploy(deployment):
    return run_playbook(PLAYBOOK, inventory_path("sandbox"), extravars=deployment["vars"])


def test_envoy_gateway_edge_applies_and_reapplies_unchanged(envoy_deployment):
    from kubernetes import client

    api, ns, gateway_ns = envoy_deployment["api"], envoy_deployment["ns"], envoy_deployment["gateway_ns"]
    apps, custom = client.AppsV1Api(api), client.CustomObjectsApi(api)

    first = deploy(envoy_deployment)
    assert_ok(first)
    assert apps.read_namespaced_deployment("envoy-gateway", gateway_ns).status.available_replicas == 1
    assert apps.read_namespaced_deployment("lms", ns).status.ready_replicas == 2

    # What the apiserver stored (after schema, defaulting and CEL): the tuning and the routes.
    ctp = custom.get_namespaced_custom_object(EG_GROUP, "v1alpha1", gateway_ns, "clienttrafficpolicies", "openedx")["spec"]
    btp = custom.get_namespaced_custom_object(EG_GROUP, "v1alpha1", gateway_ns, "backendtrafficpolicies", "openedx")["spec"]
    assert ctp["connection"]["connectionLimit"]["maxRequestsPerConnection"] == 5000
    assert ctp["timeout"]["http"]["requestReceivedTimeout"] == "120s"
    assert btp["timeout"]["http"]["requestTimeout"] == "3600s" and btp["timeout"]["tcp"]["connectTimeout"] == "75s"
    assert "requestBuffer" not in btp
    eep = custom.get_namespaced_custom_object(EG_GROUP, "v1alpha1", gateway_ns, "envoyextensionpolicies", "openedx")["spec"]
    assert "local limit = 524288000\n" in eep["lua"][0]["inline"]
    # The chart's release, with the role's values.
    values = yaml.safe_load(subprocess.run([helm.binary(), "get", "values", ns, "-n", gateway_ns, "--kubeconfig", envoy_deployment["kubeconfig"],
                                            "-o", "yaml"], capture_output=True, text=True, check=True).stdout)
    assert values["crds"] == {"enabled": False} and values["deployment"]["pod"]["nodeSelector"] == {"openedx-scale/pool": "services"}
    gateway = custom.get_namespaced_custom_object(GROUP, "v1", gateway_ns, "gateways", "openedx")["spec"]
    assert [listener["name"] for listener in gateway["listeners"]] == ["http", "https"]
    routes = {r["metadata"]["name"]: r["spec"] for r in custom.list_namespaced_custom_object(GROUP, "v1", ns, "httproutes")["items"]}
    assert set(routes) == {"openedx", "openedx-https-redirect"}
    assert routes["openedx"]["parentRefs"][0]["namespace"] == gateway_ns
    grant = custom.get_namespaced_custom_object(GROUP, "v1", ns, "referencegrants", "openedx-tls-from-gateway")["spec"]
    assert grant["to"] == [{"group": "", "kind": "Secret", "name": f"{ns}-tls"}]

    # The apiserver enforces the CRDs' CEL rules: a policy aimed at an HTTPRoute is refused for the client side.
    from kubernetes.client.exceptions import ApiException

    bad = {"apiVersion": f"{EG_GROUP}/v1alpha1", "kind": "ClientTrafficPolicy", "metadata": {"name": "bad"},
           "spec": {"targetRefs": [{"group": GROUP, "kind": "HTTPRoute", "name": "openedx"}]}}
    with pytest.raises(ApiException) as refused:
        custom.create_namespaced_custom_object(EG_GROUP, "v1alpha1", gateway_ns, "clienttrafficpolicies", bad)
    assert refused.value.status == 422 and "Gateway or ListenerSet" in refused.value.body

    second = deploy(envoy_deployment)
    assert_ok(second)
    assert second.changed == 0, [e["event_data"]["task"] for e in second.events if e.get("event") == "runner_on_ok" and e["event_data"]["res"].get("changed")]
