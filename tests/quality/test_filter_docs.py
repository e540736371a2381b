"""Every filter the collection ships is documented: `ansible-doc -t filter openedx_scale.oke.<name>` renders it
(ansible-core reads plugins/filter/<name>.yml), with a description, examples and a return value."""

from __future__ import annotations

import ast
import json

import pytest

from .conftest import REPO, run


def _filters() -> list[str]:
    """Every name a FilterModule in plugins/filter returns (read from the code, documented or not).

    Parsed, not imported: importing ansible_collections.* here, before a test initialises Ansible's collection
    loader, would leave modules in sys.modules that the loader cannot see as filter plugins.
    """
    names = []
    for path in sorted((REPO / "plugins" / "filter").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.name == "filters":
                returned = next(n.value for n in ast.walk(node) if isinstance(n, ast.Return))
                names += sorted(key.value for key in returned.keys if isinstance(key, ast.Constant))
    return names


FILTERS = _filters()


def test_filters_found():
    assert "lms_sizing" in FILTERS and len(FILTERS) == len(set(FILTERS)), FILTERS


@pytest.mark.parametrize("name", FILTERS)
def test_ansible_doc_renders_the_filter(name):
    res = run(["ansible-doc", "-t", "filter", "--json", f"openedx_scale.oke.{name}"], timeout=300)
    assert res.returncode == 0 and "Missing documentation" not in res.stderr + res.stdout, res.stdout + res.stderr
    doc = json.loads(res.stdout)[f"openedx_scale.oke.{name}"]
    assert doc["doc"]["name"] == name and doc["doc"]["description"] and doc["doc"]["short_description"], doc
    assert "_input" in doc["doc"].get("options", {}), f"{name}: document the filter's input as option _input"
    assert f"openedx_scale.oke.{name}" in (doc.get("examples") or ""), f"{name}: EXAMPLES must use the filter"
    assert "_value" in (doc.get("return") or {}), f"{name}: RETURN must describe _value"
