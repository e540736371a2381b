"""Lint tier: ansible-lint (production profile, offline, no skip_list), yamllint, ruff, changelog."""

from __future__ import annotations

import shutil

import yaml

from .conftest import REPO, run


def test_ansible_lint_production_profile():
    cfg = yaml.safe_load((REPO / ".config" / "ansible-lint.yml").read_text())
    assert cfg["profile"] == "production"
    assert not cfg.get("skip_list"), "use a local '# noqa: rule  # reason' instead of skip_list"
    assert not (REPO / ".ansible-lint-ignore").exists()
    # A home of its own: the copy of this collection molecule installs in ~/.ansible (ansible-compat's prerun) would
    # win over the checkout and be linted in its place, stale after any change.
    home = REPO / "build" / "lint" / "ansible-home"
    shutil.rmtree(home, ignore_errors=True)
    home.mkdir(parents=True)
    res = run(["ansible-lint", "--offline", "--nocolor", "-f", "pep8"], env={"ANSIBLE_HOME": str(home)})
    assert res.returncode == 0, res.stdout + res.stderr


def test_noqa_comments_carry_a_reason():
    bare = []
    for path in REPO.glob("**/*.yml"):
        if any(part in (".venv", "build", "output") for part in path.parts):
            continue
        for no, line in enumerate(path.read_text().splitlines(), 1):
            if "# noqa" in line and "#" not in line.split("# noqa", 1)[1]:
                bare.append(f"{path.relative_to(REPO)}:{no}: {line.strip()}")
    assert not bare, "noqa without a reason:\n" + "\n".join(bare)


def test_yamllint_strict():
    res = run(["yamllint", "--strict", "."])
    assert res.returncode == 0, res.stdout + res.stderr


def test_ruff():
    res = run(["ruff", "check", "--no-cache", "."])
    assert res.returncode == 0, res.stdout + res.stderr


def test_changelog_lint():
    res = run(["antsibull-changelog", "lint"])
    assert res.returncode == 0, res.stdout + res.stderr
