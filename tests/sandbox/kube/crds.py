"""Gateway API and Envoy Gateway CRDs, from the Go module proxy, and validation against their schemas.

The CRD manifests come with the Go modules (`go mod download`, hash-checked against the sums pinned
here) into the test bed's module cache (KUBE_TESTBED_CACHE/gomod, outside the checkout), so a fresh
clone starts warm. `Validator` checks objects against the CRDs' OpenAPI v3 schemas like
kubernetes_validate's strict mode (unknown fields are errors); the CEL rules (x-kubernetes-validations)
are left to the real kube-apiserver, which enforces them when the test bed applies the objects.
"""

from __future__ import annotations

import copy
import json
import subprocess
from functools import lru_cache
from pathlib import Path

import jsonschema
import yaml

from .build import go_binary, go_env

# module, version, go.sum hash (h1), CRD files inside the module.
MODULES = (
    # Gateway API, standard channel: what Envoy Gateway v1.9.1 implements (built against v1.6.1).
    ("sigs.k8s.io/gateway-api", "v1.6.3", "h1:lKpJa5bGlraC/QeACvCpsHLdmO6y0iKfzVl6gzaFEYc=", "config/crd/standard/gateway.networking.k8s.io_*s.yaml"),
    (
        "github.com/envoyproxy/gateway",
        "v1.9.1",
        "h1:vAVp6/AlBXJ1aOhp1mxL7fNEzVEfjADUguUhm2wzxQY=",
        "charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_*.yaml",
    ),
)


def module_dir(path: str, version: str, checksum: str) -> Path:
    env = go_env()
    # Outside any module: go.sum cannot vouch, so the pinned hash does.
    env["GOFLAGS"] = "-mod=mod"
    out = subprocess.run([go_binary(), "mod", "download", "-json", f"{path}@{version}"], capture_output=True, text=True, env=env, cwd="/", check=False)
    info = json.loads(out.stdout or "{}")
    if out.returncode != 0 or info.get("Error"):
        raise RuntimeError(f"go mod download {path}@{version}: {info.get('Error') or out.stderr}")
    if info["Sum"] != checksum:
        raise RuntimeError(f"{path}@{version}: module hash {info['Sum']}, pinned {checksum}")
    return Path(info["Dir"])


@lru_cache(maxsize=1)
def crd_files() -> tuple[Path, ...]:
    files = []
    for path, version, checksum, pattern in MODULES:
        # Only CRDs (the standard channel's ValidatingAdmissionPolicy for upgrades is left out).
        files += sorted(f for f in module_dir(path, version, checksum).glob(pattern) if "_vap_" not in f.name)
    return tuple(files)


def _strict(schema: dict) -> dict:
    """OpenAPI v3 structural schema -> JSON Schema that rejects unknown fields (the apiserver would prune them)."""
    schema = copy.deepcopy(schema)

    def walk(node):
        if not isinstance(node, dict):
            return
        if node.pop("nullable", False) and "type" in node:
            node["type"] = [node["type"], "null"]
        if node.get("x-kubernetes-int-or-string"):
            node.pop("type", None)
            node.setdefault("anyOf", [{"type": "integer"}, {"type": "string"}])
        if "properties" in node and "additionalProperties" not in node and not node.get("x-kubernetes-preserve-unknown-fields"):
            node["additionalProperties"] = False
        for key in ("properties", "patternProperties"):
            for child in node.get(key, {}).values():
                walk(child)
        for key in ("items", "additionalProperties", "not"):
            walk(node.get(key))
        for key in ("allOf", "anyOf", "oneOf"):
            for child in node.get(key, []):
                walk(child)

    walk(schema)
    # metadata is ObjectMeta, checked by the apiserver; the CRD schema only says "object".
    schema.get("properties", {}).pop("metadata", None)
    schema.get("properties", {})["metadata"] = {"type": "object"}
    return schema


class Validator:
    """Schemas of every served version of the CRDs, by (apiVersion, kind)."""

    def __init__(self, files=None):
        self.schemas = {}
        self.kinds = set()
        for name in files or crd_files():
            # libyaml: the pure-Python loader takes most of a minute on these schemas.
            for crd in yaml.load_all(Path(name).read_text(), Loader=yaml.CSafeLoader):
                if not crd or crd.get("kind") != "CustomResourceDefinition":
                    continue
                group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
                for version in crd["spec"]["versions"]:
                    if version.get("served"):
                        self.schemas[(f"{group}/{version['name']}", kind)] = _strict(version["schema"]["openAPIV3Schema"])
                        self.kinds.add(kind)

    def knows(self, obj: dict) -> bool:
        return (obj.get("apiVersion"), obj.get("kind")) in self.schemas

    def validate(self, obj: dict) -> None:
        key = (obj.get("apiVersion"), obj.get("kind"))
        if key not in self.schemas:
            raise KeyError(f"no CRD serves {key[0]} {key[1]}")
        validator = jsonschema.Draft7Validator(self.schemas[key])
        errors = sorted(validator.iter_errors(obj), key=lambda e: list(e.path))
        if errors:
            name = obj.get("metadata", {}).get("name")
            raise jsonschema.ValidationError(f"{key[1]} {name}: " + "; ".join(f"{'.'.join(map(str, e.path)) or '<root>'}: {e.message}" for e in errors[:5]))
