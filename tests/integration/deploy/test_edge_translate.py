"""The envoy-gateway edge judged by Envoy Gateway itself: egctl's translator on the rendered objects.

test_edge checks that each seed setting is written into the policies; here Envoy Gateway v1.9.1's own translator
(tests.helpers.envoy_gateway) says whether it accepts every GatewayClass, Gateway listener, HTTPRoute and policy,
and the xDS it would send the proxies shows each setting where Envoy applies it (listener, route, cluster). A
setting Envoy Gateway drops or overrides without a word would pass test_edge and fail here.
"""

from __future__ import annotations

import copy
import json

import pytest
import yaml

from tests.helpers import envoy_gateway
from tests.helpers.ansible import load_collections

from .test_edge import seed
from .test_render import EXPECT, hosts_of, one

load_collections()
from ansible_collections.openedx_scale.oke.plugins.filter import edge  # noqa: E402

TYPE = "type.googleapis.com/envoy.admin.v3."
SIZES = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


@pytest.fixture(scope="module", params=sorted(EXPECT))
def translated(request, edge_render, envoy_gateway_check, tmp_path_factory):
    inventory = request.param
    objects = edge_render(inventory, "envoy-gateway")["objects"]
    namespace = one(objects, "Gateway", "openedx")["metadata"]["namespace"]
    workdir = tmp_path_factory.mktemp(f"egctl-{inventory}")
    out = envoy_gateway_check.translate(objects, workdir, namespace)
    return {"inventory": inventory, "expect": EXPECT[inventory], "namespace": namespace, "out": out, "tuning": edge.edge_tuning(seed(inventory)),
            "input": list(yaml.safe_load_all((workdir / "egctl-input.yaml").read_text()))}


def xds(translated, dump):
    """The config dump of one kind (Listeners, Routes, Clusters, Endpoints) for the openedx Gateway."""
    configs = translated["out"]["xds"][f"{translated['namespace']}/openedx"]["configs"]
    return next(c for c in configs if c["@type"] == f"{TYPE}{dump}ConfigDump")


def listeners(translated):
    """Gateway listener name (http, https) -> (Envoy listener, its HTTP connection manager)."""
    found = {}
    for entry in xds(translated, "Listeners")["dynamicListeners"]:
        listener = entry["activeState"]["listener"]
        section = listener["name"].rsplit("/", 1)[-1]
        if not listener["name"].startswith(f"{translated['namespace']}/openedx/"):
            continue  # Envoy Gateway's own readiness listener
        chain = (listener.get("filterChains") or [listener["defaultFilterChain"]])[0]
        found[section] = (listener, chain["filters"][0]["typedConfig"])
    return found


def routes(translated):
    """Gateway listener name -> [(domain, route)] of its route configuration."""
    return {cfg["routeConfig"]["name"].rsplit("/", 1)[-1]: [(d, r) for vh in cfg["routeConfig"]["virtualHosts"] for d in vh["domains"] for r in vh["routes"]]
            for cfg in xds(translated, "Routes")["dynamicRouteConfigs"]}


def test_envoy_gateway_accepts_every_object(translated):
    out, expect = translated["out"], translated["expect"]
    assert envoy_gateway.not_accepted(out) == [], "Envoy Gateway's translator refuses or ignores part of the edge"
    assert out["gatewayClass"]["metadata"]["name"] == "envoy-gateway"
    gateway = one(out["gateways"], "Gateway", "openedx")
    status = {listener["name"]: listener for listener in gateway["status"]["listeners"]}
    assert set(status) == ({"http", "https"} if expect["tls"] else {"http"})
    # Each listener carries routes: the site on HTTPS (or HTTP without TLS), the redirect on HTTP.
    assert all(listener["attachedRoutes"] == 1 for listener in status.values()), status
    assert {r["metadata"]["name"] for r in out["httpRoutes"]} == ({"openedx", "openedx-https-redirect"} if expect["tls"] else {"openedx"})
    assert len(out["clientTrafficPolicies"]) == len(out["backendTrafficPolicies"]) == len(out["envoyExtensionPolicies"]) == 1


