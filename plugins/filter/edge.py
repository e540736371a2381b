# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Edge filters: the neutral edge (ingress) tuning and its translations for ingress-nginx and Envoy Gateway."""

from __future__ import (absolute_import, division, print_function)

__metaclass__ = type

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.openedx_scale.oke.plugins.filter.sizing import _number

# The edge tuning, expressed once and controller-neutral. Defaults are the case study's ingress
# annotations (which held 50k users) plus the controller settings that go with them; each controller
# gets a translation below (ingress-nginx and Envoy Gateway).
EDGE_TUNING_DEFAULTS = {
    "keepalive_requests": 5000,          # requests per client keep-alive connection
    "keepalive_timeout_seconds": 75,     # idle client keep-alive
    "max_connections_per_client": 5000,  # concurrent connections per client IP (0 = unlimited)
    "max_body_size": "500M",             # request body limit (Studio uploads)
    "connect_timeout_seconds": 3600,    # the case study's annotation; what it means is capped (CONNECT_TIMEOUT_MAX_SECONDS)
    "read_timeout_seconds": 3600,
    "send_timeout_seconds": 3600,
    "socket_timeout_seconds": 120,       # the case study's timeout-socket (not an ingress-nginx annotation: client timeouts)
    "route_to_service_ip": True,         # one upstream (the Service VIP) instead of pod endpoints
    "force_https": True,
    "upstream_keepalive_connections": 1000,
    "upstream_keepalive_requests": 10000,
    "upstream_keepalive_timeout_seconds": 60,
    "client_header_buffer_size": "16k",
    "large_client_header_buffers": "8 16k",  # big cookies / JWT headers (uWSGI buffer-size 16000 behind)
    "proxy_buffer_size": "128k",         # large Set-Cookie at login ("upstream sent too big header")
    "worker_connections": 65536,
    "client_ip_from_proxy_protocol": True,  # the OCI load balancer forwards client IPs by proxy protocol
}

