"""One contract per stage: a role reads only its own variables (prefixed with its name, `_<role>_`, `__<role>_`), the
shared `openedx_scale_*` settings and what Ansible itself defines; a playbook reads no role's variable (but the fact a
role's entry point declares as its result, to hand it on as a setting) and passes a role
nothing that role already defaults. The test parses every role file Ansible templates (defaults, vars, tasks, handlers,
meta, templates) and every playbook with Jinja's own parser and lists each variable read. No exceptions list."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import jinja2
import pytest
import yaml
from jinja2 import meta

from .conftest import REPO, roles

ROLES = roles()
# Keys whose values Ansible evaluates as bare Jinja expressions.
CONDITIONALS = {"when", "that", "failed_when", "changed_when", "until"}


def _any(*args, **kwargs):
    return None


class _AnyName(dict):
    """Filters and tests by any name: the scan parses, it never renders."""

    def __contains__(self, name):
        return True

    def get(self, name, default=None):
        return _any


_ENV = jinja2.Environment(extensions=["jinja2.ext.do", "jinja2.ext.loopcontrols"])
_ENV.filters, _ENV.tests = _AnyName(), _AnyName()


def _owner(name: str) -> str | None:
    """The role a variable name belongs to (longest role prefix), None when it belongs to no role."""
    bare = name.lstrip("_")
    owners = [r for r in ROLES if bare.startswith(r + "_")]
    return max(owners, key=len) if owners else None


def _names(text: str) -> set[str]:
    return set(meta.find_undeclared_variables(_ENV.parse(text)))


def _walk(node, conditional: bool = False):
    """Every string of a YAML document that Ansible templates, with whether it is a bare expression."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, key in CONDITIONALS)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value, conditional)
    elif isinstance(node, str):
        yield node, conditional
    elif isinstance(node, bool) or node is None:
        return


def _yaml_reads(path: Path) -> set[str]:
    found = set()
    for text, conditional in _walk(yaml.safe_load(path.read_text())):
        if conditional:
            found |= _names("{{ " + text + " }}")
        elif "{{" in text or "{%" in text:
            found |= _names(text)
    return found


def _role_files(role: str) -> list[Path]:
    base = REPO / "roles" / role
    files = [p for d in ("defaults", "vars", "tasks", "handlers", "meta") for p in sorted((base / d).glob("*.yml"))]
    return files + sorted((base / "templates").rglob("*.j2"))


def _reads(path: Path) -> set[str]:
    return _names(path.read_text()) if path.suffix == ".j2" else _yaml_reads(path)


def _playbooks() -> list[Path]:
    return sorted((REPO / "playbooks").glob("*.yml"))


def _defaults(role: str) -> dict:
    return yaml.safe_load((REPO / "roles" / role / "defaults" / "main.yml").read_text()) or {}


def test_the_scan_sees_reads(tmp_path):
    """The parser finds reads in a template, a bare condition and a nested block, and ignores template locals."""
    assert _names("{% for x in locust_hosts %}{{ x }}{{ tutor_namespace }}{% endfor %}") == {"locust_hosts", "tutor_namespace"}
    tasks = tmp_path / "tasks.yml"
    tasks.write_text(yaml.safe_dump([{"name": "n", "block": [
        {"name": "a", "ansible.builtin.assert": {"that": ["envoy_gateway_namespace | length > 0"], "fail_msg": "{{ locust_host }}"}},
        {"name": "b", "ansible.builtin.debug": {"msg": "plain"}, "when": "ingress_nginx_namespace is defined"}]}]))
    assert _yaml_reads(tasks) == {"envoy_gateway_namespace", "locust_host", "ingress_nginx_namespace"}
    assert _owner("__loadtest_seed_job") == "loadtest_seed" and _owner("openedx_scale_edge") is None


@pytest.mark.parametrize("role", ROLES)
def test_role_reads_only_its_own_and_shared_variables(role):
    foreign = {}
    for path in _role_files(role):
        for name in _reads(path):
            owner = _owner(name)
            if owner and owner != role:
                foreign.setdefault(str(path.relative_to(REPO)), set()).add(name)
    assert not foreign, (
        f"{role} reads other roles' variables: {foreign}. Share a value between stages as an openedx_scale_* setting "
        "(docs/architecture.md) that each role's defaults read.")


@functools.cache
def _declared_outputs() -> frozenset[str]:
    """Facts an entry point of a role declares as its result in meta/argument_specs.yml ("sets the fact C(name)"): the
    hand-off a playbook passes on to the next role through an openedx_scale_* setting."""
    found = set()
    for role in ROLES:
        specs = yaml.safe_load((REPO / "roles" / role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        for entry in specs.values():
            description = entry.get("description") or []
            text = " ".join(description if isinstance(description, list) else [description])
            found |= {n for n in re.findall(r"sets the fact C\((\w+)\)", text) if _owner(n) == role}
    return frozenset(found)


@pytest.mark.parametrize("playbook", [p.name for p in _playbooks()])
def test_playbook_reads_no_role_variable(playbook):
    reads = _yaml_reads(REPO / "playbooks" / playbook)
    foreign = sorted(n for n in reads if _owner(n) and n not in _declared_outputs())
    assert not foreign, (
        f"playbooks/{playbook} reads role variables {foreign}: read the openedx_scale_* setting the role defaults from "
        "(or the fact an entry point declares as its result)"
    )


def _passed(node):
    """Every `vars:` mapping of a play or task, recursively."""
    if isinstance(node, dict):
        if isinstance(node.get("vars"), dict):
            yield node["vars"]
        for value in node.values():
            yield from _passed(value)
    elif isinstance(node, list):
        for value in node:
            yield from _passed(value)


@pytest.mark.parametrize("playbook", [p.name for p in _playbooks()])
def test_playbook_passes_no_default_again(playbook):
    """A playbook may set a role's input to another value (a run mode), never repeat the value the role defaults."""
    copied = []
    for mapping in _passed(yaml.safe_load((REPO / "playbooks" / playbook).read_text())):
        for name, value in mapping.items():
            owner = _owner(name)
            if owner and name in _defaults(owner) and (value == _defaults(owner)[name] or re.search(r"openedx_scale_\w+", str(value))):
                copied.append(name)
    assert not copied, f"playbooks/{playbook} passes {copied}, which the roles already default (from openedx_scale_* settings)"
