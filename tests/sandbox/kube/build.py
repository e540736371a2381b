"""Build the test bed's binaries: kube-apiserver, kube-controller-manager, kube-scheduler and etcd (one Go module,
go/kubernetes: k8s.io/kubernetes v1.35.4) and kwok (go/kwok), from the Go module proxy, cached outside the checkout.

Standard library only, so `make rehearsal` starts it with any python3 before `make bootstrap` has made the .venv:
    python3 -m tests.sandbox.kube.build [--force] [--progress SECONDS]
One build at a time per cache (a lock in the cache directory): a second caller waits, then takes the cached binaries.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from tests.helpers.go import build_lock
from tests.helpers.go import go_binary as find_go

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
K8S_VERSION = "v1.35.4"

# binary name -> (Go module directory under go/, package path)
BINARIES = {
    "kube-apiserver": ("kubernetes", "k8s.io/kubernetes/cmd/kube-apiserver"),
    "kube-controller-manager": ("kubernetes", "k8s.io/kubernetes/cmd/kube-controller-manager"),
    "kube-scheduler": ("kubernetes", "k8s.io/kubernetes/cmd/kube-scheduler"),
    "etcd": ("kubernetes", "go.etcd.io/etcd/server/v3"),
    "kwok": ("kwok", "sigs.k8s.io/kwok/cmd/kwok"),
}
# CPU time a cold build of these binaries took here (docs/testbed.md: 1097 CPU-seconds, Go 1.26, cold Go caches): with
# no cold build recorded on this host, the expected wall time is this over the host's cores at 90 %.
COLD_BUILD_CPU_SECONDS = 1100


class TestbedError(RuntimeError):
    """Something the test bed could not do; the message says what and where to look."""

    __test__ = False  # not a pytest test class, despite the name


def state_dir() -> Path:
    return Path(os.environ.get("KUBE_TESTBED_DIR", REPO / "build" / "kube")).resolve()


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openedx-scale-kube"
    return Path(os.environ.get("KUBE_TESTBED_CACHE", default)).resolve()


def go_binary() -> str:
    try:
        return find_go()
    except RuntimeError as exc:
        raise TestbedError(str(exc)) from None


def log(msg: str) -> None:
    print(f"[testbed] {msg}", file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- build


def _ldflags() -> str:
    # What the /version endpoint reports (the release's own build sets the same variables).
    flags = ["-s", "-w"]
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        major, minor = K8S_VERSION.lstrip("v").split(".")[:2]
        flags += [f"-X={pkg}.gitVersion={K8S_VERSION}", f"-X={pkg}.gitMajor={major}", f"-X={pkg}.gitMinor={minor}", f"-X={pkg}.gitTreeState=clean"]
    return " ".join(flags)


def go_env() -> dict[str, str]:
    cache = cache_dir()
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(cache / "gomod"),
        GOCACHE=str(cache / "gobuild"),
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
        # -mod=readonly: the committed go.sum is the only source of truth for module hashes.
        GOFLAGS="-buildvcs=false -mod=readonly",
    )
    return env


def build_key() -> str:
    """Identity of a build: module files, Go version and flags. Same key, same binaries."""
    h = hashlib.sha256()
    go_version = subprocess.run([go_binary(), "version"], capture_output=True, text=True, check=True).stdout.strip()
    h.update(go_version.encode())
    h.update(_ldflags().encode())
    for module in sorted({entry[0] for entry in BINARIES.values()}):
        for name in ("go.mod", "go.sum"):
            h.update((HERE / "go" / module / name).read_bytes())
    return h.hexdigest()[:16]


def _built_name(pkg: str) -> str:
    # `go build -o dir/` names a binary after the package path's last element, skipping a /vN suffix.
    parts = pkg.split("/")
    return parts[-2] if re.fullmatch(r"v\d+", parts[-1]) else parts[-1]


def build(force: bool = False) -> dict:
    """Make build/kube/bin hold the binaries; return where they came from and how long it took."""
    bindir = state_dir() / "bin"
    key = build_key()
    keyfile = bindir / ".key"
    if not force and keyfile.is_file() and keyfile.read_text().strip() == key and all((bindir / b).is_file() for b in BINARIES):
        return {"source": "ready", "key": key, "seconds": 0.0}
    bindir.mkdir(parents=True, exist_ok=True)
    cached = cache_dir() / "bin" / key
    started = time.monotonic()
    result: dict = {"key": key}
    # Another checkout (or the rehearsal's background build) may be building the same key: wait, then take its binaries.
    with build_lock(cache_dir() / ".lock"):
        return _build_locked(force, key, cached, bindir, keyfile, started, result)


def _build_locked(force: bool, key: str, cached: Path, bindir: Path, keyfile: Path, started: float, result: dict) -> dict:
    if force or not all((cached / b).is_file() for b in BINARIES):
        load_before = os.getloadavg()[0]
        ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        result.update(_go_build(cached))
        ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        result["source"] = "go build"
        # CPU time is what a cold build costs whatever the machine's load: wall time ≈ cpu_seconds / cores.
        result["cpu_seconds"] = round(ru1.ru_utime + ru1.ru_stime - ru0.ru_utime - ru0.ru_stime, 1)
        # Kept with the binaries, so warm runs can still print what the cold build cost.
        cold = dict(
            result,
            seconds=round(time.monotonic() - started, 1),
            cpus=os.cpu_count(),
            load_before=round(load_before, 1),
            at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        )
        (cached / "build-times.json").write_text(json.dumps(cold, indent=2) + "\n")
    else:
        result["source"] = "binary cache"
    for b in BINARIES:
        tmp = bindir / f".{b}.tmp"
        shutil.copy2(cached / b, tmp)
        tmp.replace(bindir / b)
    keyfile.write_text(key + "\n")
    result["seconds"] = round(time.monotonic() - started, 1)
    (state_dir() / "build-times.json").write_text(json.dumps(result, indent=2) + "\n")
    return result


def last_cold_build() -> dict | None:
    """Timings of the `go build` that produced the current binaries (None if unknown)."""
    try:
        return json.loads((cache_dir() / "bin" / build_key() / "build-times.json").read_text())
    except (OSError, ValueError, TestbedError):
        return None


def expected_seconds() -> int:
    """How long a cold build should take on this host: the last one recorded here, else from COLD_BUILD_CPU_SECONDS
    (more on a busy host)."""
    last = last_cold_build()
    if last and last.get("seconds"):
        return int(last["seconds"])
    return int(COLD_BUILD_CPU_SECONDS / (0.9 * (os.cpu_count() or 1)))


def is_built() -> bool:
    """The binaries are cached for the current key (or copied into this checkout): `up` starts without a Go build."""
    dirs = [cache_dir() / "bin" / build_key(), state_dir() / "bin"]
    return any(all((d / b).is_file() for b in BINARIES) for d in dirs)


def _go_build(dest: Path) -> dict:
    go, env = go_binary(), go_env()
    for d in ("gomod", "gobuild"):
        (cache_dir() / d).mkdir(parents=True, exist_ok=True)
    logdir = state_dir() / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    out = Path(tempfile.mkdtemp(prefix="bin-", dir=cache_dir()))
    times = {"download_seconds": 0.0, "compile_seconds": 0.0}
    modules: dict[str, list[str]] = {}
    for module, pkg in BINARIES.values():
        modules.setdefault(module, []).append(pkg)
    try:
        for module, pkgs in modules.items():
            moddir = HERE / "go" / module
            build_log = logdir / f"build-{module}.log"
            # One `go build` per module: packages shared by the four control-plane binaries compile once,
            # and go schedules package compiles over all cores (-p = GOMAXPROCS) by itself.
            steps = (
                ("download_seconds", [go, "mod", "download", "-x"]),
                ("compile_seconds", [go, "build", "-trimpath", f"-ldflags={_ldflags()}", "-o", str(out) + "/", *pkgs]),
            )
            for label, cmd in steps:
                log(f"{module}: {' '.join(cmd[:3])} ... (log: {build_log})")
                t0 = time.monotonic()
                with build_log.open("a") as fh:
                    fh.write(f"$ {' '.join(cmd)}\n")
                    fh.flush()
                    rc = subprocess.run(cmd, cwd=moddir, env=env, stdout=fh, stderr=subprocess.STDOUT, check=False).returncode
                times[label] += time.monotonic() - t0
                if rc != 0:
                    tail = "".join(build_log.read_text().splitlines(keepends=True)[-30:])
                    raise TestbedError(f"{' '.join(cmd)} failed in {moddir} (rc={rc}); end of {build_log}:\n{tail}")
            for pkg in pkgs:
                name = next(b for b, (m, p) in BINARIES.items() if p == pkg)
                if _built_name(pkg) != name:
                    (out / _built_name(pkg)).rename(out / name)
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            shutil.rmtree(dest)
        out.rename(dest)
    finally:
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
    return {k: round(v, 1) for k, v in times.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python3 -m tests.sandbox.kube.build", description=__doc__.splitlines()[0])
    parser.add_argument("--force", action="store_true", help="rebuild even if cached")
    parser.add_argument("--check", action="store_true", help="only say whether the binaries are built (exit 0) or not (exit 3)")
    parser.add_argument("--progress", type=float, default=0, metavar="SECONDS", help="print a progress line this often")
    args = parser.parse_args(argv)
    try:
        if args.check:
            return 0 if is_built() else 3
        done = threading.Event()
        if args.progress > 0 and (args.force or not is_built()):
            expected, t0 = expected_seconds(), time.monotonic()
            log(f"building kube-apiserver, etcd, controller-manager, scheduler and kwok in the background: about {expected // 60} min (cold)")

            def progress() -> None:
                while not done.wait(args.progress):
                    spent = time.monotonic() - t0
                    log(f"build: {spent / 60:.1f} of about {expected / 60:.0f} min (load {os.getloadavg()[0]:.1f}; log: {state_dir() / 'logs'})")

            threading.Thread(target=progress, daemon=True).start()
        result = build(force=args.force)
        done.set()
        print(json.dumps(result))
    except TestbedError as exc:
        print(f"testbed build: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
