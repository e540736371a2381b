"""Shared paths and a command runner for the quality tier."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def run(cmd: list[str], cwd: Path = REPO, timeout: int = 1800, env: dict | None = None) -> subprocess.CompletedProcess:
    full_env = dict(os.environ)
    full_env["PATH"] = f"{VENV_BIN}:{full_env.get('PATH', '')}"
    full_env.setdefault("ANSIBLE_COLLECTIONS_PATH", str(REPO / "build" / "collections"))
    full_env.update(env or {})
    return subprocess.run(cmd, cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout, check=False)


def roles() -> list[str]:
    return sorted(p.name for p in (REPO / "roles").iterdir() if (p / "tasks").is_dir())


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO
