"""The built collection is the product only: `ansible-galaxy collection build`, then read the tarball. No test
harness (tests/, the rehearsal playbooks, role and inventory, molecule) is in it, and nothing under plugins/ or
roles/ names the sandbox."""

from __future__ import annotations

import re
import tarfile

import pytest

from .conftest import REPO, run


@pytest.fixture(scope="module")
def tarball(tmp_path_factory):
    out = tmp_path_factory.mktemp("build")
    res = run(["ansible-galaxy", "collection", "build", "--force", "--output-path", str(out), str(REPO)])
    assert res.returncode == 0, res.stdout + res.stderr
    built = sorted(out.glob("openedx_scale-oke-*.tar.gz"))
    assert len(built) == 1, res.stdout
    with tarfile.open(built[0]) as tar:
        yield {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


def test_build_holds_no_test_harness(tarball):
    assert "plugins/module_utils/oci_retry.py" in tarball and "roles/oke_cluster/tasks/main.yml" in tarball, sorted(tarball)[:20]
    harness = sorted(n for n in tarball if n.split("/")[0] in ("tests", "extensions", "tools") or n.startswith("roles/sandbox/")
                     or n in ("playbooks/rehearsal.yml", "playbooks/sandbox.yml", "ansible.cfg", "Makefile"))
    assert not harness, f"test harness in the built collection: {harness}"


def test_no_sandbox_names_in_plugins_and_roles(tarball):
    # What `grep -ri sandbox plugins roles` in the unpacked tarball would print.
    hits = [f"{name}: {line.strip()}" for name, data in sorted(tarball.items()) if name.split("/")[0] in ("plugins", "roles")
            for line in data.decode(errors="replace").splitlines() if re.search("sandbox", line, re.IGNORECASE)]
    hits += [name for name in tarball if name.split("/")[0] in ("plugins", "roles") and "sandbox" in name.lower()]
    assert not hits, "sandbox names in the product:\n" + "\n".join(hits)
