"""Groups for `make test`'s two pytest-xdist workers (`-n 2 --dist loadgroup`).

A test module runs on one worker (its module-scoped fixtures, e.g. a Tutor render, are built once). Tests that use
a machine-wide stand-in share its group, so they run one after the other on one worker: the control-plane test bed
under build/kube (and the rehearsal, which deploys onto it), and the systemd-nspawn machines under
build/sandbox/machines. Modules sharing a costly session fixture share a group too.
"""

from __future__ import annotations

from pathlib import Path

import pytest

# Each tier's time at the end of the run, and `--prebuild` (the slowest builds started first): tests/helpers/tiers.py.
pytest_plugins = ["tests.helpers.tiers"]

TESTS = Path(__file__).resolve().parent
# Tests on the control-plane test bed (build/kube) run one after the other: they fill the same simulated nodes, and a
# fit check counts every pod on them. The rehearsal deploys there too (and uses VMs).
TESTBED = (
    "integration/kube/",
    "integration/loadtest/test_seed.py",
    "integration/operate/test_rehearsal.py",
    "integration/deploy/test_apply.py",
    "integration/deploy/test_apply_envoy.py",
    "integration/deploy/test_login_limits.py",
    "integration/operate/test_installed_collection.py",
)
# Tests on the systemd-nspawn machines (build/sandbox/machines), one after the other.
MACHINES = ("molecule/", "integration/loadtest/", "integration/operate/test_fault_matrix.py")
# Modules that share a session fixture worth building once (the deploy renders per inventory and edge).
SHARED = {"integration/deploy/test_render.py": "deploy-render", "integration/deploy/test_edge.py": "deploy-render",
          "integration/deploy/test_edge_translate.py": "deploy-render"}


def pytest_collection_finish(session):
    # helm (tests.helpers.helm) takes minutes to build cold: when playbooks will run, start it in the background so it
    # overlaps the tests before the first edge playbook, which then finds it in the cache (a second start waits on
    # the build lock and finds it too).
    if any(Path(item.path).resolve().relative_to(TESTS).as_posix().startswith(("integration/", "molecule/")) for item in session.items):
        from tests.helpers import helm

        helm.start_build()


def group_of(path: Path) -> str:
    relative = path.resolve().relative_to(TESTS).as_posix()
    if relative.startswith(TESTBED):
        return "testbed"
    if relative.startswith(MACHINES):
        return "machines"
    return SHARED.get(relative, relative)


# tryfirst: xdist's own hook turns the xdist_group marks into the scheduling scope (nodeid@group) and runs before an
# unordered conftest hook, so marks added later would be ignored and every module scheduled on its own.
@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    # Only under --dist loadgroup (set on the workers); without xdist the mark is not even registered.
    if not getattr(config.option, "loadgroup", False):
        return
    for item in items:
        item.add_marker(pytest.mark.xdist_group(group_of(Path(item.path))))


# On the controller, from what each worker collected: xdist groups by the "@group" its worker-side hook appends to each
# node id. If that did not take (pytest-dev/pytest-xdist#1386: pytest 9.2's structured ids), every test would be
# scheduled on its own and the test-bed and machine tests would run side by side, filling each other's nodes.
@pytest.hookimpl(optionalhook=True)
def pytest_xdist_node_collection_finished(node, ids):
    if node.config.getvalue("dist") != "loadgroup" or not ids or any("@" in nodeid for nodeid in ids):
        return
    pytest.exit(
        f"--dist loadgroup grouped none of the {len(ids)} tests {node.gateway.id} collected (first: {ids[0]}): this "
        "pytest-xdist does not take the xdist_group marks with this pytest (pytest-dev/pytest-xdist#1386). "
        "Fix: install the versions pinned in requirements-dev.txt (bash tools/bootstrap.sh).",
        returncode=pytest.ExitCode.USAGE_ERROR,
    )
