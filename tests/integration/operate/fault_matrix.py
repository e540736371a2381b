"""Fault matrix: each row drives the real playbooks (ansible-runner, as AWX) against an OCI sandbox whose
scenario injects one fault, then tears down and checks the sandbox and the host.

A row records what happened (outcome, duplicates, leaks, evidence that the fault really fired) and the
`problems` that make its test fail; conftest.py prints every row as one table at the end of the session.
"""

from __future__ import annotations

import collections
import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from tests.helpers.ansible import COLLECTIONS, REPO, PlaybookRun, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.machines import hooks
from tests.sandbox.machines.core import Machines, host_leftovers
from tests.sandbox.oci import OciSandbox

SCENARIOS = Path(__file__).resolve().parent / "scenarios"
PLAYBOOKS = REPO / "playbooks"
OURS = "openedx_scale_managed_by"
OWNERSHIP = ("openedx_scale_managed_by", "openedx_scale_deployment", "openedx_scale_component", "openedx_scale_role")
GONE = {"DELETED", "TERMINATED", "DETACHED"}
NAME_KEY = {"clusters": "name", "node_pools": "name", "instances": "displayName", "capacity_reservations": "displayName",
            "db_systems": "displayName"}
# Sandbox time that may pass after teardown before a leak counts as permanent (reported, never hidden).
GRACE_SECONDS = 3600

# Rows finished so far (key -> RowResult), read by conftest.py's terminal summary.
RESULTS: dict[str, RowResult] = {}
_LOCK = threading.Lock()


@dataclass
class RowResult:
    key: str
    fault: str
    outcome: str = "not run"
    duplicates: list[str] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)
    evidence: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0
    logs: dict[str, str] = field(default_factory=dict)

    def check(self, ok: bool, problem: str) -> bool:
        if not ok:
            self.problems.append(problem)
        return ok


# ------------------------------------------------------------------ machines booted by the sandbox
def machine_name(resource: dict) -> str:
    """`fm-<display name>-<run id + sequence>`: this matrix's machines, never a concurrent rehearsal's."""
    return hooks.machine_name(resource, prefix="fm-")


def boot_machine(event: dict) -> dict:
    """OCI sandbox boot hook: one nspawn machine (1 CPU) per launched instance."""
    return hooks.boot(event, prefix="fm-", cpus=1)


def destroy_machine(event: dict) -> None:
    hooks.destroy(event, prefix="fm-")


def vanish(name: str) -> None:
    """Kill a machine as a crashed VM dies: every process in it, then its network (its address stops answering)."""
    m = Machines().get(name)
    assert m is not None, f"machine {name} is not there to kill"
    pids = subprocess.run(["ip", "netns", "pids", m.netns], capture_output=True, text=True, check=False).stdout.split()
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGKILL)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(m.pid, signal.SIGKILL)
    subprocess.run(["ip", "netns", "del", m.netns], check=False, capture_output=True)


