"""The scratch Tutor root (config.yml and every secret) is removed however the stage ends (issue 30 item 3), and a
render directory that cannot be written is refused before Tutor runs.

The role's temporary directories follow TMPDIR (Python's tempfile, in the module process), so each run gets its own
and the test lists what is left in it.
"""

from __future__ import annotations

import re

import yaml

from tests.helpers.ansible import VENV_BIN, assert_ok, run_playbook
from tests.rehearsal import INVENTORY

from .test_render import PLAYBOOK


def deploy_render(tmp_path, **extravars):
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    variables = {"openedx_scale_render_dir": str(tmp_path / "out"), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl")}
    run = run_playbook(PLAYBOOK, INVENTORY, extravars={**variables, **extravars}, envvars={"TMPDIR": str(scratch)})
    return run, scratch


def chart_values_file(path) -> bool:
    """kubernetes.core 6.2's helm_template writes `release_values` to a mkstemp .yml and never removes it (upstream,
    plugins/modules/helm_template.py): the edge chart's values, which hold no secret (their keys are checked here)."""
    if not (path.name.startswith("tmp") and path.suffix == ".yml"):
        return False
    values = yaml.safe_load(path.read_text()) or {}
    chart_keys = {"controller", "defaultBackend", "fullnameOverride", "config", "deployment", "certgen", "global",
                  "topologyInjector", "podDisruptionBudget", "rbac"}
    return isinstance(values, dict) and set(values) <= chart_keys


def leftovers(scratch):
    return sorted(str(p.relative_to(scratch)) for p in scratch.rglob("*") if "ansible" not in p.name and not chart_values_file(p))


def test_scratch_root_removed_after_a_render(tmp_path):
    run, scratch = deploy_render(tmp_path)
    assert_ok(run)
    assert "Remove the scratch Tutor root" in run.stdout
    assert leftovers(scratch) == []


def test_scratch_root_removed_when_the_render_fails_after_tutor_saved_its_config(tmp_path):
    # kubectl kustomize is the first step after `tutor config save` wrote config.yml and the env with the secrets.
    run, scratch = deploy_render(tmp_path, tutor_kubectl="/bin/false")
    assert run.rc != 0, run.stdout[-3000:]
    assert "Build Tutor's manifests with kustomize" in run.stdout, run.stdout[-3000:]
    assert "Remove the scratch Tutor root" in run.stdout
    assert leftovers(scratch) == []


def test_unwritable_render_dir_is_refused_before_tutor_runs(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    run, scratch = deploy_render(tmp_path, openedx_scale_render_dir=str(blocker / "out"))
    assert run.rc != 0
    text = " ".join(run.stdout.split())
    # The first role's spec check refuses it (the edge's render dir is the same openedx_scale_render_dir).
    assert re.search(r"(tutor|ingress_nginx|envoy_gateway)_render_dir\b", text) and "not a directory" in text, text[-3000:]
    assert "Create the scratch Tutor root" not in run.stdout
    assert leftovers(scratch) == []
