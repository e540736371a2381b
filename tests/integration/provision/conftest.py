"""Fixtures for the provision stage: the OCI sandbox per scenario, and playbook runs against it."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.helpers.ansible import REPO, run_playbook
from tests.sandbox import oci as oci_sandbox

PLAYBOOKS = REPO / "playbooks"
OURS = "openedx_scale_managed_by"


class Stage:
    """One sandbox + the extravars/env that point the playbooks at it."""

    def __init__(self, sandbox, workdir: Path):
        self.sb = sandbox
        self.workdir = workdir
        self.env = dict(sandbox.env())
        self.env["OCI_SANDBOX_ENDPOINT"] = sandbox.url
        self.env["PATH"] = f"{REPO / '.venv' / 'bin'}:{os.environ.get('PATH', '')}"
        self.extravars = {
            "openedx_scale_oci_auth": {"config_file": sandbox.config_file, "profile": "DEFAULT"},
            "openedx_scale_kubeconfig": str(workdir / "kubeconfig"),
            "oke_cluster_progress_dir": str(workdir / "progress"),
            "loadgen_vms_progress_dir": str(workdir / "progress"),
        }

    def play(self, name: str, check: bool = False, **extra):
        return run_playbook(PLAYBOOKS / f"{name}.yml", extravars={**self.extravars, **extra}, envvars=self.env, check=check)

    def state(self) -> dict:
        return self.sb.state()


def live(state: dict, kind: str) -> list[dict]:
    """Resources of one kind that still exist and carry our ownership tag."""
    dead = {"DELETED", "DELETING", "TERMINATED", "TERMINATING"}
    return [r for r in state["resources"][kind].values() if r.get("lifecycleState") not in dead and OURS in (r.get("freeformTags") or {})]


def resources_view(state: dict) -> dict:
    """What exists (ids, states, sizes), without counters/clock, for before/after comparisons."""
    out = {}
    for kind, items in state["resources"].items():
        out[kind] = {
            rid: (r.get("lifecycleState"), (r.get("nodeConfigDetails") or {}).get("size"), len(r.get("nodes") or []), r.get("displayName") or r.get("name"))
            for rid, r in items.items()
        }
    return out


@pytest.fixture(scope="module")
def make_stage(tmp_path_factory):
    started = []

    def _make(scenario) -> Stage:
        workdir = tmp_path_factory.mktemp(f"prov-{scenario['name'] if isinstance(scenario, dict) else scenario}")
        sb = oci_sandbox.OciSandbox(scenario, workdir / "sandbox").start()
        started.append(sb)
        return Stage(sb, workdir)

    yield _make
    for sb in started:
        sb.stop()
