"""Sanity tier: `ansible-test sanity --local` on a copy of the collection, with zero ignore lines."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from .conftest import REPO, run

pytestmark = pytest.mark.sanity


def test_no_sanity_ignores():
    lines = []
    for path in (REPO / "tests" / "sanity").glob("ignore-*.txt"):
        lines += [f"{path.name}: {ln}" for ln in path.read_text().splitlines() if ln.strip()]
    assert not lines, "sanity ignore lines are not allowed:\n" + "\n".join(lines)


def test_ansible_test_sanity(tmp_path_factory):
    # ansible-test needs the collection at .../ansible_collections/<ns>/<name> as a real directory:
    # copy what git would ship (tracked + untracked-not-ignored files).
    dest = REPO / "build" / "sanity" / "ansible_collections" / "openedx_scale" / "oke"
    shutil.rmtree(dest, ignore_errors=True)
    dest.mkdir(parents=True)
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=REPO, capture_output=True, check=True
    ).stdout.split(b"\0")
    for rel in filter(None, files):
        src = REPO / rel.decode()
        if src.is_file():
            target = dest / rel.decode()
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    # Our build/ is git-ignored by the checkout around it: give the copy its own index so ansible-test
    # sees exactly the shipped files.
    subprocess.run(["git", "init", "-q"], cwd=dest, check=True)
    subprocess.run(["git", "add", "-A"], cwd=dest, check=True)
    res = run(["ansible-test", "sanity", "--local", "--python", "3.11", "--requirements", "--color", "no"], cwd=dest, timeout=3000)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-30000:]
    assert "All targets skipped" not in out and "Running sanity test" in out, out[-5000:]
