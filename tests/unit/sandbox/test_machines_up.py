"""Machines.up: a machine whose systemd-nspawn ends at once is started once more, a boot unit that failed is started
once more; failing a second time is an error."""

from __future__ import annotations

import subprocess
import time

import pytest

from tests.sandbox.machines.core import Machine, MachineError, MachineExited, Machines


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

    def _wait_ready(self, m, deadline, log=print):
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
        assert 0.25 <= time.monotonic() - started < 4 and not future.done()
        release.set()
        hooks.wait_idle(5)
        assert future.done() and future.result()["private_ip"] == "10.0.10.9"
        started = time.monotonic()
        hooks.wait_idle(5)  # nothing in flight: no wait at all
        assert time.monotonic() - started < 1
    finally:
        hooks.close()


class ScriptedSystemd(Machines):
    """Machines whose ssh answers from a script of systemd states; records every remote command."""

    def __init__(self, tmp_path, states, failed, restart_helps=True):
        super().__init__(base_dir=tmp_path)
        self.states, self.failed, self.restart_helps, self.commands = list(states), failed, restart_helps, []

    def ssh(self, m, *remote, timeout=60):
        self.commands.append(remote)
        out = ""
        if remote[:2] == ("systemctl", "is-system-running"):
            out = self.states.pop(0)
        elif remote[:2] == ("systemctl", "--failed"):
            out = "".join(f"{u} loaded failed failed Some unit\n" for u in self.failed)
        elif remote[:2] == ("systemctl", "restart") and self.restart_helps:
            self.failed = []
        return subprocess.CompletedProcess(remote, 0, out + "\n", "")


VM = Machine(name="vm-a", ip="10.199.57.10", cpus=1, pid=0)


def test_a_degraded_boot_restarts_only_the_failed_units_once(tmp_path):
    mgr = ScriptedSystemd(tmp_path, ["degraded", "running"], ["systemd-tmpfiles-setup-dev.service"])
    lines = []
    mgr._settle_systemd(VM, time.monotonic() + 30, log=lines.append)
    assert ("systemctl", "restart", "systemd-tmpfiles-setup-dev.service") in mgr.commands
    assert ("systemctl", "reset-failed", "systemd-tmpfiles-setup-dev.service") in mgr.commands
    assert "systemd-tmpfiles-setup-dev.service" in lines[0] and "once more" in lines[0]


def test_a_unit_that_fails_again_is_an_error_naming_it(tmp_path):
    mgr = ScriptedSystemd(tmp_path, ["degraded", "degraded"], ["ssh.service"], restart_helps=False)
    with pytest.raises(MachineError, match=r"systemd is 'degraded', failed units:\nssh.service loaded failed"):
        mgr._settle_systemd(VM, time.monotonic() + 30, log=lambda *_: None)
    assert sum(1 for c in mgr.commands if c[1] == "restart") == 1  # once, not in a loop


def test_a_clean_boot_runs_nothing_else(tmp_path):
    mgr = ScriptedSystemd(tmp_path, ["running"], [])
    mgr._settle_systemd(VM, time.monotonic() + 30, log=lambda *_: None)
    assert mgr.commands == [("systemctl", "is-system-running", "--wait")]
