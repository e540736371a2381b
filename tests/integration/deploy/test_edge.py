"""Both edges for both inventories: the seed tuning of each inventory in each edge's rendered objects.

ingress-nginx reads it from Ingress annotations and its ConfigMap; Envoy Gateway from the ClientTrafficPolicy
and BackendTrafficPolicy on its Gateway, with HTTPRoutes (and the HTTPS redirect) from the Tutor plugin.
Every object is checked against Kubernetes' schema or its CRD's (strict); the CEL rules of the CRDs are
enforced by the real kube-apiserver in test_apply.
"""

from __future__ import annotations

import json

import pytest
import yaml

from tests.helpers.case_study import NO_OP_ANNOTATIONS, TRANSLATED_ANNOTATIONS
from tests.rehearsal import inventory_path

from .test_render import EDGE_KINDS, EXPECT, hosts_of, one, validate

COMBOS = [(inventory, edge) for inventory in sorted(EXPECT) for edge in ("ingress-nginx", "envoy-gateway")]
NA_ANNOTATION = "openedx-scale/edge-tuning-not-applicable"


def seed(inventory):
    """The inventory's own edge tuning (group_vars), which both edges must carry."""
    return yaml.safe_load((inventory_path(inventory) / "group_vars" / "all" / "edge.yml").read_text())["openedx_scale_edge_tuning"]


def dig(obj, path):
    for key in path.split("."):
        obj = obj[int(key)] if isinstance(obj, list) else obj[key]
    return obj


# nginx: proxy_connect_timeout "cannot usually exceed 75 seconds" (nginx.org/en/docs/http/ngx_http_proxy_module.html).
CONNECT_MAX = 75
SIZES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def body_bytes(size):
    size = str(size)
    unit = size[-1].lower() if size[-1].isalpha() else ""
    return int(size[:len(size) - len(unit)]) * SIZES[unit]


def body_limit_lua(size):
    """The Lua body check for `size`, as the seed means it: the limit in bytes, compared with the declared length."""
    return Contains(f"local limit = {body_bytes(size)}\n", 'headers():get("content-length")', '[":status"] = "413"')


class Contains:
    """Equal to a string holding every one of `parts`."""

    def __init__(self, *parts):
        self.parts = parts

    def __eq__(self, other):
        return isinstance(other, str) and all(part in other for part in self.parts)

    __hash__ = None

    def __repr__(self):
        return f"a string with {self.parts}"


# Where each seed key lands: (kind, name, path, expected value from the seed value).
def nginx_places(value_of):
    def ann(key):
        return ("Ingress", "openedx", "metadata.annotations", key)

    def cm(key):
        return ("ConfigMap", "ingress-nginx-controller", "data", key)

    return {
        "keepalive_requests": [cm("keep-alive-requests")],
        "max_connections_per_client": [ann("nginx.ingress.kubernetes.io/limit-connections")],
        "max_body_size": [ann("nginx.ingress.kubernetes.io/proxy-body-size"), cm("proxy-body-size")],
        "connect_timeout_seconds": [ann("nginx.ingress.kubernetes.io/proxy-connect-timeout"), cm("proxy-connect-timeout")],
        "read_timeout_seconds": [ann("nginx.ingress.kubernetes.io/proxy-read-timeout"), cm("proxy-read-timeout")],
        "send_timeout_seconds": [ann("nginx.ingress.kubernetes.io/proxy-send-timeout"), cm("proxy-send-timeout")],
        "socket_timeout_seconds": [cm("client-header-timeout"), cm("client-body-timeout")],
    }, {key: str(min(int(value), CONNECT_MAX) if key == "connect_timeout_seconds" else value) for key, value in value_of.items()}


def envoy_places(value_of):
    ctp, btp = ("ClientTrafficPolicy", "openedx"), ("BackendTrafficPolicy", "openedx")
    places = {
        "keepalive_requests": [(*ctp, "spec.connection.connectionLimit", "maxRequestsPerConnection")],
        "max_body_size": [("EnvoyExtensionPolicy", "openedx", "spec.lua.0", "inline")],
        "connect_timeout_seconds": [(*btp, "spec.timeout.tcp", "connectTimeout")],
        "read_timeout_seconds": [(*btp, "spec.timeout.http", "requestTimeout")],
        "send_timeout_seconds": [(*btp, "spec.timeout.http", "streamIdleTimeout")],
        "socket_timeout_seconds": [(*ctp, "spec.timeout.http", "requestReceivedTimeout")],
    }
    expected = {
        "keepalive_requests": int(value_of["keepalive_requests"]),
        "max_body_size": body_limit_lua(value_of["max_body_size"]),
        # What nginx does with the seed's connect timeout: at most 75 s.
        "connect_timeout_seconds": f"{min(int(value_of['connect_timeout_seconds']), CONNECT_MAX)}s",
        "read_timeout_seconds": f"{value_of['read_timeout_seconds']}s",
        # The stream idle timeout is the larger of nginx's read and send timeouts.
        "send_timeout_seconds": f"{max(int(value_of['read_timeout_seconds']), int(value_of['send_timeout_seconds']))}s",
        "socket_timeout_seconds": f"{value_of['socket_timeout_seconds']}s",
    }
    return places, expected