# ------------------------------------------------------------------ one sandbox per row
class Stage:
    """An OCI sandbox serving one scenario, and the env/extravars that point the playbooks at it."""

    def __init__(self, scenario: str, workdir: Path):
        self.workdir = workdir
        self.sb = OciSandbox(SCENARIOS / f"{scenario}.yaml", workdir / "sandbox", clock="fast").start()
        self.env = {**self.sb.env(), "OCI_SANDBOX_ENDPOINT": self.sb.url, "PATH": f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"}
        self.extravars = {
            "openedx_scale_oci_auth": {"config_file": self.sb.config_file, "profile": "DEFAULT"},
            "openedx_scale_kubeconfig": str(workdir / "kubeconfig"),
            "oke_cluster_progress_dir": str(workdir / "progress"),
            "loadgen_vms_progress_dir": str(workdir / "progress"),
        }

    def play(self, name: str, inventory: list | None = None, **extra) -> PlaybookRun:
        return run_playbook(PLAYBOOKS / f"{name}.yml", inventory=inventory, extravars={**self.extravars, **extra}, envvars=self.env, timeout=900)

    def loadgen_inventory(self) -> list[Path]:
        """The inventory a load-test job of its own uses: the rehearsal's, plus the VMs as the oci_loadgen inventory
        plugin lists them from this sandbox (by ownership tags), with the SSH user provisioning gives them."""
        src = self.workdir / "loadgen-inventory"
        src.mkdir(exist_ok=True)
        plugin = {"plugin": "openedx_scale.oke.oci_loadgen", "deployment": "rehearsal", "compartment_id": "ocid1.compartment.oc1..aaaaaaaasandboxcompartment",
                  "config_file": str(self.sb.config_file), "profile": "DEFAULT", "service_endpoint": self.sb.url}
        (src / "oci_loadgen.yml").write_text(json.dumps(plugin), encoding="utf-8")
        ssh = {group: {"vars": {"ansible_user": "root"}} for group in ("locust_master", "locust_workers")}
        (src / "ssh.yml").write_text(json.dumps(ssh), encoding="utf-8")
        return [inventory_path("sandbox"), src / "oci_loadgen.yml", src / "ssh.yml"]

    def state(self) -> dict:
        return self.sb.state()

    def faults(self, status: int | None = None, operation: str | None = None) -> list[dict]:
        with self.sb.store.lock:
            fired = list(self.sb.store.faults_fired)
        return [f for f in fired if (status is None or f["status"] == status) and (operation is None or f["operation"] == operation)]

    def machine_names(self) -> list[str]:
        """Machines this sandbox's boot hook may have brought up (one per instance ever launched)."""
        if not self.sb.scenario.boot_hook.python:
            return []
        return [machine_name(i) for i in self.state()["resources"]["instances"].values()]

    def stop(self) -> None:
        self.sb.stop()


# ------------------------------------------------------------------ reading runs and state
def failure_message(run: PlaybookRun) -> str:
    """The first failure's message (unreachable host, failed task, or failed loop item), else the stdout tail."""
    for ev in run.events:
        if ev.get("event") not in ("runner_on_failed", "runner_on_unreachable"):
            continue
        data = ev.get("event_data", {})
        res = data.get("res", {})
        msg = res.get("msg") or ""
        for item in res.get("results") or []:
            if item.get("failed") and item.get("msg"):
                msg = item["msg"]
                break
        kind = "UNREACHABLE" if ev["event"] == "runner_on_unreachable" else "FAILED"
        return f"{kind} [{data.get('host')}] {data.get('task')}: {msg}"
    return run.stdout.strip().splitlines()[-1] if run.stdout.strip() else f"rc={run.rc}"


def outcome_of(run: PlaybookRun) -> str:
    return "completed" if run.rc == 0 else f"failed: {failure_message(run)}"


def live(state: dict, kind: str) -> list[dict]:
    return [r for r in state["resources"][kind].values() if r.get("lifecycleState") not in GONE and OURS in (r.get("freeformTags") or {})]


def duplicates(state: dict) -> list[str]:
    """Live resources sharing a name and the same ownership tags (what a retried or repeated create would leave)."""
    out = []
    for kind, key in NAME_KEY.items():
        seen = collections.Counter((r.get(key), tuple((r.get("freeformTags") or {}).get(t) for t in OWNERSHIP)) for r in live(state, kind))
        out += [f"{count}x {kind[:-1]} {name}" for (name, _tags), count in seen.items() if count > 1]
    return out


def ready_nodes(state: dict) -> dict[str, int]:
    """ACTIVE nodes without error per pool label value (lms / services)."""
    counts: dict[str, int] = collections.Counter()
    for pool in live(state, "node_pools"):
        labels = {kv["key"]: kv["value"] for kv in pool.get("initialNodeLabels") or []}
        role = labels.get("openedx-scale/pool", "?")
        counts[role] += sum(1 for n in pool.get("nodes") or [] if n.get("lifecycleState") == "ACTIVE" and not n.get("nodeError"))
    return dict(counts)


def vm_names(state: dict) -> list[str]:
    return sorted(i["displayName"] for i in live(state, "instances") if i["freeformTags"].get("openedx_scale_component") == "instance")


def sandbox_leftovers(state: dict) -> list[str]:
    """Anything still alive in the sandbox, and capacity not returned to its pool."""
    out = []
    for kind, items in state["resources"].items():
        alive = [r for r in items.values() if r.get("lifecycleState") not in GONE]
        if alive:
            states = collections.Counter(r.get("lifecycleState") for r in alive)
            out.append(f"{len(alive)} {kind} ({', '.join(f'{n} {s}' for s, n in sorted(states.items()))})")
    for pool in state["capacity"]:
        if pool["free_ocpus"] != pool["initial_ocpus"] or pool["free_memory_gbs"] != pool["initial_memory_gbs"]:
            out.append(f"capacity {pool['shape']}@{pool['fault_domain']}: {pool['initial_ocpus'] - pool['free_ocpus']:g} OCPU not returned")
    return out


def machine_leftovers(names: list[str]) -> list[str]:
    if not names:
        return []
    mgr = Machines()
    present = [n for n in names if mgr.get(n) is not None]
    ips = [m.ip for m in (mgr.get(n) for n in present) if m]
    left = host_leftovers(names, ips)
    out = [f"machine {n}" for n in present]
    out += [f"{what} {', '.join(items)}" for what, items in left.items() if items]
    return out


def _leak_summary(leaks: list[str]) -> list[str]:
    """The table's short form: resources and machines left, OCPUs not returned."""
    kinds = [leak for leak in leaks if re.match(r"^\d+ (clusters|node_pools|instances|capacity_reservations) ", leak)]
    held = sum(float(m.group(1)) for leak in leaks if (m := re.search(r": ([0-9.]+) OCPU not returned", leak)))
    machines = [leak for leak in leaks if leak.startswith("machine ")]
    out = list(kinds)
    if held:
        out.append(f"{held:g} OCPU held")
    if machines:
        out.append(f"{len(machines)} machine(s)")
    return out or leaks


def force_remove_machines(names: list[str]) -> None:
    """Last-resort cleanup so a failing row leaves nothing on this host (its failure is already recorded)."""
    mgr = Machines()
    for name in names:
        m = mgr.get(name)
        if m is None:
            continue
        pids = subprocess.run(["ip", "netns", "pids", m.netns], capture_output=True, text=True, check=False).stdout.split()
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(int(pid), signal.SIGKILL)
        mgr.down([name])


# ------------------------------------------------------------------ the row frame: fault, teardown, leak check
def run_row(key: str, fault: str, scenario: str, body, workdir: Path) -> RowResult:
    """Start the row's sandbox, run `body(stage, result)`, then teardown.yml and the leak checks, whatever happened."""
    result = RowResult(key, fault)
    t0 = time.monotonic()
    stage = None
    try:
        stage = Stage(scenario, workdir)
        body(stage, result)
    except Exception as exc:  # the row's own failure is recorded; teardown and cleanup still run
        result.problems.append(f"{type(exc).__name__}: {exc}")
        if result.outcome == "not run":
            result.outcome = f"error: {type(exc).__name__}: {exc}"
    finally:
        if stage is not None:
            try:
                teardown(stage, result)
            except Exception as exc:
                result.problems.append(f"teardown check: {type(exc).__name__}: {exc}")
            finally:
                stage.stop()
        result.seconds = time.monotonic() - t0
        with _LOCK:
            RESULTS[key] = result
    return result


def teardown(stage: Stage, result: RowResult) -> None:
    run = stage.play("teardown")
    result.logs["teardown"] = run.stdout[-6000:]
    result.check(run.rc == 0, f"teardown.yml failed: {failure_message(run)}")
    names = stage.machine_names()
    leaks = sandbox_leftovers(stage.state()) + machine_leftovers(names)
    if leaks:
        # Is it only time (work that completes on its own) or something nobody deletes? Let sandbox time pass.
        stage.sb.advance(GRACE_SECONDS)
        deadline = time.monotonic() + 60
        later = sandbox_leftovers(stage.state()) + machine_leftovers(names)
        while later and time.monotonic() < deadline:  # terminate hooks remove machines in worker threads
            time.sleep(1)
            later = sandbox_leftovers(stage.state()) + machine_leftovers(names)
        note = f"still there after +{GRACE_SECONDS}s sandbox time" if later else f"gone after +{GRACE_SECONDS}s sandbox time"
        result.leaks = [*_leak_summary(leaks), note]
        result.problems.append(f"teardown.yml left: {'; '.join(leaks)} ({note})")
    force_remove_machines(names)
    if names:
        after = machine_leftovers(names)
        result.check(not after, f"machines still on the host after cleanup: {after}")


# ------------------------------------------------------------------ Ctrl-C: ansible-playbook as a terminal runs it
def interrupted_playbook(stage: Stage, name: str, when, timeout: float = 300) -> tuple[int, str, bool]:
    """Run `ansible-playbook` in its own process group and send SIGINT to the group (what Ctrl-C in a terminal
    does) as soon as `when()` is true. Returns (rc, output, interrupted)."""
    vars_file = stage.workdir / f"{name}-extravars.json"
    vars_file.write_text(json.dumps(stage.extravars), encoding="utf-8")
    env = {
        **os.environ,
        **stage.env,
        "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "false",
        "ANSIBLE_NOCOLOR": "true",
    }
    log = stage.workdir / f"{name}-interrupted.log"
    inventory = inventory_path("sandbox")
    cmd = [str(Path(sys.executable).parent / "ansible-playbook"), "-i", str(inventory), str(PLAYBOOKS / f"{name}.yml"), "-e", f"@{vars_file}"]
    interrupted = False
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while proc.poll() is None and time.monotonic() < deadline:
                if when():
                    os.killpg(proc.pid, signal.SIGINT)
                    interrupted = True
                    break
                time.sleep(0.1)
            proc.wait(timeout=120)
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
    return proc.returncode, log.read_text(encoding="utf-8", errors="replace"), interrupted


# ------------------------------------------------------------------ the table
def table(results: list[RowResult]) -> str:
    rows = [("fault", "outcome", "duplicates", "leaks", "s")]
    for r in results:
        rows.append((r.fault, _short(r.outcome, 100), ", ".join(r.duplicates) or "none", _short("; ".join(r.leaks) or "none", 110), f"{r.seconds:.0f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def _short(text: str, n: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 3] + "..."
