"""One module_defaults group for the OCI modules: meta/runtime.yml's action group `oci` lists every module in
plugins/modules that takes the shared OCI options, and no task of the roles or playbooks types those options in
its own arguments (they come from `group/openedx_scale.oke.oci`, set once per role in vars/main.yml)."""

from __future__ import annotations

import re

import yaml

from .conftest import REPO

SHARED = ("deployment", "auth_type", "config_file", "profile", "service_endpoint", "wait_timeout", "retry_base_seconds")


def _tasks(node):
    """Every task mapping in a task list, blocks included."""
    if isinstance(node, list):
        for item in node:
            yield from _tasks(item)
    elif isinstance(node, dict):
        yield node
        for key in ("block", "rescue", "always", "tasks", "pre_tasks", "post_tasks", "handlers"):
            yield from _tasks(node.get(key))


def test_action_group_lists_every_oci_module():
    group = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["action_groups"]["oci"]
    shared = sorted(p.stem for p in (REPO / "plugins" / "modules").glob("*.py")
                    if re.search(r"\boci_module\b|\bcommon_args\(|\boci_common", p.read_text()))
    assert shared and set(shared) <= set(group), f"modules with the shared OCI options missing from the oci group: {sorted(set(shared) - set(group))}"


def test_no_task_types_the_shared_oci_options():
    group = yaml.safe_load((REPO / "meta" / "runtime.yml").read_text())["action_groups"]["oci"]
    modules = {f"openedx_scale.oke.{m}" for m in group}
    typed, grouped = [], 0
    for path in sorted([*(REPO / "roles").glob("*/tasks/*.yml"), *(REPO / "playbooks").glob("*.yml")]):
        for task in _tasks(yaml.safe_load(path.read_text())):
            grouped += "group/openedx_scale.oke.oci" in (task.get("module_defaults") or {})
            for module in modules & set(task):
                args = task[module] if isinstance(task[module], dict) else {}
                if set(SHARED) & set(args):
                    typed.append(f"{path.relative_to(REPO)}: {task.get('name')} sets {sorted(set(SHARED) & set(args))}")
    assert grouped >= 1
    assert not typed, "shared OCI options belong in module_defaults group/openedx_scale.oke.oci:\n" + "\n".join(typed)
