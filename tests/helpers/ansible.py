"""Run playbooks the way AWX does (ansible-runner, private data dir) and read back what happened."""

from __future__ import annotations

import functools
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner

from tests.helpers import helm
from tests.rehearsal import INVENTORY as REHEARSAL_INVENTORY

REPO = Path(__file__).resolve().parents[2]
# The test environment's executables (ansible-playbook, tutor, kubectl): the .venv's, next to this interpreter.
VENV_BIN = REPO / ".venv" / "bin"
# ansible-runner starts `ansible-playbook` from PATH: use the one next to this interpreter (the .venv's).
os.environ["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
COLLECTIONS = REPO / "build" / "collections"


@functools.cache
def load_collections() -> None:
    """Let in-process templating (Templar, InventoryManager) find this collection's filters and lookups, as
    ansible-playbook does; once per process, whichever test module asks first."""
    from ansible.plugins.loader import init_plugin_loader

    init_plugin_loader([str(COLLECTIONS)])


@dataclass
class PlaybookRun:
    """Outcome of one playbook run: return code, per-host stats and every task result."""

    rc: int
    status: str
    stats: dict
    stdout: str
    events: list = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(self.stats.get("changed", {}).values())

    @property
    def failed(self) -> int:
        return sum(self.stats.get("failures", {}).values()) + sum(self.stats.get("dark", {}).values())

    def results(self, task_name: str) -> list[dict]:
        """Module results of every host for the task named `task_name` (ok, changed or failed)."""
        out = []
        for ev in self.events:
            data = ev.get("event_data", {})
            if ev.get("event") in ("runner_on_ok", "runner_on_failed") and data.get("task") == task_name:
                out.append(data.get("res", {}))
        return out


# Playbooks that install an edge (Helm charts): they run with tests.helpers.helm's helm and charts.
EDGE_PLAYBOOKS = {"deploy_openedx.yml", "site.yml", "rehearsal.yml"}


def run_playbook(
    playbook: str | os.PathLike,
    inventory: str | os.PathLike | list | None = None,
    extravars: dict | None = None,
    envvars: dict | None = None,
    check: bool = False,
    verbosity: int = 0,
    tags: str | None = None,
    limit: str | None = None,
    timeout: int | None = None,
    keep_dir: bool = False,
    extra_args: list[str] | None = None,
) -> PlaybookRun:
    """Run `playbook` through ansible-runner in a throw-away private data dir, as an AWX job does.

    `extra_args`: further ansible-playbook options (e.g. ["-e", "@vars.yml"]), no spaces inside one."""
    pdd = Path(tempfile.mkdtemp(prefix="runner-"))
    try:
        env = {
            "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS),
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "false",
            "ANSIBLE_NOCOLOR": "true",
        }
        if Path(playbook).name in EDGE_PLAYBOOKS:
            # Any inventory (example-jeddah's too) takes the charts from source; a test's own extravars still win.
            env.update(helm.playbook_env())
            extravars = {**helm.chart_vars(), **(extravars or {})}
        env.update(envvars or {})
        cmdline = []
        if check:
            cmdline.append("--check")
        if tags:
            cmdline += ["--tags", tags]
        cmdline += extra_args or []
        r = ansible_runner.run(
            private_data_dir=str(pdd),
            project_dir=str(REPO),
            playbook=str(Path(playbook).resolve()),
            # a list: several inventory sources, as repeated -i options
            inventory=[str(Path(i).resolve()) for i in inventory] if isinstance(inventory, list) else str(Path(inventory or REHEARSAL_INVENTORY).resolve()),
            extravars=extravars or {},
            envvars=env,
            cmdline=" ".join(cmdline) or None,
            verbosity=verbosity,
            limit=limit,
            timeout=timeout,
            quiet=True,
        )
        stdout = r.stdout.read() if r.stdout else ""
        events = list(r.events)
        return PlaybookRun(rc=r.rc, status=r.status, stats=r.stats or {}, stdout=stdout, events=events)
    finally:
        if not keep_dir:
            shutil.rmtree(pdd, ignore_errors=True)


def assert_ok(run: PlaybookRun) -> None:
    """Fail with the playbook's own output when the run did not succeed."""
    assert run.rc == 0, f"playbook failed (rc={run.rc}, status={run.status}):\n{run.stdout[-20000:]}"


def dump(obj) -> str:
    return json.dumps(obj, indent=2, sort_keys=True, default=str)