def test_seed_tuning_reaches_the_proxies(translated):
    t, expect = translated["tuning"], translated["expect"]
    size = str(t["max_body_size"])
    body = int(size.rstrip("kKmMgG")) * SIZES[size[-1].lower() if size[-1].isalpha() else ""]
    found = listeners(translated)
    assert set(found) == ({"http", "https"} if expect["tls"] else {"http"})
    for section, (listener, hcm) in found.items():
        options = hcm["commonHttpProtocolOptions"]
        assert options["maxRequestsPerConnection"] == int(t["keepalive_requests"]), section
        assert options["idleTimeout"] == f"{t['keepalive_timeout_seconds']}s", section
        assert hcm["requestTimeout"] == f"{t['socket_timeout_seconds']}s", section
        # nginx's ignore_invalid_headers.
        assert options["headersWithUnderscoresAction"] == "DROP_HEADER", section
        proxy_protocol = [f for f in listener.get("listenerFilters", []) if f["name"] == "envoy.filters.listener.proxy_protocol"]
        assert bool(proxy_protocol) == bool(t["client_ip_from_proxy_protocol"]), section
        # Bodies stream: no buffer filter; the body limit is the Lua check of the declared length.
        filters = {f["name"]: f for f in hcm["httpFilters"]}
        assert not [name for name in filters if "buffer" in name], section
        lua = [f for name, f in filters.items() if name.startswith("envoy.filters.http.lua")]
        assert lua, f"{section}: no Lua filter in {sorted(filters)}"
        # The Lua source Envoy runs carries the seed's limit in bytes (enabled per route below).
        assert all(f"local limit = {body}\\n" in json.dumps(f) for f in lua), section
    if expect["tls"]:
        assert found["https"][0]["filterChains"][0]["transportSocket"]["name"] == "envoy.transport_sockets.tls"

    site = "https" if expect["tls"] else "http"
    table = routes(translated)
    assert {pair[0] for pair in table[site]} == hosts_of(expect)
    for domain, route in table[site]:
        assert route["route"]["timeout"] == f"{t['read_timeout_seconds']}s", domain
        assert route["route"]["idleTimeout"] == f"{max(int(t['read_timeout_seconds']), int(t['send_timeout_seconds']))}s", domain
        per_filter = route.get("typedPerFilterConfig", {})
        assert not [name for name in per_filter if "buffer" in name], domain
        # The Lua body check is enabled on this route.
        assert [name for name in per_filter if name.startswith("envoy.filters.http.lua")], (domain, sorted(per_filter))
    if expect["tls"]:
        assert {pair[0] for pair in table["http"]} == hosts_of(expect)
        assert all(pair[1]["redirect"] == {"schemeRedirect": "https"} for pair in table["http"])

    clusters = [c["cluster"] for c in xds(translated, "Clusters")["dynamicActiveClusters"]]
    assert len(clusters) == 1, [c["name"] for c in clusters]
    cluster = clusters[0]
    # The seed's 3600 s means what nginx did with it: a connect given up after at most 75 s.
    assert cluster["connectTimeout"] == f"{min(int(t['connect_timeout_seconds']), 75)}s" and int(cluster["connectTimeout"][:-1]) <= 75
    upstream = cluster["typedExtensionProtocolOptions"]["envoy.extensions.upstreams.http.v3.HttpProtocolOptions"]["commonHttpProtocolOptions"]
    assert upstream == {"idleTimeout": f"{t['upstream_keepalive_timeout_seconds']}s", "maxRequestsPerConnection": int(t["upstream_keepalive_requests"])}
    # Envoy's own default is 1024 of each: past it the proxy answers 503 without asking the LMS.
    thresholds = cluster["circuitBreakers"]["thresholds"][0]
    for key in ("maxConnections", "maxRequests", "maxPendingRequests"):
        assert thresholds[key] == int(t["worker_connections"]), key
    # routingType Service: one endpoint, Caddy's ClusterIP, not its pods.
    assignments = [cfg["endpointConfig"] for cfg in xds(translated, "Endpoints")["dynamicEndpointConfigs"]]
    endpoints = [e for assignment in assignments for group in assignment["endpoints"] for e in group["lbEndpoints"]]
    caddy = one(translated["input"], "Service", "caddy")["spec"]["clusterIP"]
    assert [e["endpoint"]["address"]["socketAddress"] for e in endpoints] == [{"address": caddy, "portValue": 80}]


def _second_client_policy(objects):
    policy = copy.deepcopy(one(objects, "ClientTrafficPolicy", "openedx"))
    policy["metadata"]["name"] = "openedx-second"
    return [*objects, policy]


def _route_to_missing_service(objects):
    objects = copy.deepcopy(objects)
    one(objects, "HTTPRoute", "openedx")["spec"]["rules"][0]["backendRefs"][0]["name"] = "caddy-missing"
    return objects


def _listener_without_certificate(objects):
    objects = copy.deepcopy(objects)
    gateway = one(objects, "Gateway", "openedx")
    for listener in gateway["spec"]["listeners"]:
        if listener.get("tls"):
            listener["tls"]["certificateRefs"][0]["namespace"] = "elsewhere"
    return objects


@pytest.mark.parametrize(("change", "verdict"), [
    # Two Gateway-wide ClientTrafficPolicies: the older one wins, the other is refused.
    (_second_client_policy, "clientTrafficPolicies openedx-second Gateway openedx: Accepted=False (Conflicted)"),
    (_route_to_missing_service, "httpRoutes openedx Gateway openedx/https: ResolvedRefs=False (BackendNotFound)"),
    # A certificate in a namespace no ReferenceGrant opens: the HTTPS listener is not programmed.
    (_listener_without_certificate, "gateways openedx listener https: ResolvedRefs=False (RefNotPermitted)"),
], ids=["conflicting-policy", "missing-backend", "certificate-not-granted"])
def test_envoy_gateway_names_what_it_refuses(change, verdict, edge_render, envoy_gateway_check, tmp_path):
    objects = edge_render("example-jeddah", "envoy-gateway")["objects"]
    namespace = one(objects, "Gateway", "openedx")["metadata"]["namespace"]
    lines = envoy_gateway.not_accepted(envoy_gateway_check.translate(change(objects), tmp_path, namespace))
    assert any(line.startswith(verdict) for line in lines), lines
