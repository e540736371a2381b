"""execution-environment.yml: `ansible-builder create` yields a build context carrying exactly our pins.

No container engine here, so the image is not built; the context (Containerfile + _build/) is what a build
would consume, and that is what these tests read."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import ansible
import pytest
import yaml
from packaging.requirements import Requirement

REPO = Path(__file__).resolve().parents[3]
BIN = Path(sys.executable).parent
EE_FILE = REPO / "execution-environment.yml"


def _pins(text: str) -> dict[str, str]:
    """name -> version of every `name==version` line; anything else (ranges, URLs) is an error."""
    pins = {}
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        match = re.fullmatch(r"([A-Za-z0-9_.\-\[\]]+)==([A-Za-z0-9_.+\-]+)", line)
        assert match, f"not an exact pin: {line!r}"
        pins[match.group(1).lower()] = match.group(2)
    return pins


@pytest.fixture(scope="module")
def context(tmp_path_factory) -> Path:
    """Run what `make ee-context` runs, into a temporary directory."""
    out = tmp_path_factory.mktemp("ee")
    tarball_dir = REPO / "build" / "ee"
    shutil.rmtree(tarball_dir, ignore_errors=True)
    tarball_dir.mkdir(parents=True)
    subprocess.run([str(BIN / "ansible-galaxy"), "collection", "build", "--force", "--output-path", str(tarball_dir), str(REPO)],
                   check=True, capture_output=True, text=True, cwd=REPO)
    res = subprocess.run([str(BIN / "ansible-builder"), "create", "-f", str(EE_FILE), "-c", str(out / "context"), "--output-filename", "Containerfile"],
                         capture_output=True, text=True, cwd=REPO, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    return out / "context"


def test_definition_is_v3_and_points_at_our_files():
    ee = yaml.safe_load(EE_FILE.read_text())
    assert ee["version"] == 3
    deps = ee["dependencies"]
    assert (deps["python"], deps["galaxy"], deps["system"]) == ("requirements.txt", "requirements.yml", "bindep.txt")


def test_python_requirements_are_our_pins(context):
    shipped = (context / "_build" / "requirements.txt").read_text()
    assert _pins(shipped) == _pins((REPO / "requirements.txt").read_text())
    assert shipped == (REPO / "requirements.txt").read_text()


def test_ansible_core_and_runner_match_requirements(context):
    pins = _pins((REPO / "requirements.txt").read_text())
    containerfile = (context / "Containerfile").read_text()
    refs = re.search(r'ARG ANSIBLE_INSTALL_REFS="([^"]+)"', containerfile).group(1).split()
    assert sorted(refs) == sorted([f"ansible-core=={pins['ansible-core']}", f"ansible-runner=={pins['ansible-runner']}"])


def test_collections_are_our_pins(context):
    shipped = yaml.safe_load((context / "_build" / "requirements.yml").read_text())
    ours = yaml.safe_load((REPO / "requirements.yml").read_text())
    assert shipped == ours
    versions = {c["name"]: c["version"] for c in shipped["collections"]}
    assert all(re.fullmatch(r"\d+\.\d+\.\d+", v) for v in versions.values()), versions
    # galaxy.yml's dependencies must be satisfiable by the pinned versions (same major, at least the floor).
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    for name, spec in galaxy["dependencies"].items():
        floor = spec.lstrip(">=")
        assert name in versions, f"{name} is a galaxy.yml dependency but not pinned in requirements.yml"
        assert tuple(map(int, versions[name].split("."))) >= tuple(map(int, floor.split("."))), (name, versions[name], spec)


def test_system_packages_are_bindep(context):
    assert (context / "_build" / "bindep.txt").read_text() == (REPO / "bindep.txt").read_text()
    containerfile = (context / "Containerfile").read_text()
    assert "--user-bindep=bindep.txt" in containerfile and "--user-pip=requirements.txt" in containerfile


def test_helm_client_is_installed_in_a_version_kubernetes_core_runs(context):
    # kubernetes.core 6.2's helm module runs `helm list --all`, which helm 4 removed (found on the test bed).
    containerfile = (context / "Containerfile").read_text()
    assert "ARG HELM_VERSION=v3." in containerfile
    assert "sha256sum -c -" in containerfile and "install -m 0755 /tmp/linux-amd64/helm /usr/local/bin/helm" in containerfile


def test_this_collection_is_installed_from_the_checkout(context):
    galaxy = yaml.safe_load((REPO / "galaxy.yml").read_text())
    tarballs = list((context / "_build" / "collection").glob("openedx_scale-oke-*.tar.gz"))
    assert [t.name for t in tarballs] == [f"openedx_scale-oke-{galaxy['version']}.tar.gz"]
    with tarfile.open(tarballs[0]) as tar:
        names = set(tar.getnames())
    for needed in ("MANIFEST.json", "roles/awx_config/tasks/main.yml", "playbooks/awx_configure.yml", "requirements.txt"):
        assert needed in names, f"{needed} missing from the collection tarball"
    containerfile = (context / "Containerfile").read_text()
    # The galaxy stage copies _build to /build; the install step must read the tarball from there.
    assert "COPY _build /build" in containerfile
    step = next(line for line in containerfile.splitlines() if "--no-deps" in line)
    assert "/build/collection/openedx_scale-oke-" in step and "--offline" in step


def test_role_default_image_is_the_ee_tag():
    ee = yaml.safe_load(EE_FILE.read_text())
    defaults = yaml.safe_load((REPO / "roles" / "awx_config" / "defaults" / "main.yml").read_text())
    assert defaults["awx_config_execution_environment"]["image"] in ee["options"]["tags"]


def test_collection_requirements_agree_with_our_pins(context, tmp_path):
    """The builder merges the Python requirements of every collection in the image with ours: run its own
    introspection over the pinned collections (as installed with the `ansible` package) plus this collection,
    and check that no collection asks for a version our pins exclude."""
    # The `ansible` package installs the collections next to ansible-core, in this venv's site-packages.
    installed = Path(ansible.__file__).resolve().parents[1] / "ansible_collections"
    tree = tmp_path / "ansible_collections"
    for name in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]:
        ns, coll = name["name"].split(".")
        manifest = json.loads((installed / ns / coll / "MANIFEST.json").read_text())
        assert manifest["collection_info"]["version"] == name["version"], f"{name['name']}: installed version differs from requirements.yml"
        shutil.copytree(installed / ns / coll, tree / ns / coll)
    with tarfile.open(next((context / "_build" / "collection").glob("*.tar.gz"))) as tar:
        tar.extractall(tree / "openedx_scale" / "oke", filter="data")
    out = tmp_path / "merged.txt"
    res = subprocess.run([sys.executable, str(context / "_build" / "scripts" / "introspect.py"), "introspect", "--user-pip",
                          str(REPO / "requirements.txt"), "--write-pip", str(out), str(tmp_path)], capture_output=True, text=True, check=False)
    assert res.returncode == 0, res.stdout + res.stderr
    pins = _pins((REPO / "requirements.txt").read_text())
    for line in out.read_text().splitlines():
        spec = line.split("#", 1)[0].strip()
        if not spec:
            continue
        req = Requirement(spec)
        name = req.name.lower()
        if name in pins:
            assert req.specifier.contains(pins[name], prereleases=True), f"{line!r} excludes our pin {name}=={pins[name]}"
