"""The deploy tests share the session's control-plane test bed with tests/integration/kube, and one render per
inventory and edge."""

from __future__ import annotations

import pytest

from tests.helpers.ansible import assert_ok
from tests.sandbox.kube.fixtures import kube_testbed

from .test_render import load, render


@pytest.fixture(scope="session")
def edge_render(tmp_path_factory):
    """render(inventory, edge) -> {"dir", "objects", "run"}, rendered once per session."""
    cache = {}

    def get(inventory: str, edge: str):
        if (inventory, edge) not in cache:
            out = tmp_path_factory.mktemp(f"{inventory}-{edge}")
            run = render(inventory, out, openedx_scale_edge=edge)
            assert_ok(run)
            cache[(inventory, edge)] = {"dir": out, "objects": load(out, edge), "run": run}
        return cache[(inventory, edge)]

    return get


# A fixture takes effect by being a name of this conftest.
__all__ = ["edge_render", "kube_testbed"]