@pytest.fixture(scope="module", params=COMBOS, ids=[f"{i}-{e}" for i, e in COMBOS])
def edge(request, edge_render):
    inventory, name = request.param
    return {"inventory": inventory, "edge": name, "expect": EXPECT[inventory], **edge_render(inventory, name)}


def test_edge_objects_are_schema_valid(edge):
    kinds = validate(edge["objects"])
    assert EDGE_KINDS[edge["edge"]] <= kinds
    other = EDGE_KINDS["envoy-gateway" if edge["edge"] == "ingress-nginx" else "ingress-nginx"]
    assert not kinds & other, f"{edge['edge']} renders {kinds & other}"


def test_each_seed_setting_is_in_the_edge_objects(edge):
    tuning = seed(edge["inventory"])
    assert tuning, "the inventory seeds the edge tuning"
    objects = edge["objects"]
    places, expected = (nginx_places if edge["edge"] == "ingress-nginx" else envoy_places)(tuning)
    not_applicable = {}
    if edge["edge"] == "envoy-gateway":
        not_applicable = json.loads(one(objects, "ClientTrafficPolicy", "openedx")["metadata"]["annotations"][NA_ANNOTATION])
    for key in tuning:
        if key in not_applicable:
            # Named with the reason on the policy itself, and mapped nowhere.
            assert len(not_applicable[key]) > 20 and key not in places, key
            continue
        assert key in places, f"seed setting {key} has no place in the {edge['edge']} objects"
        for kind, name, path, field in places[key]:
            assert dig(one(objects, kind, name), path)[field] == expected[key], f"{key} -> {kind} {name} {path}.{field}"


def test_ingress_nginx_edge(edge):
    if edge["edge"] != "ingress-nginx":
        assert not [o for o in edge["objects"] if o["kind"] == "Ingress"], "the Ingress belongs to the ingress-nginx edge only"
        return
    objects, expect = edge["objects"], edge["expect"]
    ingress = one(objects, "Ingress", "openedx")
    annotations = ingress["metadata"]["annotations"]
    for key, value in TRANSLATED_ANNOTATIONS.items():
        assert annotations.get(key) == value, key
    assert not set(NO_OP_ANNOTATIONS) & set(annotations), "ingress-nginx has no parser for these: ConfigMap only"
    rules = {r["host"]: r["http"]["paths"][0]["backend"]["service"] for r in ingress["spec"]["rules"]}
    assert set(rules) == hosts_of(expect)
    assert all(backend == {"name": "caddy", "port": {"number": 80}} for backend in rules.values())
    assert ingress["spec"]["ingressClassName"] == "nginx"
    if expect["tls"]:
        assert ingress["spec"]["tls"][0]["secretName"] == expect["tls"]
    assert one(objects, "Service", "caddy")["spec"].get("type", "ClusterIP") == "ClusterIP"

    service = one(objects, "Service", "ingress-nginx-controller")
    assert service["spec"]["type"] == "LoadBalancer"
    lb = service["metadata"]["annotations"]
    assert lb["service.beta.kubernetes.io/oci-load-balancer-shape"] == "flexible"
    assert int(lb["service.beta.kubernetes.io/oci-load-balancer-shape-flex-min"]) > 0
    assert int(lb["service.beta.kubernetes.io/oci-load-balancer-shape-flex-max"]) >= 1000
    config = one(objects, "ConfigMap", "ingress-nginx-controller")["data"]
    assert int(config["upstream-keepalive-connections"]) > 0
    assert config["large-client-header-buffers"] == "8 16k" and config["client-header-buffer-size"] == "16k"
    assert int(config["max-worker-connections"]) >= 16384
    # limit-connections counts per client IP: the LB must hand the client IP over.
    assert config["use-proxy-protocol"] == "true"
    assert lb["service.beta.kubernetes.io/oci-load-balancer-connection-proxy-protocol-version"] == "2"
    assert one(objects, "IngressClass", "nginx")["spec"]["controller"] == "k8s.io/ingress-nginx"
    # The chart with the role's values: placement, replicas, requests, no second hop, no admission webhook.
    assert service["spec"]["externalTrafficPolicy"] == "Local"
    deployment = one(objects, "Deployment", "ingress-nginx-controller")["spec"]
    pod = deployment["template"]["spec"]
    assert deployment["replicas"] == 2 and pod["nodeSelector"]["openedx-scale/pool"] == "services"
    assert pod["containers"][0]["resources"]["requests"] == {"cpu": "2", "memory": "2Gi"}
    assert "--ingress-class=nginx" in pod["containers"][0]["args"]
    assert not [o for o in objects if o["kind"] == "ValidatingWebhookConfiguration" or o["metadata"]["name"].startswith("ingress-nginx-admission")]


