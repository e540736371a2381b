"""Where the Go toolchain is: $GO, then PATH, then the image's /usr/local/go (tools/bootstrap.sh installs none);
and the lock that lets one process at a time build into a cache shared by pytest-xdist workers."""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
from pathlib import Path


def go_binary() -> str:
    """Path of the `go` command; a RuntimeError names the fix when there is none."""
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists() and not shutil.which(go):
        raise RuntimeError(f"Go toolchain not found ({go}): install Go >= 1.26 or set GO=/path/to/go")
    return go


@contextlib.contextmanager
def build_lock(path: Path):
    """Hold an exclusive lock on `path` (created with its directory): the other workers wait, then find the build."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def module_build_env(cache: Path) -> dict[str, str]:
    """The environment that builds a released Go module as it ships (its own go.mod and go.sum, no go.work, no cgo, no
    VCS stamping, the local toolchain), with the module and build caches under `cache` (outside the checkout)."""
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(cache / "gomod"),
        GOCACHE=str(cache / "gobuild"),
        GOTOOLCHAIN="local",
        CGO_ENABLED="0",
        # A module's go.work may name directories its zip does not carry; go.sum is the module's own.
        GOWORK="off",
        GOFLAGS="-buildvcs=false -mod=readonly",
    )
    return env
