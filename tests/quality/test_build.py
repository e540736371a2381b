"""The built collection is the product only: `ansible-galaxy collection build`, then read the tarball. No test
harness (tests/, the rehearsal playbooks, role and inventory, molecule) is in it, and nothing under plugins/ or
roles/ names the sandbox. galaxy.yml depends on exactly the collections the product calls."""

from __future__ import annotations

import re
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

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


def _collections_called() -> set[str]:
    """namespace.name of every installed collection whose FQCN (module, filter, module_defaults group) the product's
    roles, playbooks or plugins use, other than ansible.builtin and this collection."""
    installed = {f"{ns.name}.{coll.name}" for root in [Path(p) / "ansible_collections" for p in sys.path] if root.is_dir()
                 for ns in root.iterdir() if ns.is_dir() for coll in ns.iterdir() if (coll / "MANIFEST.json").is_file()}
    fqcn = re.compile(r"\b([a-z][a-z0-9_]*)\.([a-z][a-z0-9_]*)\.[a-z][a-z0-9_]*\b")
    used = set()
    for top in ("roles", "playbooks", "plugins"):
        for path in (REPO / top).rglob("*"):
            if path.suffix in (".yml", ".yaml", ".py", ".j2") and path.is_file():
                used |= {f"{a}.{b}" for a, b in fqcn.findall(path.read_text(errors="replace"))}
    return (used & installed) - {"ansible.builtin", "openedx_scale.oke"}


def test_galaxy_dependencies_are_the_collections_the_product_calls():
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    pinned = {c["name"] for c in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]}
    called = _collections_called()
    assert "awx.awx" in called and "kubernetes.core" in called, called
    assert set(galaxy["dependencies"]) == called, f"galaxy.yml dependencies {sorted(galaxy['dependencies'])}, the product calls {sorted(called)}"
    assert pinned == called, f"requirements.yml pins {sorted(pinned)}, the product calls {sorted(called)}"
