"""The execution environment carries what the jobs import: every Python package our modules, module utils, filters,
inventory plugins and role files import, and every collection our roles and playbooks call, comes with
execution-environment.yml (requirements.txt with what those pins pull in, requirements.yml, this collection)."""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
from pathlib import Path

import yaml
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

REPO = Path(__file__).resolve().parents[3]
EE = yaml.safe_load((REPO / "execution-environment.yml").read_text())
# Code that runs in a job: the collection's plugins and the files roles run or ship from the controller.
JOB_CODE = [*sorted((REPO / "plugins").rglob("*.py")), *sorted(REPO.glob("roles/*/files/**/*.py"))]
# Provided by the EE itself: ansible-core and this collection (ansible_collections.openedx_scale.*).
BUILTIN = {"ansible", "ansible_collections", "__future__"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _local_modules(path: Path) -> set[str]:
    """Modules shipped beside a role file (roles/locust/files/openedx_locust/...), imported by their own name."""
    root = next(p for p in path.parents if p.name == "files")
    return {p.stem for p in root.rglob("*.py")} | {p.name for p in root.rglob("*") if p.is_dir()}


def _pinned() -> set[str]:
    reqs = [Requirement(line) for line in (REPO / "requirements.txt").read_text().splitlines() if line.strip() and not line.startswith("#")]
    reqs += [Requirement(EE["dependencies"][key]["package_pip"]) for key in ("ansible_core", "ansible_runner")]
    return {canonicalize_name(r.name) for r in reqs}


def _closure(names: set[str]) -> set[str]:
    """The pinned distributions and everything they require (as installed in the test .venv, where the same pins are)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in importlib.metadata.requires(name) or []:
            req = Requirement(spec)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(canonicalize_name(req.name))
    return seen


def test_every_python_import_of_the_jobs_is_in_the_ee():
    provided = _closure(_pinned())
    dists = importlib.metadata.packages_distributions()
    missing = {}
    for path in JOB_CODE:
        local = _local_modules(path) if "files" in path.parts else set()
        for name in _imports(path) - BUILTIN - set(sys.stdlib_module_names) - local:
            owners = {canonicalize_name(d) for d in dists.get(name, [])}
            assert owners, f"{path.relative_to(REPO)} imports {name!r}, which no installed distribution provides"
            if not owners & provided:
                missing.setdefault(name, []).append(str(path.relative_to(REPO)))
    assert not missing, f"imported by job code but not in requirements.txt (nor required by a pin there): {missing}"


FQCN = re.compile(r"^([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+$")
# Plugins called from Jinja: lookup('ns.coll.name', ...), query(...), and filters/tests `| ns.coll.name`.
JINJA_FQCN = re.compile(r"(?:lookup|query)\(\s*['\"]([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+['\"]|(?:\||\bis)\s*([a-z0-9_]+\.[a-z0-9_]+)\.[a-z0-9_]+\b")


def _collections_used(node, found: set[str]) -> None:
    """Collections named by task keys (modules, action plugins), role references and Jinja plugin calls."""
    if isinstance(node, dict):
        for key, value in node.items():
            match = FQCN.match(str(key))
            if match:
                found.add(match.group(1))
            if key in ("role", "name") and isinstance(value, str) and FQCN.match(value) and node.keys() & {"role", "tasks_from"}:
                found.add(FQCN.match(value).group(1))
            _collections_used(value, found)
    elif isinstance(node, list):
        for item in node:
            _collections_used(item, found)
    elif isinstance(node, str):
        found |= {a or b for a, b in JINJA_FQCN.findall(node)}


def test_every_collection_the_jobs_call_is_in_the_ee():
    pinned = {c["name"] for c in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]}
    files = [*REPO.glob("roles/*/tasks/*.yml"), *REPO.glob("roles/*/handlers/*.yml"), *REPO.glob("playbooks/*.yml")]
    used: dict[str, str] = {}
    for path in files:
        found: set[str] = set()
        _collections_used(yaml.safe_load(path.read_text()), found)
        for name in found:
            used.setdefault(name, str(path.relative_to(REPO)))
    assert {"kubernetes.core", "awx.awx", "ansible.builtin"} <= set(used), used
    unknown = {name: where for name, where in used.items() if name not in pinned | {"ansible.builtin", "openedx_scale.oke"}}
    assert not unknown, f"collections called but not in requirements.yml (the EE's galaxy file): {unknown}"
    assert EE["dependencies"]["galaxy"] == "requirements.yml"
