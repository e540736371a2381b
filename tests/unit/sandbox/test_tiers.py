"""make test's tier summary (tests/helpers/tiers.py): each test counted once in its tier, the tiers' summed and wall
times; and a real pytest run that prints it above the final "N passed" line."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

from tests.helpers.ansible import REPO
from tests.helpers.tiers import TierTimes, tier_of


def test_tier_of_a_node_id():
    assert tier_of("tests/quality/test_lint.py::test_x") == "quality"
    assert tier_of("tests/unit/plugins/modules/test_a.py::test_b[p]") == "unit"
    assert tier_of("tests/integration/deploy/test_apply.py::test_c") == "integration/deploy"
    assert tier_of("tests/molecule/test_molecule.py::test_locust") == "molecule"


def test_times_add_up_per_tier():
    times = TierTimes()
    for nodeid, when, duration, start in (
        ("tests/unit/a.py::t", "setup", 0.5, 100.0),
        ("tests/unit/a.py::t", "call", 2.0, 100.5),
        ("tests/unit/a.py::t", "teardown", 0.5, 102.5),
        ("tests/integration/deploy/b.py::t", "call", 10.0, 101.0),
    ):
        times.pytest_runtest_logreport(SimpleNamespace(nodeid=nodeid, when=when, duration=duration, skipped=False, start=start, stop=start + duration))
    lines = times.lines()
    assert lines[0].split() == ["unit", "1", "tests", "3.0", "s", "summed", "3.0", "s", "wall"]
    assert lines[1].split()[:4] == ["integration/deploy", "1", "tests", "10.0"]


def test_the_summary_comes_before_the_final_line():
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/unit/sandbox/test_tiers.py::test_tier_of_a_node_id"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    lines = run.stdout.strip().splitlines()
    assert run.returncode == 0, run.stdout
    assert "time per tier" in run.stdout and lines[-2].split()[:3] == ["unit", "1", "tests"], lines
    assert lines[-1].startswith("1 passed"), lines
