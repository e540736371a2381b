"""Run every molecule scenario under extensions/molecule/ (`molecule test -s NAME`) and fail when it fails.

A scenario may name host prerequisites in PREREQUISITES; missing ones skip locally but fail under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = sorted(p.parent.name for p in (REPO / "extensions" / "molecule").glob("*/molecule.yml"))
BIN = Path(sys.executable).parent


def _nspawn_host() -> str | None:
    if os.geteuid() != 0:
        return "systemd-nspawn machines need root"
    for tool in ("systemd-nspawn", "debootstrap"):
        if not shutil.which(tool):
            return f"{tool} missing: make bootstrap"
    return None


PREREQUISITES = {"locust": _nspawn_host}
# A cold machine cache adds the root fs build (~2 min) to the locust scenario; the budget covers it.
TIMEOUT_S = {"locust": 1200}


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario, tmp_path):
    missing = PREREQUISITES.get(scenario, lambda: None)()
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"molecule scenario {scenario}: prerequisite missing under CI: {missing}")
        pytest.skip(missing)
    env = {
        **os.environ,
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "build" / "collections"),
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "false",
        "ANSIBLE_NOCOLOR": "true",
        "PY_COLORS": "0",
    }
    log = tmp_path / f"molecule-{scenario}.log"
    t0 = time.monotonic()
    with open(log, "w") as fh:
        res = subprocess.run(
            [str(BIN / "molecule"), "test", "-s", scenario],
            cwd=REPO, env=env, stdout=fh, stderr=subprocess.STDOUT, timeout=TIMEOUT_S.get(scenario, 900), check=False,
        )
    out = log.read_text(errors="replace")
    print(f"molecule test -s {scenario}: rc={res.returncode} in {time.monotonic() - t0:.0f}s")
    assert res.returncode == 0, f"molecule test -s {scenario} failed (rc={res.returncode}):\n{out[-15000:]}"
    # Every step of the scenario's sequence ran (a silently skipped idempotence/verify would not prove anything).
    for step in ("converge", "idempotence", "verify"):
        assert f"{step}" in out, f"step {step} did not run:\n{out[-5000:]}"
