"""Groups for `make test`'s two pytest-xdist workers (`-n 2 --dist loadgroup`).

A test module runs on one worker (its module-scoped fixtures, e.g. a Tutor render, are built once). Tests that use
the machine-wide stand-ins (the systemd-nspawn machines under build/sandbox/machines, the control-plane test bed
under build/kube, the rehearsal that starts and stops both) share one group, so they run one after the other on
one worker while the other worker takes the rest. Modules sharing a costly session fixture share a group too.
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
    "integration/deploy/test_apply_envoy.py",
)
# Modules that share a session fixture worth building once (the deploy renders per inventory and edge).
SHARED = {"integration/deploy/test_render.py": "deploy-render", "integration/deploy/test_edge.py": "deploy-render"}


def group_of(path: Path) -> str:
    relative = path.resolve().relative_to(TESTS).as_posix()
    if relative.startswith(STATEFUL):
        return "stateful"
    return SHARED.get(relative, relative)


def pytest_collection_modifyitems(items):
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(Path(item.path))))
