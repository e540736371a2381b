"""A `helm` built from its Go module, and the upstream charts taken from the source trees of the pinned releases.

`build()` downloads helm.sh/helm/v3 at VERSION from the Go module proxy (hash-checked against SUM) and builds
./cmd/helm inside the module as released (its own go.mod and go.sum, -mod=readonly), with the release's version
stamped in as its Makefile does. Everything is cached outside the checkout (HELM_BUILD_CACHE, default
~/.cache/openedx-scale-helm), keyed by the helm and Go versions, so a fresh clone on the same machine is warm;
`build-times.json` beside the binary records what the cold build cost.

`start_build()` starts that build in a background process at session start (tests/conftest.py), so it overlaps
the other tests; `build()` then waits on the same lock and finds the binary.

The charts: `chart_dir()` is the chart directory inside a Go module the test bed downloads anyway (Envoy
Gateway's charts/gateway-helm in github.com/envoyproxy/gateway@v1.9.1, ingress-nginx's charts/ingress-nginx in
the k8s.io/ingress-nginx snapshot), so `helm template` renders what the pinned source ships.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

from tests.helpers.go import build_lock, go_binary, module_build_env

# helm 3, as on the controller (execution-environment.yml): kubernetes.core 6.2's helm module runs `helm list --all`,
# a flag helm 4 removed.
MODULE = "helm.sh/helm/v3"
VERSION = "v3.22.1"
# go.sum hash (h1) of helm.sh/helm/v3@v3.22.1 as the Go checksum database records it.
SUM = "h1:uo2SouzAxMkKZTNzZ1lLP/c/Bu7xfUJKYDaYMxMHvk8="


class HelmError(RuntimeError):
    """helm could not be built or run; the message names the command and its output."""


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openedx-scale-helm"
    return Path(os.environ.get("HELM_BUILD_CACHE", default)).resolve()


def _run(cmd: list[str], cwd: Path | str, env: dict[str, str]) -> str:
    proc = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise HelmError(f"{' '.join(cmd)} failed (rc={proc.returncode}) in {cwd}:\n{proc.stderr[-3000:]}")
    return proc.stdout


def _kube_version_ldflags(module_dir: Path) -> str:
    """The Kubernetes version `helm template` assumes without a cluster, stamped in as helm's Makefile does (from the
    k8s.io/client-go it builds with: v0.37 -> 1.37); unstamped it is 1.20, below the charts' kubeVersion."""
    match = re.search(r"^\s*k8s\.io/client-go v0\.([0-9]+)\.", (module_dir / "go.mod").read_text(), re.M)
    if not match:
        raise HelmError(f"{module_dir}/go.mod: no k8s.io/client-go requirement to take the Kubernetes version from")
    return " ".join(f"-X {MODULE}/pkg/{pkg}.k8sVersion{part}={value}"
                    for pkg in ("lint/rules", "chartutil") for part, value in (("Major", "1"), ("Minor", match.group(1))))


