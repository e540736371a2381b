"""Stage hand-offs: the deploy and load-test stages never call a provisioning module. The test walks what the playbook runs, as
Ansible would load it: imported playbooks, roles (their tasks/main.yml or the tasks_from entry), and the task files
those include or import, collecting every module a task calls."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from .conftest import REPO

# Modules that create, resize or delete OCI resources (oke_kubeconfig only reads a cluster; the info modules only read).
PROVISIONING = {f"openedx_scale.oke.{m}" for m in ("oke_cluster", "oke_node_pool", "oci_instance", "oci_mysql_db_system")}
INCLUDE_TASKS = ("ansible.builtin.include_tasks", "ansible.builtin.import_tasks")
INCLUDE_ROLE = ("ansible.builtin.include_role", "ansible.builtin.import_role")
TASK_KEYS = {"name", "when", "tags", "vars", "register", "loop", "loop_control", "block", "rescue", "always", "module_defaults",
             "environment", "no_log", "changed_when", "failed_when", "check_mode", "delegate_to", "run_once", "notify", "listen",
             "become", "become_user", "args", "until", "retries", "delay", "ignore_errors", "diff", "throttle", "timeout", "async", "poll",
             "delegate_facts", "any_errors_fatal", "collections", "debugger", "local_action", "with_items", "with_dict", "with_list"}
# What the stage may never reach.
STAGES = ["deploy_openedx.yml", "loadtest.yml"]


def _role_dir(name: str) -> Path:
    assert name.startswith("openedx_scale.oke."), f"{name}: only this collection's roles are walked"
    return REPO / "roles" / name.rsplit(".", maxsplit=1)[-1]


def _task_file(base: Path, name: str) -> Path:
    path = base / name
    return path if path.suffix else path.with_suffix(".yml")


def _modules_of_tasks(path: Path, role: Path | None, seen: set) -> set[str]:
    if path in seen:
        return set()
    seen.add(path)
    return _modules_of_list(yaml.safe_load(path.read_text()) or [], path, role, seen)


def _modules_of_list(tasks: list, path: Path, role: Path | None, seen: set) -> set[str]:
    found = set()
    stack = list(tasks)
    while stack:
        task = stack.pop()
        for key in ("block", "rescue", "always"):
            stack += task.get(key) or []
        action = next((k for k in task if k not in TASK_KEYS), None)
        if action is None:
            continue
        arg = task[action]
        if action in INCLUDE_TASKS:
            name = arg["file"] if isinstance(arg, dict) else arg
            assert "{{" not in name, f"{path}: templated include {name!r} cannot be checked"
            found |= _modules_of_tasks(_task_file(role / "tasks" if role else path.parent, name), role, seen)
        elif action in INCLUDE_ROLE:
            found |= _modules_of_role(arg["name"], arg.get("tasks_from", "main"), seen)
        else:
            found.add(action)
    return found


def _modules_of_role(name: str, entry: str, seen: set) -> set[str]:
    role = _role_dir(name)
    return _modules_of_tasks(_task_file(role / "tasks", entry), role, seen)


def _modules_of_playbook(path: Path, seen: set) -> set[str]:
    found = set()
    for play in yaml.safe_load(path.read_text()):
        imported = play.get("ansible.builtin.import_playbook")
        if imported:
            found |= _modules_of_playbook(path.parent / imported, seen)
            continue
        for role in play.get("roles") or []:
            found |= _modules_of_role(role if isinstance(role, str) else role["role"], "main", seen)
        for key in ("pre_tasks", "tasks", "post_tasks"):
            found |= _modules_of_list(play.get(key) or [], path, None, seen)
    return found


def test_the_walker_sees_provisioning_where_it_is():
    modules = _modules_of_playbook(REPO / "playbooks" / "provision_cluster.yml", set())
    assert {"openedx_scale.oke.oke_cluster", "openedx_scale.oke.oke_node_pool", "openedx_scale.oke.oke_kubeconfig"} <= modules, modules


@pytest.mark.parametrize("playbook", STAGES)
def test_stage_never_calls_a_provisioning_module(playbook):
    modules = _modules_of_playbook(REPO / "playbooks" / playbook, set())
    assert "kubernetes.core.k8s" in modules, f"the walker found too little in {playbook}: {sorted(modules)}"
    assert not modules & PROVISIONING, f"{playbook} can reach provisioning modules {sorted(modules & PROVISIONING)}"


def test_deploy_fetches_the_kubeconfig_read_only():
    modules = _modules_of_role("openedx_scale.oke.oke_cluster", "kubeconfig", set())
    # The spec check (an assert on the controller) first, then the one OCI module, which only reads.
    assert modules == {"ansible.builtin.assert", "openedx_scale.oke.oke_kubeconfig"}, modules
