"""ingress-nginx's own annotation parsers and ConfigMap reader, run on rendered manifests.

`checker()` builds `openedx-check` (main.go + annotations_check.go beside this file) inside the
k8s.io/ingress-nginx Go module from the Go module proxy, and `Checker.check` feeds it the annotations
of each Ingress and the controller ConfigMap data: per key, the controller's verdict (ok, unknown,
rejected, no-effect). Builds are cached outside the checkout (INGRESS_NGINX_CHECK_CACHE, default
~/.cache/openedx-scale-ingress-nginx), keyed by the module version, the Go version and our sources, so
a fresh clone on the same machine is warm.

Which source: the controller image is pinned at v1.13.9 (roles/ingress_nginx/defaults/main.yml), but the
Go module proxy serves one version of k8s.io/ingress-nginx only, a pseudo-version of the main branch of
2024-07-08 (between controller v1.10.1 and v1.11.0): the project tags releases `controller-vX.Y.Z`, which
are not module versions, and the proxy answers 403 "This module version is not available" for
v1.13.0, v1.13.9, controller-v1.13.9, the v1.13.9 commit and its pseudo-version. V1_13_DELTA below
carries what changed between that source and controller-v1.13.9 for annotations and ConfigMap keys
(`git diff 52c50467d67d controller-v1.13.9 -- internal/ingress`): a key in it is judged from the diff,
never passed as checked.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.helpers.go import build_lock, go_binary, module_build_env

HERE = Path(__file__).resolve().parent
MODULE = "k8s.io/ingress-nginx"
MODULE_VERSION = "v0.0.0-20240708192948-52c50467d67d"
PREFIX = "nginx.ingress.kubernetes.io/"
# controller-v1.13.9's default annotations-risk-level (internal/ingress/controller/config; "Critical" in
# MODULE_VERSION), with --enable-annotation-validation on as by default.
RISK_LEVEL = "High"
V1_13_DELTA = {
    "configmap_removed": {
        "plugins", "global-rate-limit-memcached-host", "global-rate-limit-memcached-port",
        "global-rate-limit-memcached-connect-timeout", "global-rate-limit-memcached-max-idle-timeout",
        "global-rate-limit-memcached-pool-size", "global-rate-limit-status-code",
    },
    "configmap_added": {"relative-redirects", "forwarded-for-proxy-protocol-header", "forwarded-host-header"},
    "annotations_removed": {"global-rate-limit", "global-rate-limit-window", "global-rate-limit-key", "global-rate-limit-ignored-cidrs"},
    "annotations_added": {"proxy-busy-buffers-size", "relative-redirects", "temporal-redirect-code"},
}
SOURCES = {"main.go": "cmd/openedx-check/main.go", "annotations_check.go": "internal/ingress/annotations/zz_openedx_check.go"}


class CheckerError(RuntimeError):
    """The checker could not be built or run; the message says which command failed and why."""


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openedx-scale-ingress-nginx"
    return Path(os.environ.get("INGRESS_NGINX_CHECK_CACHE", default)).resolve()


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=module_build_env(cache_dir()), capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise CheckerError(f"{' '.join(cmd)} failed (rc={proc.returncode}) in {cwd or Path.cwd()}:\n{proc.stderr[-3000:]}")
    return proc.stdout


def build_key() -> str:
    """Identity of a build: module version, Go version and our Go sources."""
    h = hashlib.sha256()
    h.update(MODULE_VERSION.encode())
    h.update(_run([go_binary(), "version"]).strip().encode())
    for name in sorted(SOURCES):
        h.update((HERE / name).read_bytes())
    return h.hexdigest()[:16]


def module_dir() -> Path:
    """The source tree of MODULE_VERSION in the module cache (downloaded once, checked against the checksum database)."""
    cache_dir().mkdir(parents=True, exist_ok=True)
    downloaded = json.loads(_run([go_binary(), "mod", "download", "-json", f"{MODULE}@{MODULE_VERSION}"], cwd=cache_dir()))
    if downloaded.get("Error"):
        raise CheckerError(f"go mod download {MODULE}@{MODULE_VERSION}: {downloaded['Error']}")
    return Path(downloaded["Dir"])


def build() -> dict:
    """The checker binary (built once per key); returns its path and how it was obtained, with timings."""
    key = build_key()
    binary = cache_dir() / "bin" / key / "openedx-check"
    started = time.monotonic()
    with build_lock(cache_dir() / ".lock"):
        if binary.is_file():
            return {"binary": str(binary), "key": key, "source": "cache", "seconds": round(time.monotonic() - started, 1)}
        go = go_binary()
        source = module_dir()
        download_seconds = time.monotonic() - started
        src = Path(tempfile.mkdtemp(prefix="src-", dir=cache_dir()))
        try:
            shutil.copytree(source, src, dirs_exist_ok=True)
            for dirpath, _dirs, _files in os.walk(src):
                os.chmod(dirpath, 0o755)
            for name, target in SOURCES.items():
                (src / target).parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(HERE / name, src / target)
            out = binary.parent / ".openedx-check.tmp"
            out.parent.mkdir(parents=True, exist_ok=True)
            _run([go, "build", "-trimpath", "-o", str(out), "./cmd/openedx-check"], cwd=src)
            out.replace(binary)
        finally:
            shutil.rmtree(src, ignore_errors=True)
        result = {
            "binary": str(binary), "key": key, "source": "go build", "seconds": round(time.monotonic() - started, 1),
            "download_seconds": round(download_seconds, 1), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        (binary.parent / "build-times.json").write_text(json.dumps(result, indent=2) + "\n")
        return result


def _delta(kind: str, name: str) -> str | None:
    if name in V1_13_DELTA[f"{kind}_removed"]:
        return f"removed in controller v1.13: v1.13.9 has no {name}"
    if name in V1_13_DELTA[f"{kind}_added"]:
        return f"new in controller v1.13: {name} is not in the Go module the proxy serves ({MODULE_VERSION}), so it stays unchecked"
    return None


@dataclass
class Checker:
    binary: str
    build: dict

    def check(self, configmap: dict[str, str], ingresses: dict[str, dict[str, str]]) -> dict:
        """Verdicts: {"configmap": {key: v}, "ingresses": {name: {"annotations": {key: v}, "extract_error": str}}}."""
        payload = {"risk_level": RISK_LEVEL, "configmap": {k: str(v) for k, v in configmap.items()},
                   "ingresses": [{"name": n, "annotations": {k: str(v) for k, v in a.items()}} for n, a in sorted(ingresses.items())]}
        proc = subprocess.run([self.binary], input=json.dumps(payload), capture_output=True, text=True, check=False, timeout=120)
        if proc.returncode != 0:
            raise CheckerError(f"{self.binary} failed (rc={proc.returncode}):\n{proc.stderr[-3000:]}")
        raw = json.loads(proc.stdout)
        result = {"configmap": raw["configmap"], "ingresses": {}}
        for key, verdict in result["configmap"].items():
            note = _delta("configmap", key)
            if note:
                verdict.update(verdict="unknown" if "removed" in note else "unchecked", detail=note)
        for ing in raw["ingresses"]:
            for key, verdict in ing["annotations"].items():
                note = _delta("annotations", key.removeprefix(PREFIX))
                if note:
                    verdict.update(verdict="unknown" if "removed" in note else "unchecked", detail=note)
            result["ingresses"][ing["name"]] = {"annotations": ing["annotations"], "extract_error": ing.get("extract_error", "")}
        return result


def failures(verdicts: dict) -> list[str]:
    """One line per key the controller does not accept and apply, naming the key; [] when all are ok."""
    lines = [f"ConfigMap {key}: {v['verdict']}: {v.get('detail', '')}" for key, v in sorted(verdicts["configmap"].items()) if v["verdict"] != "ok"]
    for name, ing in sorted(verdicts["ingresses"].items()):
        # Annotations of other owners (Tutor's app.kubernetes.io/version) are not the controller's business.
        lines += [f"Ingress {name} {key}: {v['verdict']}: {v.get('detail', '')}" for key, v in sorted(ing["annotations"].items())
                  if v["verdict"] not in ("ok", "other-prefix")]
        if ing["extract_error"]:
            lines.append(f"Ingress {name}: the controller drops its annotations: {ing['extract_error']}")
    return lines


def checker() -> Checker:
    result = build()
    return Checker(binary=result["binary"], build=result)


def controller_version(image: str) -> str:
    """The controller release an image reference names (registry/...:vX.Y.Z[@sha256:...])."""
    match = re.search(r":(v\d+\.\d+\.\d+)(@sha256:[0-9a-f]{64})?$", image)
    if not match:
        raise CheckerError(f"cannot read a controller version from image {image!r}")
    return match.group(1)
