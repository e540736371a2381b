"""Envoy Gateway's own translator (egctl x translate) run on rendered manifests.

`checker()` builds `egctl` from the github.com/envoyproxy/gateway module the test bed already downloads for
its CRDs (tests/sandbox/kube/crds.py, hash-pinned), in the test bed's Go caches (KUBE_TESTBED_CACHE, outside
the checkout, so a fresh clone on the same machine is warm and shares compiled Kubernetes packages with the
control plane). `Checker.translate` hands egctl the objects as the kube-apiserver would hold them and returns
the Gateway API objects with the status Envoy Gateway's translator gives them, and the xDS it would send the
proxies: the verdict of the real implementation, not of our reading of its docs.

What the apiserver adds, modelled here (egctl reads files, not a cluster): a ClusterIP per Service
(routingType Service routes to it), the `kubernetes.io/metadata.name` label of every Namespace, and the TLS
Secret a user creates (a throwaway self-signed one). egctl's file loader keeps only a Namespace's name
(internal/gatewayapi/resource/load.go), so a listener's namespace selector can never match there: a selector
that is exactly that automatic label is replaced by the namespaces it names, via `from: All` once checked.
"""

from __future__ import annotations

import base64
import copy
import json
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

from tests.helpers.go import build_lock
from tests.sandbox.kube import crds
from tests.sandbox.kube.build import cache_dir, go_binary, go_env
from tests.sandbox.lms.tls import ensure_self_signed

MODULE = "github.com/envoyproxy/gateway"
# Kinds egctl's translator reads; the rest of the deployment is not its business.
KINDS = {"GatewayClass", "Gateway", "HTTPRoute", "ReferenceGrant", "ClientTrafficPolicy", "BackendTrafficPolicy", "EnvoyExtensionPolicy",
         "EnvoyProxy", "Service",
         "Namespace", "Secret"}
METADATA_NAME = "kubernetes.io/metadata.name"


class CheckerError(RuntimeError):
    """egctl could not be built or run, or the objects cannot be handed to it; the message says why."""


def module() -> tuple[str, Path]:
    """Version and source tree of the pinned Envoy Gateway module (the test bed's CRD module)."""
    for path, version, checksum, _pattern in crds.MODULES:
        if path == MODULE:
            return version, crds.module_dir(path, version, checksum)
    raise CheckerError(f"{MODULE} is not among the test bed's CRD modules (tests/sandbox/kube/crds.py)")