def test_envoy_gateway_edge(edge):
    if edge["edge"] != "envoy-gateway":
        assert not [o for o in edge["objects"] if o["kind"] in ("HTTPRoute", "Gateway")], "HTTPRoutes belong to the envoy-gateway edge only"
        return
    objects, expect = edge["objects"], edge["expect"]
    tls = expect["tls"]
    gateway = one(objects, "Gateway", "openedx")
    ns = gateway["metadata"]["namespace"]
    assert gateway["spec"]["gatewayClassName"] == "envoy-gateway"
    listeners = {listener["name"]: listener for listener in gateway["spec"]["listeners"]}
    assert listeners["http"]["port"] == 80
    selector = {"kubernetes.io/metadata.name": "openedx"}
    assert all(listener["allowedRoutes"]["namespaces"]["selector"]["matchLabels"] == selector for listener in listeners.values())
    # The controller, pinned by digest, and its GatewayClass pointing at the EnvoyProxy with the OCI load balancer.
    # The controller from the chart (its own image pin), on the services pool.
    controller = one(objects, "Deployment", "envoy-gateway")["spec"]["template"]["spec"]
    assert controller["containers"][0]["image"] == "docker.io/envoyproxy/gateway:v1.9.1"
    assert controller["nodeSelector"] == {"openedx-scale/pool": "services"}
    gateway_class = one(objects, "GatewayClass", "envoy-gateway")["spec"]
    assert gateway_class["controllerName"] == "gateway.envoyproxy.io/gatewayclass-controller"
    proxy = one(objects, "EnvoyProxy", gateway_class["parametersRef"]["name"])["spec"]["provider"]["kubernetes"]
    lb = proxy["envoyService"]["annotations"]
    assert proxy["envoyService"]["type"] == "LoadBalancer"
    assert lb["service.beta.kubernetes.io/oci-load-balancer-shape"] == "flexible"
    assert int(lb["service.beta.kubernetes.io/oci-load-balancer-shape-flex-max"]) >= 1000
    assert lb["service.beta.kubernetes.io/oci-load-balancer-connection-proxy-protocol-version"] == "2"
    # The chart with the role's values: the role applies the CRDs (none rendered), no topology injector webhook,
    # certgen on the services pool.
    assert not [o for o in objects if o["kind"] in ("CustomResourceDefinition", "MutatingWebhookConfiguration")]
    certgen = one(objects, "Job", prefix="envoy-gateway")["spec"]["template"]["spec"]
    assert certgen["nodeSelector"] == {"openedx-scale/pool": "services"} and certgen["containers"][0]["resources"]["requests"]["memory"] == "64Mi"
    # No image: the proxy image compiled into the controller release follows the chart version.
    assert "image" not in proxy["envoyDeployment"]["container"]
    assert proxy["envoyDeployment"]["pod"]["nodeSelector"] == {"openedx-scale/pool": "services"}
    # Both policies on the Gateway; client IPs by proxy protocol, upstream through the Service VIP.
    ctp, btp = one(objects, "ClientTrafficPolicy", "openedx")["spec"], one(objects, "BackendTrafficPolicy", "openedx")["spec"]
    eep = one(objects, "EnvoyExtensionPolicy", "openedx")["spec"]
    ref = [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "name": "openedx"}]
    assert ctp["targetRefs"] == ref and btp["targetRefs"] == ref and eep["targetRefs"] == ref
    assert ctp["proxyProtocol"] == {"optional": False} and btp["routingType"] == "Service"
    # Every host to Caddy; with TLS on the HTTPS listener, plain HTTP redirected.
    routes = {r["metadata"]["name"]: r["spec"] for r in objects if r["kind"] == "HTTPRoute"}
    site = routes["openedx"]
    assert set(site["hostnames"]) == hosts_of(expect)
    assert site["rules"][0]["backendRefs"] == [{"group": "", "kind": "Service", "name": "caddy", "port": 80}]
    assert {p["namespace"] for p in site["parentRefs"]} == {ns}
    if tls:
        assert listeners["https"]["tls"]["certificateRefs"] == [{"group": "", "kind": "Secret", "name": tls, "namespace": "openedx"}]
        assert [p["sectionName"] for p in site["parentRefs"]] == ["https"]
        redirect = routes["openedx-https-redirect"]
        assert [p["sectionName"] for p in redirect["parentRefs"]] == ["http"]
        assert redirect["rules"][0]["filters"] == [{"type": "RequestRedirect", "requestRedirect": {"scheme": "https", "statusCode": 301}}]
        grant = one(objects, "ReferenceGrant", "openedx-tls-from-gateway")["spec"]
        assert grant["from"] == [{"group": "gateway.networking.k8s.io", "kind": "Gateway", "namespace": ns}]
        assert grant["to"] == [{"group": "", "kind": "Secret", "name": tls}]
    else:
        # No certificate: HTTP only, nothing to redirect to, nothing to grant.
        assert set(listeners) == {"http"} and set(routes) == {"openedx"}
        assert [p["sectionName"] for p in site["parentRefs"]] == ["http"]
        assert not [o for o in objects if o["kind"] == "ReferenceGrant"]
