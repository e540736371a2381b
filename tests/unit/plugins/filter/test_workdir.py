"""Unit tests of the workdir filter: the controller's working directory, never inside an installed collection."""

from __future__ import annotations

import pytest

from tests.helpers.ansible import load_collections

# The collection loader first (as ansible-playbook does), so that later tests still find the collection's plugins.
load_collections()

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.filter.workdir import workdir  # noqa: E402


@pytest.mark.parametrize("empty", ["", "  ", None])
def test_empty_is_the_user_cache(empty, monkeypatch, tmp_path):
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert workdir(empty) == str(tmp_path / ".cache" / "openedx-scale")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert workdir(empty) == str(tmp_path / "xdg" / "openedx-scale")


def test_relative_and_home_paths_become_absolute(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert workdir("~/w") == str(tmp_path / "w")
    assert workdir("w2") == str(tmp_path / "w2")


def test_inside_a_collection_tree_is_refused_naming_the_setting(tmp_path):
    inside = tmp_path / "collections" / "ansible_collections" / "openedx_scale" / "oke" / "build"
    with pytest.raises(AnsibleFilterError, match=r"openedx_scale_workdir=.*ansible_collections"):
        workdir(str(inside))


def test_a_link_into_a_collection_tree_is_refused(tmp_path):
    target = tmp_path / "ansible_collections" / "x"
    target.mkdir(parents=True)
    (tmp_path / "link").symlink_to(target)
    with pytest.raises(AnsibleFilterError, match="openedx_scale_workdir"):
        workdir(str(tmp_path / "link"))