def build() -> dict:
    """The egctl binary of the pinned Envoy Gateway release (built once per version and Go); path and timings."""
    started = time.monotonic()
    version, source = module()
    go = go_binary()
    env = go_env()
    go_version = subprocess.run([go, "version"], capture_output=True, text=True, check=True, env=env).stdout.split()[2]
    binary = cache_dir() / "egctl" / f"{version}-{go_version}" / "egctl"
    with build_lock(cache_dir() / "egctl" / ".lock"):
        if binary.is_file():
            return {"binary": str(binary), "version": version, "source": "cache", "seconds": round(time.monotonic() - started, 1)}
        tmp = binary.with_name(".egctl.tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        # Inside the module as downloaded: its own go.mod and go.sum (-mod=readonly) say what goes in.
        proc = subprocess.run([go, "build", "-trimpath", "-ldflags=-s -w", "-o", str(tmp), "./cmd/egctl"], cwd=source, env=env,
                              capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise CheckerError(f"go build ./cmd/egctl in {source} failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
        tmp.replace(binary)
    return {"binary": str(binary), "version": version, "source": "go build", "seconds": round(time.monotonic() - started, 1)}


def as_stored(objects: list[dict], workdir: Path) -> list[dict]:
    """The objects egctl reads, as the apiserver would hold them (see the module docstring)."""
    kept = [copy.deepcopy(o) for o in objects if o.get("kind") in KINDS]
    namespaces = {o["metadata"]["name"] for o in kept if o["kind"] == "Namespace"}
    secrets = {(o["metadata"].get("namespace"), o["metadata"]["name"]) for o in kept if o["kind"] == "Secret"}
    hosts = sorted({h for o in kept if o["kind"] == "HTTPRoute" for h in o["spec"].get("hostnames", [])}) or ["openedx.invalid"]
    added, ip = [], 10
    for obj in kept:
        meta, spec = obj["metadata"], obj.get("spec", {})
        if obj["kind"] == "Namespace":
            meta.setdefault("labels", {})[METADATA_NAME] = meta["name"]
        elif obj["kind"] == "Service" and spec.get("clusterIP") != "None" and spec.get("type", "ClusterIP") == "ClusterIP":
            ip += 1
            spec["clusterIP"] = f"10.96.{ip // 250}.{ip % 250 + 1}"
        elif obj["kind"] == "Gateway":
            for listener in spec["listeners"]:
                allowed = listener.get("allowedRoutes", {}).get("namespaces", {})
                if allowed.get("from") == "Selector":
                    selector = allowed.get("selector", {})
                    named = selector.get("matchLabels", {}).get(METADATA_NAME)
                    if set(selector) != {"matchLabels"} or set(selector["matchLabels"]) != {METADATA_NAME} or named not in namespaces:
                        raise CheckerError(f"Gateway {meta['name']} listener {listener['name']}: selector {selector} is not the automatic "
                                           f"{METADATA_NAME} label of a rendered namespace ({sorted(namespaces)}); egctl cannot judge it")
                    allowed.clear()
                    allowed["from"] = "All"
                for ref in listener.get("tls", {}).get("certificateRefs", []):
                    where = (ref.get("namespace", meta.get("namespace")), ref["name"])
                    if ref.get("kind", "Secret") == "Secret" and where not in secrets:
                        secrets.add(where)
                        cert, key = ensure_self_signed(workdir / "tls.crt", workdir / "tls.key", hosts)
                        data = {"tls.crt": base64.b64encode(cert.read_bytes()).decode(), "tls.key": base64.b64encode(key.read_bytes()).decode()}
                        added.append({"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
                                      "metadata": {"name": where[1], "namespace": where[0]}, "data": data})
    return kept + added


@dataclass
class Checker:
    binary: str
    build: dict

    def translate(self, objects: list[dict], workdir: Path, namespace: str) -> dict:
        """egctl x translate --to gateway-api,xds: the objects with status, and "xds" per Gateway."""
        workdir.mkdir(parents=True, exist_ok=True)
        source = workdir / "egctl-input.yaml"
        source.write_text(yaml.safe_dump_all(as_stored(objects, workdir), sort_keys=False))
        cmd = [self.binary, "x", "translate", "--from", "gateway-api", "--to", "gateway-api,xds", "-t", "all", "-o", "json", "-f", str(source),
               "-n", namespace]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False, timeout=300)
        if proc.returncode != 0:
            raise CheckerError(f"{' '.join(cmd)} failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
        (workdir / "egctl-output.json").write_text(proc.stdout)
        return json.loads(proc.stdout)


def checker() -> Checker:
    result = build()
    return Checker(binary=result["binary"], build=result)


def conditions(obj: dict) -> list[tuple[str, str, str, str, str]]:
    """(where, type, status, reason, message) for every condition egctl set: the object's, each listener's, each parent's."""
    status = obj.get("status", {})
    rows = [("", c["type"], c["status"], c["reason"], c.get("message", "")) for c in status.get("conditions", [])]
    for listener in status.get("listeners", []):
        rows += [(f"listener {listener['name']}", c["type"], c["status"], c["reason"], c.get("message", "")) for c in listener["conditions"]]
    for parent in status.get("parents", []) + status.get("ancestors", []):
        ref = parent.get("parentRef") or parent.get("ancestorRef") or {}
        where = f"{ref.get('kind', 'Gateway')} {ref.get('name')}" + (f"/{ref['sectionName']}" if ref.get("sectionName") else "")
        rows += [(where, c["type"], c["status"], c["reason"], c.get("message", "")) for c in parent["conditions"]]
    return rows


def not_accepted(translated: dict) -> list[str]:
    """One line per condition that is not a success, naming the object; [] when Envoy Gateway takes everything."""
    lines = []
    singles = {"gatewayClass": "GatewayClass", "envoyProxyForGatewayClass": "EnvoyProxy"}
    for key, kind in singles.items():
        if key in translated:
            lines += [f"{kind} {translated[key]['metadata']['name']} {w}: {t}={s} ({r}) {m}" for w, t, s, r, m in conditions(translated[key]) if s != "True"]
    for key in ("gateways", "httpRoutes", "clientTrafficPolicies", "backendTrafficPolicies", "envoyExtensionPolicies"):
        for obj in translated.get(key, []):
            rows = conditions(obj)
            if not rows:
                lines.append(f"{key} {obj['metadata']['name']}: no status at all (not attached to any Gateway)")
            lines += [f"{key} {obj['metadata']['name']} {w}: {t}={s} ({r}) {m}" for w, t, s, r, m in rows if s != "True"]
    return lines
