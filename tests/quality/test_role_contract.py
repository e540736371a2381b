"""Role contract: argument specs match defaults key for key, role-prefixed names, thin main.yml with tags,
handlers with listen, ansible-doc renders, and both shipped inventories pass every role's argument specs."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible.inventory.manager import InventoryManager
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template
from ansible.vars.manager import VariableManager

from tests.helpers.ansible import load_collections
from tests.rehearsal import inventory_path

from .conftest import REPO, VENV_BIN, roles, run

INVENTORIES = ["sandbox", "example-jeddah"]
# Templating inventory values needs lookups (ansible.builtin.*) and our collection: load plugins as Ansible does.
load_collections()
INCLUDES = {"ansible.builtin.include_tasks", "ansible.builtin.import_tasks", "ansible.builtin.include_role", "ansible.builtin.import_role"}


def _yaml(path):
    return yaml.safe_load(path.read_text()) if path.exists() else None


def _spec(role):
    return _yaml(REPO / "roles" / role / "meta" / "argument_specs.yml")["argument_specs"]


@pytest.mark.parametrize("role", roles())
def test_argument_specs_match_defaults(role):
    defaults = _yaml(REPO / "roles" / role / "defaults" / "main.yml") or {}
    spec = _spec(role)
    assert "main" in spec, f"{role}: meta/argument_specs.yml needs a 'main' entry point"
    options = spec["main"].get("options", {})
    assert sorted(defaults) == sorted(options), (
        f"{role}: defaults/main.yml and meta/argument_specs.yml differ: "
        f"only in defaults {sorted(set(defaults) - set(options))}, only in argspec {sorted(set(options) - set(defaults))}"
    )
    for name, opt in options.items():
        assert opt.get("description"), f"{role}: option {name} has no description"
        assert opt.get("type"), f"{role}: option {name} has no type"


@pytest.mark.parametrize("role", roles())
def test_variables_are_role_prefixed(role):
    prefix = role.lstrip("_") + "_"
    names = list(_yaml(REPO / "roles" / role / "defaults" / "main.yml") or {})
    names += list(_yaml(REPO / "roles" / role / "vars" / "main.yml") or {})
    bad = [n for n in names if not n.lstrip("_").startswith(prefix)]
    assert not bad, f"{role}: variables without the '{prefix}' prefix: {bad}"


def _steps(role):
    """The include steps of tasks/main.yml; steps may sit in one block whose `always` only cleans up (a scratch
    directory removed however the steps end), tagged `always` so that every --tags selection runs it."""
    steps = []
    for task in _yaml(REPO / "roles" / role / "tasks" / "main.yml") or []:
        if "block" in task:
            assert set(task) <= {"name", "block", "always"}, f"{role}: a block in tasks/main.yml only groups steps and cleans up: {task.get('name')!r}"
            for cleanup in task.get("always", []):
                assert "always" in cleanup.get("tags", []), f"{role}: cleanup {cleanup.get('name')!r} must be tagged always"
            steps += task["block"]
        else:
            steps.append(task)
    return steps


@pytest.mark.parametrize("role", roles())
def test_main_is_thin_and_tagged(role):
    tasks = _steps(role)
    assert tasks, f"{role}: empty tasks/main.yml"
    for task in tasks:
        action = next((k for k in task if k in INCLUDES), None)
        assert action, f"{role}: tasks/main.yml should only include steps, found {task.get('name')!r}"
        assert task.get("tags"), f"{role}: step {task.get('name')!r} has no tags"
        assert role in task["tags"] or any(t.startswith(role + "_") for t in task["tags"]), f"{role}: step {task.get('name')!r} lacks role tags"


@pytest.mark.parametrize("role", roles())
def test_every_step_tag_selects_its_steps_tasks(role, tmp_path):
    """`--tags <role>_<step>` must reach the step's own tasks, not only the include that loads them."""
    steps = _steps(role)
    step_tags = {}
    for step in steps:
        tags = [t for t in step["tags"] if t != role]
        if "ansible.builtin.include_tasks" in step:
            include = step["ansible.builtin.include_tasks"]
            # A dynamic include passes its tags to the included tasks only through `apply`.
            assert isinstance(include, dict) and set(tags) <= set(include.get("apply", {}).get("tags", [])), (
                f"{role}: step {step['name']!r} includes without `apply: tags: {tags}`: --tags {tags[0]} would run none of its tasks")
            assert _yaml(REPO / "roles" / role / "tasks" / include["file"]), f"{role}: {include['file']} has no tasks"
        for tag in tags:
            step_tags.setdefault(tag, []).append(step["name"])
    assert step_tags, f"{role}: no step tags"
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{"name": "contract", "hosts": "localhost", "gather_facts": False,
                                     "roles": [f"openedx_scale.oke.{role}"]}]))
    for tag, names in step_tags.items():
        result = run([str(VENV_BIN / "ansible-playbook"), "-i", "localhost,", "--list-tasks", "--tags", tag, str(play)])
        assert result.returncode == 0, result.stderr
        listed = [line.strip() for line in result.stdout.splitlines() if "TAGS:" in line]
        assert listed, f"{role}: --tags {tag} selects no task"
        for name in names:
            assert any(name in line for line in listed), f"{role}: --tags {tag} does not select step {name!r}:\n{result.stdout}"


@pytest.mark.parametrize("role", roles())
def test_handlers_listen(role):
    handlers = _yaml(REPO / "roles" / role / "handlers" / "main.yml") or []
    for handler in handlers:
        assert handler.get("listen"), f"{role}: handler {handler.get('name')!r} has no listen"


@pytest.mark.parametrize("role", roles())
def test_ansible_doc_renders(role):
    res = run(["ansible-doc", "-t", "role", "--json", f"openedx_scale.oke.{role}"])
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads(res.stdout)[f"openedx_scale.oke.{role}"]
    assert doc["entry_points"]["main"]["options"], f"{role}: ansible-doc shows no options"


def _trusted(value):
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    return value


def _inventory_vars(inventory, host="localhost"):
    """Variables Ansible would give `host` from the inventory (group_vars/host_vars), templated lazily later."""
    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(inventory_path(inventory))])
    vm = VariableManager(loader=loader, inventory=inv)
    return loader, dict(vm.get_vars(host=inv.get_host(host), include_hostvars=False))


@pytest.mark.parametrize("inventory", INVENTORIES)
@pytest.mark.parametrize("role", roles())
def test_inventory_passes_argument_specs(inventory, role):
    loader, inv_vars = _inventory_vars(inventory)
    # Role defaults are templates, as Ansible loads them (safe_load marks nothing trusted on ansible-core >= 2.19).
    defaults = {k: _trusted(v) for k, v in (_yaml(REPO / "roles" / role / "defaults" / "main.yml") or {}).items()}
    options = _spec(role)["main"].get("options", {})
    # Role defaults have the lowest precedence: the inventory overrides them, as in a play.
    variables = {**defaults, **inv_vars, "playbook_dir": str(REPO / "playbooks"), "inventory_dir": str(inventory_path(inventory))}
    templar = Templar(loader=loader, variables=variables)
    provided = {name: templar.template(variables[name]) for name in options if name in variables}
    result = ArgumentSpecValidator(options).validate(provided)
    assert not result.error_messages, f"{inventory} fails {role}'s argument specs: {result.error_messages}"
