"""Unit tests of the edge filters: the neutral edge tuning and its ingress-nginx and Envoy Gateway translations."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.filter import edge  # noqa: E402

from tests.helpers.case_study import CASE_STUDY_ANNOTATIONS, NO_OP_ANNOTATIONS, TRANSLATED_ANNOTATIONS  # noqa: E402

CONNECT = "nginx.ingress.kubernetes.io/proxy-connect-timeout"


def test_default_edge_tuning_gives_the_case_study_annotations_with_the_connect_timeout_nginx_applies():
    annotations = edge.edge_nginx_annotations({})
    assert set(TRANSLATED_ANNOTATIONS) == set(CASE_STUDY_ANNOTATIONS) and CASE_STUDY_ANNOTATIONS[CONNECT] == "3600"
    for key, value in TRANSLATED_ANNOTATIONS.items():
        assert annotations[key] == value, key
    assert annotations["nginx.ingress.kubernetes.io/proxy-buffer-size"] == "128k"
    assert not set(NO_OP_ANNOTATIONS) & set(annotations)
    config = edge.edge_nginx_configmap({})
    # Where the controller reads them: the ConfigMap.
    assert config["keep-alive-requests"] == "5000"
    assert config["client-header-timeout"] == config["client-body-timeout"] == "120"
    assert config["proxy-connect-timeout"] == "75" and config["proxy-read-timeout"] == config["proxy-send-timeout"] == "3600"


@pytest.mark.parametrize(("seconds", "meant"), [(3600, 75), (76, 75), (75, 75), (10, 10), (1, 1)])
def test_connect_timeout_means_at_most_what_nginx_applies(seconds, meant):
    tuning = {"connect_timeout_seconds": seconds}
    assert edge.edge_nginx_annotations(tuning)[CONNECT] == edge.edge_nginx_configmap(tuning)["proxy-connect-timeout"] == str(meant)
    assert edge.edge_envoy_policies(tuning)["backend_traffic_policy"]["timeout"]["tcp"]["connectTimeout"] == f"{meant}s"


def test_one_tuning_feeds_both_annotations_and_controller_config():
    tuning = {"keepalive_requests": 100, "read_timeout_seconds": 60, "max_body_size": "20M", "force_https": False}
    annotations = edge.edge_nginx_annotations(tuning)
    config = edge.edge_nginx_configmap(tuning)
    assert config["keep-alive-requests"] == "100"
    assert annotations["nginx.ingress.kubernetes.io/proxy-read-timeout"] == config["proxy-read-timeout"] == "60"
    assert annotations["nginx.ingress.kubernetes.io/proxy-body-size"] == config["proxy-body-size"] == "20M"
    assert annotations["nginx.ingress.kubernetes.io/ssl-redirect"] == config["ssl-redirect"] == "false"
    assert all(isinstance(v, str) for v in config.values()), "ConfigMap data must be strings"
    assert config["large-client-header-buffers"] == "8 16k" and config["use-proxy-protocol"] == "true"


def test_unlimited_connections_drops_the_annotation():
    assert "nginx.ingress.kubernetes.io/limit-connections" not in edge.edge_nginx_annotations({"max_connections_per_client": 0})


@pytest.mark.parametrize(("tuning", "message"), [
    ({"keepalive_requets": 1}, "unknown edge tuning keys ['keepalive_requets']"),
    ({"max_body_size": "lots"}, "edge tuning max_body_size must be a size"),
    ({"read_timeout_seconds": -1}, "edge tuning read_timeout_seconds must be greater than 0"),
    ({"read_timeout_seconds": 1.5}, "must be a whole number"),
    (["keepalive_requests"], "edge tuning must be a mapping"),
])
def test_edge_tuning_rejects_bad_input(tuning, message):
    with pytest.raises(AnsibleFilterError) as err:
        edge.edge_tuning(tuning)
    assert message in str(err.value)


def test_filter_module_exposes_every_filter():
    assert set(edge.FilterModule().filters()) == {"edge_tuning", "edge_nginx_annotations", "edge_nginx_configmap", "edge_envoy_policies"}


# A different valid value for every tuning key: each must change the Envoy Gateway objects, unless the
# translation names it as not applicable.
PERTURBED = {
    "keepalive_requests": 17, "keepalive_timeout_seconds": 17, "max_connections_per_client": 17,
    "max_body_size": "17k", "connect_timeout_seconds": 17, "read_timeout_seconds": 17, "send_timeout_seconds": 9999,
    "socket_timeout_seconds": 17, "route_to_service_ip": False, "force_https": False,
    "upstream_keepalive_connections": 17, "upstream_keepalive_requests": 17, "upstream_keepalive_timeout_seconds": 17,
    "client_header_buffer_size": "17k", "large_client_header_buffers": "4 17k", "proxy_buffer_size": "17k",
    "worker_connections": 17, "client_ip_from_proxy_protocol": False,
}


def test_every_tuning_key_is_mapped_to_envoy_gateway_or_named_not_applicable():
    assert set(PERTURBED) == set(edge.EDGE_TUNING_DEFAULTS)
    base = edge.edge_envoy_policies({})
    for key, value in PERTURBED.items():
        changed = edge.edge_envoy_policies({key: value})
        mapped = {k: v for k, v in changed.items() if k != "not_applicable"} != {k: v for k, v in base.items() if k != "not_applicable"}
        if key in base["not_applicable"]:
            assert not mapped, f"{key} is named not applicable but changes the objects"
            assert len(base["not_applicable"][key]) > 20, f"{key}: say why"
        else:
            assert mapped, f"{key} changes nothing in the Envoy Gateway objects and is not named not applicable"


def test_default_tuning_in_envoy_gateway_words():
    policies = edge.edge_envoy_policies({})
    client, backend = policies["client_traffic_policy"], policies["backend_traffic_policy"]
    assert client["connection"]["connectionLimit"] == {"maxRequestsPerConnection": 5000}
    assert client["timeout"]["http"] == {"idleTimeout": "75s", "requestReceivedTimeout": "120s"}
    assert client["proxyProtocol"] == {"optional": False}
    assert backend["timeout"]["tcp"]["connectTimeout"] == "75s"
    assert backend["timeout"]["http"]["requestTimeout"] == backend["timeout"]["http"]["streamIdleTimeout"] == "3600s"
    # Bodies stream: no buffer filter holding each one whole in the proxy's memory.
    assert "requestBuffer" not in backend and backend["routingType"] == "Service"
    assert backend["circuitBreaker"] == {"maxRequestsPerConnection": 10000, "maxConnections": 65536, "maxParallelRequests": 65536,
                                         "maxPendingRequests": 65536}
    assert policies["https_redirect"] is True
    assert "proxyProtocol" not in edge.edge_envoy_policies({"client_ip_from_proxy_protocol": False})["client_traffic_policy"]


@pytest.mark.parametrize(("size", "limit"), [("500M", 524288000), ("16k", 16384), ("1024", 1024), ("2G", 2147483648)])
def test_body_limit_is_a_lua_check_of_the_declared_length(size, limit):
    lua = edge.edge_envoy_policies({"max_body_size": size})["extension_policy"]["lua"]
    assert [entry["type"] for entry in lua] == ["Inline"]
    assert f"local limit = {limit}\n" in lua[0]["inline"]
    assert 'headers():get("content-length")' in lua[0]["inline"] and '[":status"] = "413"' in lua[0]["inline"]


def test_envoy_translation_rejects_bad_tuning():
    with pytest.raises(AnsibleFilterError, match=r"unknown edge tuning keys \['keepalive_requets'\]"):
        edge.edge_envoy_policies({"keepalive_requets": 1})