_SIZE = re.compile(r"^[0-9]+[kKmMgG]?$")
_SIZE_BYTES = {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
# nginx: proxy_connect_timeout "cannot usually exceed 75 seconds" (the kernel gives up on the SYN first); the seed's
# 3600 s is its read/send timeout copied. A connect to the in-cluster Service VIP needs milliseconds, so both edges
# get what nginx really did with the seed, at most 75 s, never an hour of a request held on a dead upstream.
CONNECT_TIMEOUT_MAX_SECONDS = 75


def edge_tuning(overrides=None):
    """The neutral edge tuning: defaults updated with `overrides`; unknown keys are an error."""
    overrides = overrides or {}
    if not isinstance(overrides, dict):
        raise AnsibleFilterError("edge tuning must be a mapping of {0}, got {1!r}".format(sorted(EDGE_TUNING_DEFAULTS), overrides))
    unknown = sorted(set(overrides) - set(EDGE_TUNING_DEFAULTS))
    if unknown:
        raise AnsibleFilterError("openedx_scale_edge_tuning: unknown edge tuning keys {0}. Fix: use {1}".format(unknown, sorted(EDGE_TUNING_DEFAULTS)))
    tuning = dict(EDGE_TUNING_DEFAULTS)
    tuning.update(overrides)
    for key in ("max_body_size", "client_header_buffer_size", "proxy_buffer_size"):
        if not _SIZE.match(str(tuning[key])):
            raise AnsibleFilterError("edge tuning {0} must be a size like 500M or 16k, got {1!r}".format(key, tuning[key]))
    for key, value in tuning.items():
        if key.endswith(("_seconds", "_requests", "_connections", "_per_client")):
            _number(value, "edge tuning " + key, minimum=0, integer=True)
    return tuning


def _bool(value):
    return "true" if value else "false"


def connect_timeout_seconds(tuning):
    """The connect timeout a tuning means: its value, at most CONNECT_TIMEOUT_MAX_SECONDS."""
    return min(int(tuning["connect_timeout_seconds"]), CONNECT_TIMEOUT_MAX_SECONDS)


def size_bytes(size):
    """An nginx size (500M, 16k, 1024) in bytes."""
    size = str(size)
    unit = size[-1].lower() if size[-1].isalpha() else ""
    return int(size[:len(size) - len(unit)]) * _SIZE_BYTES[unit]


def edge_nginx_annotations(overrides=None):
    """Per-Ingress annotations for ingress-nginx from the neutral tuning, in the forms its parsers accept.

    ingress-nginx's proxy-*-timeout annotations pass `parser.ValidateInt` (seconds, no unit: "3600s" fails
    and the controller falls back to the ConfigMap); keep-alive-requests and the socket timeout have no
    annotation at all, so they live only in `edge_nginx_configmap`.
    """
    t = edge_tuning(overrides)
    annotations = {
        "nginx.ingress.kubernetes.io/proxy-body-size": str(t["max_body_size"]),
        "nginx.ingress.kubernetes.io/proxy-connect-timeout": str(connect_timeout_seconds(t)),
        "nginx.ingress.kubernetes.io/proxy-read-timeout": str(t["read_timeout_seconds"]),
        "nginx.ingress.kubernetes.io/proxy-send-timeout": str(t["send_timeout_seconds"]),
        "nginx.ingress.kubernetes.io/service-upstream": _bool(t["route_to_service_ip"]),
        "nginx.ingress.kubernetes.io/ssl-redirect": _bool(t["force_https"]),
        "nginx.ingress.kubernetes.io/proxy-buffer-size": str(t["proxy_buffer_size"]),
    }
    if int(t["max_connections_per_client"]) > 0:
        annotations["nginx.ingress.kubernetes.io/limit-connections"] = str(t["max_connections_per_client"])
    return annotations


def edge_nginx_configmap(overrides=None):
    """The ingress-nginx controller ConfigMap data matching the same tuning (all values strings)."""
    t = edge_tuning(overrides)
    return {
        "keep-alive": str(t["keepalive_timeout_seconds"]),
        "keep-alive-requests": str(t["keepalive_requests"]),
        # The case study's timeout-socket: nginx's client read timeouts (seconds; the key has no annotation).
        "client-header-timeout": str(t["socket_timeout_seconds"]),
        "client-body-timeout": str(t["socket_timeout_seconds"]),
        "upstream-keepalive-connections": str(t["upstream_keepalive_connections"]),
        "upstream-keepalive-requests": str(t["upstream_keepalive_requests"]),
        "upstream-keepalive-timeout": str(t["upstream_keepalive_timeout_seconds"]),
        "client-header-buffer-size": str(t["client_header_buffer_size"]),
        "large-client-header-buffers": str(t["large_client_header_buffers"]),
        "proxy-buffer-size": str(t["proxy_buffer_size"]),
        "proxy-body-size": str(t["max_body_size"]),
        "proxy-connect-timeout": str(connect_timeout_seconds(t)),
        "proxy-read-timeout": str(t["read_timeout_seconds"]),
        "proxy-send-timeout": str(t["send_timeout_seconds"]),
        "max-worker-connections": str(t["worker_connections"]),
        "ssl-redirect": _bool(t["force_https"]),
        "use-proxy-protocol": _bool(t["client_ip_from_proxy_protocol"]),
        "use-forwarded-headers": "false",
        "enable-underscores-in-headers": "false",
    }


# Keys Envoy Gateway has no setting for, and why (rendered with the policies, so the gap is visible).
EDGE_ENVOY_NOT_APPLICABLE = {
    "max_connections_per_client": "Envoy Gateway v1.9 limits concurrent connections per listener (ClientTrafficPolicy "
                                  "connection.connectionLimit.value), never per client address, and its per-address "
                                  "limits count requests per time (global rate limit service), not connections; a "
                                  "listener-wide cap would throttle all clients behind one number",
    "upstream_keepalive_connections": "Envoy keeps an unbounded pool of upstream connections per host; "
                                      "circuitBreaker.maxConnections is a hard cap, not an idle-pool size",
    "client_header_buffer_size": "no Envoy Gateway setting; Envoy accepts 60 KiB of request headers, more "
                                 "than uWSGI's buffer-size 16000 behind it",
    "large_client_header_buffers": "no Envoy Gateway setting; Envoy accepts 60 KiB of request headers, more "
                                   "than uWSGI's buffer-size 16000 behind it",
    "proxy_buffer_size": "Envoy buffers upstream response headers up to 60 KiB without a fixed buffer",
}

# nginx's client_max_body_size: a request that declares a larger body (Content-Length) is refused with 413 before any
# of it is read; the body itself streams to the upstream through Envoy's per-connection buffer (32 KiB by default,
# with back-pressure), never held whole in memory as requestBuffer would (one body of up to the limit per request).
_BODY_LIMIT_LUA = """-- openedx-scale: max_body_size {size} (nginx client_max_body_size): refuse a larger declared body, stream the rest.
local limit = {limit}
function envoy_on_request(request_handle)
  local length = tonumber(request_handle:headers():get("content-length") or "")
  if length ~= nil and length > limit then
    request_handle:respond({{[":status"] = "413"}}, "request body larger than {size}")
  end
end
"""


def _seconds(value):
    return "{0}s".format(int(value))


def edge_envoy_policies(overrides=None):
    """The same tuning for Envoy Gateway: ClientTrafficPolicy, BackendTrafficPolicy and EnvoyExtensionPolicy specs,
    the HTTPS redirect of the HTTPRoute, and the keys with no Envoy Gateway setting (with the reason).

    Every key of the tuning is either mapped here or named in `not_applicable`. The specs carry no
    targetRefs: the role attaches the policies to its Gateway.
    """
    t = edge_tuning(overrides)
    client = {
        "connection": {"connectionLimit": {"maxRequestsPerConnection": int(t["keepalive_requests"])}},
        "timeout": {
            # Idle client keep-alive, and the case study's timeout-socket: the whole request must arrive in it.
            "http": {"idleTimeout": _seconds(t["keepalive_timeout_seconds"]),
                     "requestReceivedTimeout": _seconds(t["socket_timeout_seconds"])},
        },
        # nginx drops headers with underscores (ignore_invalid_headers); so does Envoy here.
        "headers": {"withUnderscoresAction": "DropHeader"},
    }
    if t["client_ip_from_proxy_protocol"]:
        client["proxyProtocol"] = {"optional": False}
    backend = {
        "timeout": {
            "tcp": {"connectTimeout": _seconds(connect_timeout_seconds(t))},
            # nginx's read/send timeouts are idle gaps; Envoy's route timeout (15 s by default) is the whole
            # response, so it takes the read timeout and the stream idle timeout the larger of the two.
            "http": {"requestTimeout": _seconds(t["read_timeout_seconds"]),
                     "streamIdleTimeout": _seconds(max(int(t["read_timeout_seconds"]), int(t["send_timeout_seconds"]))),
                     "connectionIdleTimeout": _seconds(t["upstream_keepalive_timeout_seconds"])},
        },
        # nginx's only cap on concurrent proxied requests is worker_connections; Envoy's is the cluster's circuit
        # breaker, 1024 connections / requests / pending by default (egctl translate shows them), and past it
        # Envoy answers 503 at once: about 5,000 requests in flight at 50k users over two proxies overflow it.
        "circuitBreaker": {
            "maxRequestsPerConnection": int(t["upstream_keepalive_requests"]),
            "maxConnections": int(t["worker_connections"]),
            "maxParallelRequests": int(t["worker_connections"]),
            "maxPendingRequests": int(t["worker_connections"]),
        },
        "routingType": "Service" if t["route_to_service_ip"] else "Endpoint",
    }
    size = str(t["max_body_size"])
    extension = {"lua": [{"type": "Inline", "inline": _BODY_LIMIT_LUA.format(size=size, limit=size_bytes(size))}]}
    return {
        "client_traffic_policy": client,
        "backend_traffic_policy": backend,
        "extension_policy": extension,
        "https_redirect": bool(t["force_https"]),
        "not_applicable": dict(EDGE_ENVOY_NOT_APPLICABLE),
    }


class FilterModule(object):
    """Edge filters."""

    def filters(self):
        return {
            "edge_tuning": edge_tuning,
            "edge_nginx_annotations": edge_nginx_annotations,
            "edge_nginx_configmap": edge_nginx_configmap,
            "edge_envoy_policies": edge_envoy_policies,
        }
