"""pytest fixtures for tests that need the Kubernetes test bed.

Import them in a conftest.py (`from tests.sandbox.kube.fixtures import kube_testbed, pytest_terminal_summary`).
`kube_testbed` is session-scoped: one control plane per test session, shared by every test that asks
(and by concurrent sessions on the same checkout). A test bed that is already up and healthy
(`make testbed`) is reused and left running; one a fixture started is stopped by its last user
(KUBE_TESTBED_KEEP=1 keeps it).
The build and start-up times are printed in pytest's terminal summary.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
from pathlib import Path

import pytest

from tests.sandbox.kube.build import TestbedError, last_cold_build
from tests.sandbox.kube.testbed import Testbed

TIMES: dict = {}


@contextlib.contextmanager
def _locked(path: Path, mode: int):
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as fh:
        fcntl.flock(fh, mode)
        try:
            yield fh
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def kube_testbed():
    """A running test bed (tests.sandbox.kube.testbed.Testbed) with the node set KUBE_TESTBED_NODESET (sandbox).

    Several pytest sessions (or several definitions of this fixture in one session) may share the test
    bed: each holds a shared lock on run/users.lock while it uses it, start-up and stop are serialised by
    run/startup.lock, and the last user stops a test bed that a fixture started (never one started by
    `make testbed`, never with KUBE_TESTBED_KEEP=1).
    """
    tb = Testbed()
    nodeset = os.environ.get("KUBE_TESTBED_NODESET", "sandbox")
    t0 = time.monotonic()
    tb.run.mkdir(parents=True, exist_ok=True)
    users = (tb.run / "users.lock").open("a+")
    try:
        with _locked(tb.run / "startup.lock", fcntl.LOCK_EX):
            try:
                result = tb.up(nodeset, reuse=True)
            except TestbedError as exc:
                pytest.fail(f"the Kubernetes test bed did not start: {exc}", pytrace=False)
            if not result["reused"]:
                tb.mark_started_by("pytest")
            fcntl.flock(users, fcntl.LOCK_SH)
        if not TIMES:  # the first user's figures: the one that built and started it
            TIMES.update(result, total_seconds=round(time.monotonic() - t0, 1), nodeset=nodeset, cold=last_cold_build())
        yield tb
    finally:
        with _locked(tb.run / "startup.lock", fcntl.LOCK_EX):
            fcntl.flock(users, fcntl.LOCK_UN)
            try:
                fcntl.flock(users, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                pass  # another session still uses it
            else:
                if tb.state().get("started_by") == "pytest" and not os.environ.get("KUBE_TESTBED_KEEP"):
                    tb.down(quiet=True)
            users.close()


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
            f"{cold.get('cpu_seconds', '?')} CPU-seconds, {cold.get('cpus', '?')} CPUs, load {cold.get('load_before', '?')} before)"
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


def wait_nodes_free(core, timeout: float = 300) -> None:
    """Wait until no pod outside kube-system sits on a node: an earlier test's namespace may still be emptying, and
    the fit checks count every pod on the nodes. Fails naming what holds them."""

    def free():
        return not [p for p in core.list_pod_for_all_namespaces().items if p.spec.node_name and p.metadata.namespace != "kube-system"]

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if free():
            return
        time.sleep(1)
    pytest.fail(f"nodes still hold other tests' pods after {timeout}s:\n{node_usage(core)}", pytrace=False)


def node_usage(core) -> str:
    """Per node: allocatable CPU, the CPU its pods request, and those pods (for failure messages)."""
    from kubernetes.utils import parse_quantity

    pods: dict[str, list] = {}
    for p in core.list_pod_for_all_namespaces().items:
        pods.setdefault(p.spec.node_name or "(pending)", []).append(p)
    lines = []
    for n in core.list_node().items:
        name = n.metadata.name
        mine = pods.get(name, [])
        requested = sum(parse_quantity(((c.resources and c.resources.requests) or {}).get("cpu", "0")) for p in mine for c in p.spec.containers)
        names = ", ".join(f"{p.metadata.namespace}/{p.metadata.name}" for p in mine)
        lines.append(f"{name}: cpu {n.status.allocatable.get('cpu')} allocatable, {requested} requested by [{names}]")
    pending = ", ".join(f"{p.metadata.namespace}/{p.metadata.name}" for p in pods.get("(pending)", []))
    return "\n".join([*lines, f"pending: [{pending}]"])
