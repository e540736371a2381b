"""Shared fixtures for the load-test stage: prerequisites that must fail (not skip) under CI=true."""

from __future__ import annotations

import os
import shutil

import pytest

# The seed play's test runs on the session's Kubernetes test bed (shared with tests/integration/kube and deploy).
from tests.sandbox.kube.fixtures import kube_testbed

__all__ = ["kube_testbed", "nspawn_host", "require"]


def require(ok: bool, why: str) -> None:
    """Skip locally when a prerequisite is missing, but fail under CI where nothing may be skipped."""
    if ok:
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"prerequisite missing under CI: {why}")
    pytest.skip(why)


@pytest.fixture(scope="session")
def nspawn_host() -> None:
    require(os.geteuid() == 0, "systemd-nspawn machines need root")
    require(shutil.which("systemd-nspawn") is not None, "systemd-nspawn missing: make bootstrap (systemd-container)")
    require(shutil.which("debootstrap") is not None, "debootstrap missing: make bootstrap")
