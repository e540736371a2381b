"""pytest plugin (tests/conftest.py loads it): each tier's time at the end of the run, and `--prebuild`.

Tiers: quality, unit, integration/<stage>, molecule (a test's tier is its directory under tests/). Printed in the
terminal summary, above pytest's final "N passed" line, which stays last: per tier the tests, their summed time
(setup + call + teardown) and the wall time from its first test's start to its last one's end (tiers overlap on the
two xdist workers). With `--prebuild`, the slowest builds start in the background at session start
(tests/helpers/prebuild.py) and the summary says what each cost.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict

import pytest

from tests.helpers.prebuild import REPO, RESULTS


def tier_of(nodeid: str) -> str:
    parts = nodeid.split("::", 1)[0].split("/")
    if len(parts) < 3 or parts[0] != "tests":
        return parts[0]
    return f"{parts[1]}/{parts[2]}" if parts[1] == "integration" and len(parts) > 3 else parts[1]


class TierTimes:
    def __init__(self) -> None:
        self.count: dict[str, int] = defaultdict(int)
        self.summed: dict[str, float] = defaultdict(float)
        self.first: dict[str, float] = {}
        self.last: dict[str, float] = {}

    def pytest_runtest_logreport(self, report) -> None:
        tier = tier_of(report.nodeid)
        self.summed[tier] += report.duration
        if report.when == "call" or (report.when == "setup" and report.skipped):
            self.count[tier] += 1
        start, stop = getattr(report, "start", None), getattr(report, "stop", None)
        if start and stop:
            self.first[tier] = min(self.first.get(tier, start), start)
            self.last[tier] = max(self.last.get(tier, stop), stop)

    def lines(self) -> list[str]:
        out = []
        for tier in sorted(self.summed, key=lambda t: (t.split("/")[0] != "quality", t.split("/")[0] != "unit", t)):
            wall = self.last.get(tier, 0) - self.first.get(tier, 0)
            out.append(f"{tier:28} {self.count[tier]:5} tests {self.summed[tier]:9.1f} s summed {wall:9.1f} s wall")
        return out


def pytest_addoption(parser):
    parser.addoption("--prebuild", action="store_true", help="start the slowest builds (Go) in the background at session start")


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist) keeps the times
        config.pluginmanager.register(TierTimes(), "tier-times")


def pytest_sessionstart(session):
    config = session.config
    if hasattr(config, "workerinput") or not config.getoption("--prebuild"):
        return
    RESULTS.unlink(missing_ok=True)
    log = REPO / "build" / "prebuild.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [sys.executable, "-m", "tests.helpers.prebuild"],
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            env=os.environ.copy(),
        )
    config.stash[PREBUILD] = proc


PREBUILD = pytest.StashKey[subprocess.Popen]()


def pytest_terminal_summary(terminalreporter, config):
    times = config.pluginmanager.get_plugin("tier-times")
    if times is None or not times.summed:
        return
    terminalreporter.write_sep("-", "time per tier")
    for line in times.lines():
        terminalreporter.write_line(line)
    proc = config.stash.get(PREBUILD, None)
    if proc is not None:
        state = "running" if proc.poll() is None else f"exit {proc.returncode}"
        try:
            built = json.loads(RESULTS.read_text())
        except (OSError, ValueError):
            built = {}
        done = ", ".join(f"{n} {r.get('source') or 'failed'} {r['seconds']:.0f} s" for n, r in built.items())
        terminalreporter.write_line(f"prebuild ({state}): {done or 'nothing finished'} (log: build/prebuild.log)")
