"""The deploy tests share the session's control-plane test bed with tests/integration/kube, and one render per
inventory and edge."""

from __future__ import annotations

import time

import pytest

from tests.helpers import envoy_gateway, ingress_nginx
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
__all__ = ["edge_render", "envoy_gateway_check", "ingress_nginx_check", "kube_testbed"]


@pytest.fixture(scope="session")
def ingress_nginx_check(request):
    """ingress-nginx's own annotation parsers and ConfigMap reader (tests.helpers.ingress_nginx), built once."""
    started = time.monotonic()
    checker = ingress_nginx.checker()
    what = f"ingress-nginx check ({ingress_nginx.MODULE}@{ingress_nginx.MODULE_VERSION})"
    request.config.stash.setdefault(BUILD_TIMES, []).append(dict(checker.build, fixture_seconds=round(time.monotonic() - started, 1), what=what))
    return checker


@pytest.fixture(scope="session")
def envoy_gateway_check(request):
    """Envoy Gateway's own translator, egctl (tests.helpers.envoy_gateway), built once."""
    started = time.monotonic()
    checker = envoy_gateway.checker()
    times = dict(checker.build, fixture_seconds=round(time.monotonic() - started, 1), what=f"egctl ({envoy_gateway.MODULE}@{checker.build['version']})")
    request.config.stash.setdefault(BUILD_TIMES, []).append(times)
    return checker


BUILD_TIMES = pytest.StashKey[list]()


def pytest_terminal_summary(terminalreporter, config):
    for times in config.stash.get(BUILD_TIMES, []):
        terminalreporter.write_line(f"{times['what']}: {times['source']}, {times['seconds']} s")
