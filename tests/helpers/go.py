"""Where the Go toolchain is: $GO, then PATH, then the image's /usr/local/go (tools/bootstrap.sh installs none)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path


def go_binary() -> str:
    """Path of the `go` command; a RuntimeError names the fix when there is none."""
    go = os.environ.get("GO") or shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).exists() and not shutil.which(go):
        raise RuntimeError(f"Go toolchain not found ({go}): install Go >= 1.26 or set GO=/path/to/go")
    return go
