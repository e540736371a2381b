"""pytest fixtures for tests that need the Kubernetes test bed.

Import them in a conftest.py (`from tests.sandbox.kube.fixtures import kube_testbed, pytest_terminal_summary`).
`kube_testbed` is session-scoped: one control plane per test session, shared by every test that asks.
A test bed that is already up and healthy (`make testbed`) is reused and left running; one the fixture
started is stopped at the end of the session (KUBE_TESTBED_KEEP=1 keeps it).
The build and start-up times are printed in pytest's terminal summary.
"""

from __future__ import annotations

import os
import time

import pytest

from tests.sandbox.kube.testbed import Testbed, TestbedError, last_cold_build

TIMES: dict = {}


@pytest.fixture(scope="session")
def kube_testbed():
    """A running test bed (tests.sandbox.kube.testbed.Testbed) with the node set KUBE_TESTBED_NODESET (sandbox)."""
    tb = Testbed()
    nodeset = os.environ.get("KUBE_TESTBED_NODESET", "sandbox")
    t0 = time.monotonic()
    try:
        result = tb.up(nodeset, reuse=True)
    except TestbedError as exc:
        pytest.fail(f"the Kubernetes test bed did not start: {exc}", pytrace=False)
    TIMES.update(result, total_seconds=round(time.monotonic() - t0, 1), nodeset=nodeset, cold=last_cold_build())
    yield tb
    if not result["reused"] and not os.environ.get("KUBE_TESTBED_KEEP"):
        tb.down(quiet=True)


def pytest_terminal_summary(terminalreporter):
    if not TIMES:
        return
    b = TIMES["build"]
    tr = terminalreporter
    tr.section("Kubernetes test bed")
    if TIMES["reused"]:
        tr.write_line(f"reused a running test bed ({TIMES['total_seconds']} s to check it and apply node set {TIMES['nodeset']})")
    else:
        detail = f" (download {b['download_seconds']} s, compile {b['compile_seconds']} s)" if b["source"] == "go build" else ""
        tr.write_line(f"binaries: {b['source']} in {b['seconds']} s{detail}")
        tr.write_line(f"start-up: {TIMES['up_seconds']} s (control plane + {TIMES['nodeset']} nodes Ready); total {TIMES['total_seconds']} s")
    cold = TIMES.get("cold")
    if cold:
        tr.write_line(
            f"last cold build of these binaries: {cold['seconds']} s (download {cold['download_seconds']} s, compile {cold['compile_seconds']} s, "
            f"{cold.get('cpus', '?')} CPUs, load {cold.get('load_before', '?')} before)"
        )


def wait_for(check, timeout: float, what: str, interval: float = 0.5):
    """Poll `check` until it returns something truthy and return that; fail naming `what` after `timeout` s."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})", pytrace=False)
