"""The deploy tests share the session's control-plane test bed with tests/integration/kube."""

from __future__ import annotations

from tests.sandbox.kube.fixtures import kube_testbed

# A fixture takes effect by being a name of this conftest.
__all__ = ["kube_testbed"]
