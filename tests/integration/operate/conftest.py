"""Prints the fault matrix (test_fault_matrix.py) as one table at the end of the session.

The Locust-worker-killed row comes from the tests that already exercise it (not repeated in the matrix); their
outcomes in this session are recorded by a plugin registered here, which sees every test's report.
"""

from __future__ import annotations

# The AWX load-test job boots the machines the load-test stage's tests boot, with the same host prerequisites.
from tests.integration.loadtest.conftest import nspawn_host

from .fault_matrix import RESULTS, RowResult, table

__all__ = ["nspawn_host", "pytest_configure"]

# The row "Locust worker killed mid-run": the run finishes and the report names the lost worker.
LOCUST_ROW = "Locust worker killed mid-run"
LOCUST_TESTS = {
    "tests/unit/locust/test_locust_run.py::test_worker_lost_mid_run_is_reported": "processes",
    "tests/molecule/test_molecule.py::test_molecule_scenario[locust]": "VMs via loadtest.yml",
}


class _Recorder:
    def __init__(self):
        self.outcomes: dict[str, str] = {}

    def pytest_runtest_logreport(self, report):
        if report.nodeid in LOCUST_TESTS and (report.when == "call" or report.outcome != "passed"):
            self.outcomes[report.nodeid] = report.outcome


_RECORDER = _Recorder()


def pytest_configure(config):
    if not config.pluginmanager.is_registered(_RECORDER):
        config.pluginmanager.register(_RECORDER, "fault-matrix-locust-recorder")


def _locust_row() -> RowResult:
    row = RowResult("locust-worker", LOCUST_ROW)
    ran = dict(_RECORDER.outcomes)
    if ran:
        row.outcome = "; ".join(f"{LOCUST_TESTS[node]}: {outcome}" for node, outcome in ran.items())
        if all(outcome == "passed" for outcome in ran.values()):
            row.outcome = f"completed, report names the lost worker ({row.outcome})"
    else:
        row.outcome = "not run in this session: " + ", ".join(LOCUST_TESTS)
    row.duplicates, row.leaks = [], ["n/a (no OCI resources)"]
    return row


def pytest_terminal_summary(terminalreporter):
    if not RESULTS and not _RECORDER.outcomes:
        return
    order = ["throttle", "transient-500", "read-timeout", "false-limit", "node-pool-oohc", "ssh-vanishes", "ctrl-c"]
    rows = [RESULTS[k] for k in order if k in RESULTS] + [RESULTS[k] for k in RESULTS if k not in order] + [_locust_row()]
    terminalreporter.write_sep("=", "fault matrix")
    terminalreporter.write_line(table(rows))
    for row in rows:
        if not (row.evidence or row.problems):
            continue
        line = f"- {row.fault}: {'; '.join(row.evidence) or '-'}"
        if row.outcome.startswith("failed"):
            line += f" | {row.outcome}"
        if row.problems:
            line += f" | ROW FAILED: {row.problems[0]}"
        terminalreporter.write_line(" ".join(line.split())[:600])
