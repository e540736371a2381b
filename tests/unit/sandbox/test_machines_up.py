"""Machines.up: a machine whose systemd-nspawn ends at once is started once more; a second early exit is an error."""

from __future__ import annotations

import pytest

from tests.sandbox.machines.core import Machine, MachineExited, Machines


class Recorder(Machines):
    """Machines with the host side (nspawn, mounts, namespaces) replaced by a script of boot outcomes."""

    def __init__(self, tmp_path, outcomes):
        super().__init__(base_dir=tmp_path)
        self.outcomes = list(outcomes)
        self.events = []

    def check_host(self):
        pass

    def ensure_rootfs(self, log=print):
        pass

    def get(self, name):
        return None

    def _start(self, name, cpus):
        self.events.append(("start", name))
        return Machine(name=name, ip="10.199.57.10", cpus=cpus, pid=0)

    def _wait_ready(self, m, deadline):
        outcome = self.outcomes.pop(0)
        self.events.append(("wait", m.name, outcome))
        if outcome == "exited":
            raise MachineExited(f"machine {m.name} exited while booting (exit status 1); console log x:\n")

    def _remove(self, m):
        self.events.append(("remove", m.name))

    def down(self, names=None, timeout=30.0):
        self.events.append(("down", list(names or [])))
        return list(names or [])


def test_an_early_exit_is_started_once_more(tmp_path):
    mgr = Recorder(tmp_path, ["exited", "ready"])
    lines = []
    mgr.up(["vm-a"], cpus=1, log=lines.append)
    assert mgr.events == [("start", "vm-a"), ("wait", "vm-a", "exited"), ("remove", "vm-a"), ("start", "vm-a"), ("wait", "vm-a", "ready")]
    assert lines and "starting it once more" in lines[-1]


def test_two_early_exits_fail_and_roll_back(tmp_path):
    mgr = Recorder(tmp_path, ["exited", "exited"])
    with pytest.raises(MachineExited):
        mgr.up(["vm-a"], cpus=1, log=lambda *_: None)
    assert mgr.events[-1] == ("down", ["vm-a"])  # what this call booted is rolled back


def test_fast_clock_waits_for_a_boot_in_flight():
    """A client's virtual sleep gives a real boot some real time (bounded), so a poll loop cannot outrun it."""
    import threading
    import time

    from tests.sandbox.oci.hooks import Hooks
    from tests.sandbox.oci.scenario import BootHook

    release = threading.Event()
    hooks = Hooks(BootHook(python=None, kinds=["instance"]), "10.0.10.0/24", "10.0.20.0/24", python_callable=lambda event: release.wait(10) and "10.0.10.9")
    try:
        future = hooks.boot("instance", {"displayName": "vm"})
        started = time.monotonic()
        hooks.wait_idle(0.3)  # the boot is still running: bounded wait
        assert 0.25 <= time.monotonic() - started < 2 and not future.done()
        release.set()
        hooks.wait_idle(5)
        assert future.done() and future.result()["private_ip"] == "10.0.10.9"
        started = time.monotonic()
        hooks.wait_idle(5)  # nothing in flight: no wait at all
        assert time.monotonic() - started < 0.1
    finally:
        hooks.close()