def build() -> dict:
    """The helm binary of VERSION (built once per helm and Go version); its path and how it was obtained."""
    started = time.monotonic()
    go = go_binary()
    env = module_build_env(cache_dir())
    go_version = _run([go, "version"], "/", env).split()[2]
    binary = cache_dir() / "bin" / f"{VERSION}-{go_version}" / "helm"
    with build_lock(cache_dir() / ".lock"):
        if binary.is_file():
            return {"binary": str(binary), "version": VERSION, "source": "cache", "seconds": round(time.monotonic() - started, 1)}
        # Outside any module go.sum cannot vouch for the download: the pinned hash does.
        info = json.loads(_run([go, "mod", "download", "-json", f"{MODULE}@{VERSION}"], "/", dict(env, GOFLAGS="-mod=mod")))
        if info.get("Error") or info.get("Sum") != SUM:
            raise HelmError(f"go mod download {MODULE}@{VERSION}: {info.get('Error') or 'hash ' + str(info.get('Sum')) + ', pinned ' + SUM}")
        download_seconds = time.monotonic() - started
        tmp = binary.with_name(".helm.tmp")
        tmp.parent.mkdir(parents=True, exist_ok=True)
        ldflags = f"-s -w -X {MODULE}/internal/version.version={VERSION} " + _kube_version_ldflags(Path(info["Dir"]))
        _run([go, "build", "-trimpath", "-ldflags", ldflags, "-o", str(tmp), "./cmd/helm"], info["Dir"], env)
        tmp.replace(binary)
        result = {"binary": str(binary), "version": VERSION, "source": "go build", "seconds": round(time.monotonic() - started, 1),
                  "download_seconds": round(download_seconds, 1), "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        (binary.parent / "build-times.json").write_text(json.dumps(result, indent=2) + "\n")
        return result


def start_build() -> subprocess.Popen | None:
    """Start build() in a background process (stderr to the cache's build.log); None when Go is missing."""
    try:
        go_binary()
    except RuntimeError:
        return None
    cache_dir().mkdir(parents=True, exist_ok=True)
    root = Path(__file__).resolve().parents[2]
    log = (cache_dir() / "build.log").open("a")
    return subprocess.Popen([sys.executable, "-c", "from tests.helpers import helm; helm.build()"], cwd=root, stdout=log, stderr=log,
                            start_new_session=True)


def binary() -> str:
    return build()["binary"]


def chart_dir(module_root: Path, name: str) -> Path:
    """charts/<name> inside a downloaded module; a HelmError when the module zip does not carry it."""
    chart = module_root / "charts" / name
    if not (chart / "Chart.yaml").is_file():
        raise HelmError(f"{module_root} has no charts/{name}/Chart.yaml: the module zip does not carry the chart")
    return chart


def chart_meta(chart: Path) -> dict:
    return yaml.safe_load((chart / "Chart.yaml").read_text())


def envoy_gateway_chart() -> Path:
    """gateway-helm as Envoy Gateway's release packages it, from the source tree of the pinned tag.

    Its tools/make/helm.mk (helm-generate, helm-package): values.yaml is values.tmpl.yaml with the release image and
    pull policy substituted (envsubst), and `helm package --version <tag> --app-version <tag>` stamps Chart.yaml.
    """
    from tests.helpers import envoy_gateway

    version, module_root = envoy_gateway.module()
    target = cache_dir() / "charts" / f"gateway-helm-{version}" / "gateway-helm"
    with build_lock(cache_dir() / "charts" / ".lock"):
        if (target / "values.yaml").is_file():
            return target
        tmp = target.parent / ".tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(chart_dir(module_root, "gateway-helm"), tmp)
        for dirpath, _dirs, _files in os.walk(tmp):
            os.chmod(dirpath, 0o755)
        template = (tmp / "values.tmpl.yaml").read_text()
        values = template.replace("${GatewayImage}", f"docker.io/envoyproxy/gateway:{version}").replace("${GatewayImagePullPolicy}", "IfNotPresent")
        if "${" in values:
            raise HelmError(f"gateway-helm {version}: values.tmpl.yaml has placeholders the release's helm-generate fills that we do not know")
        (tmp / "values.yaml").chmod(0o644) if (tmp / "values.yaml").exists() else None
        (tmp / "values.yaml").write_text(values)
        meta = chart_meta(tmp)
        meta.update(version=version, appVersion=version)
        (tmp / "Chart.yaml").chmod(0o644)
        (tmp / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
        shutil.rmtree(target.parent / "gateway-helm", ignore_errors=True)
        tmp.rename(target)
    return target


def ingress_nginx_chart() -> Path:
    """charts/ingress-nginx of the k8s.io/ingress-nginx module snapshot (tests.helpers.ingress_nginx), as released."""
    from tests.helpers import ingress_nginx

    return chart_dir(ingress_nginx.module_dir(), "ingress-nginx")


def chart_vars() -> dict:
    """Role variables that point both edge roles at the charts from source and the helm built here."""
    eg, nginx = envoy_gateway_chart(), ingress_nginx_chart()
    # A chart directory has no OCI manifest: no digest to check.
    return {"envoy_gateway_chart_ref": str(eg), "envoy_gateway_chart_version": chart_meta(eg)["version"], "envoy_gateway_chart_digest": "",
            "ingress_nginx_chart_ref": str(nginx), "ingress_nginx_chart_repo_url": "", "ingress_nginx_chart_version": chart_meta(nginx)["version"]}


def playbook_env() -> dict[str, str]:
    """Environment of a playbook that installs an edge: the built helm first on PATH, the charts' variables as
    OPENEDX_SCALE_TEST_* (read by the test inventory, tests/rehearsal/inventory/group_vars/all/edge.yml)."""
    env = {"PATH": f"{Path(binary()).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.update({f"OPENEDX_SCALE_TEST_{key.upper()}": value for key, value in chart_vars().items()})
    return env


def uninstall(release: str, namespace: str, kubeconfig: str) -> None:
    """`helm uninstall --wait`: a test's release and every object of it, cluster-scoped RBAC included."""
    _run([binary(), "uninstall", release, "--namespace", namespace, "--kubeconfig", kubeconfig, "--ignore-not-found", "--wait",
          "--timeout", "5m"], "/", dict(os.environ))


def template(chart: Path, release: str, namespace: str, values: dict, workdir: Path, *extra: str) -> list[dict]:
    """`helm template` of `chart` with `values` (as kubernetes.core.helm passes them: a values file); the objects."""
    workdir.mkdir(parents=True, exist_ok=True)
    values_file = workdir / f"{release}-values.yaml"
    values_file.write_text(yaml.safe_dump(values, sort_keys=True))
    cmd = [binary(), "template", release, str(chart), "--namespace", namespace, "--values", str(values_file), *extra]
    env = dict(os.environ, HELM_CACHE_HOME=str(workdir / "helm-cache"), HELM_CONFIG_HOME=str(workdir / "helm-config"),
               HELM_DATA_HOME=str(workdir / "helm-data"))
    out = _run(cmd, workdir, env)
    (workdir / f"{release}-rendered.yaml").write_text(out)
    return [doc for doc in yaml.safe_load_all(out) if doc]


if __name__ == "__main__":
    # `python -m tests.helpers.helm`: the same environment as shell exports (tools/rehearsal.sh).
    for key, value in playbook_env().items():
        print(f"export {key}={shlex.quote(value)}")
