"""Groups for `make test`'s two pytest-xdist workers (`-n 2 --dist loadgroup`).

A test module runs on one worker (its module-scoped fixtures, e.g. a Tutor render, are built once). Tests that use
the machine-wide stand-ins (the systemd-nspawn machines under build/sandbox/machines, the control-plane test bed
under build/kube, the rehearsal that starts and stops both) share one group, so they run one after the other on
one worker while the other worker takes the rest.
"""

from __future__ import annotations

from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
STATEFUL = (
    "molecule/",
    "integration/kube/",
    "integration/loadtest/",
    "integration/operate/test_rehearsal.py",
    "integration/operate/test_fault_matrix.py",
    "integration/deploy/test_apply.py",
)


def group_of(path: Path) -> str:
    relative = path.resolve().relative_to(TESTS).as_posix()
    return "stateful" if relative.startswith(STATEFUL) else relative


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(Path(item.path))))
