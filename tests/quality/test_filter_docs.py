"""Every filter the collection ships is documented: `ansible-doc -t filter openedx_scale.oke.<name>` renders it
(ansible-core reads plugins/filter/<name>.yml), with a description, examples and a return value."""

from __future__ import annotations

import importlib
import json
import sys

import pytest

from .conftest import REPO, run


def _filters() -> list[str]:
    """Every name a FilterModule in plugins/filter returns (read from the code, documented or not)."""
    if str(REPO / "build" / "collections") not in sys.path:
        sys.path.insert(0, str(REPO / "build" / "collections"))
    names = []
    for path in sorted((REPO / "plugins" / "filter").glob("*.py")):
        module = importlib.import_module(f"ansible_collections.openedx_scale.oke.plugins.filter.{path.stem}")
        names += sorted(module.FilterModule().filters())
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
