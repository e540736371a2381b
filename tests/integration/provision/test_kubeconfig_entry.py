"""The oke_cluster role's `kubeconfig` entry point (what deploy_openedx.yml runs when its controller has no
kubeconfig): it writes the kubeconfig of the cluster the provision stage created and changes nothing in OCI; with
no such cluster it fails naming the fix, still changing nothing."""

from __future__ import annotations

import yaml

from tests.helpers.ansible import assert_ok, run_playbook

from .conftest import resources_view


def _fetch(stage, tmp_path, **extra):
    play = tmp_path / "fetch_kubeconfig.yml"
    play.write_text(yaml.safe_dump([{
        "name": "Fetch the kubeconfig", "hosts": "localhost", "gather_facts": False,
        "tasks": [{"name": "Fetch the kubeconfig of the existing cluster",
                   "ansible.builtin.include_role": {"name": "openedx_scale.oke.oke_cluster", "tasks_from": "kubeconfig"}}],
    }]))
    return run_playbook(play, extravars={**stage.extravars, **extra}, envvars=stage.env)


def test_kubeconfig_entry_only_reads(make_stage, tmp_path):
    stage = make_stage("ample")
    assert_ok(stage.play("provision_cluster"))
    kubeconfig = stage.workdir / "kubeconfig"
    written = yaml.safe_load(kubeconfig.read_text())
    kubeconfig.unlink()  # a fresh AWX job: the provision job's file is gone
    before = resources_view(stage.state())

    run = _fetch(stage, tmp_path)
    assert_ok(run)
    assert kubeconfig.is_file() and oct(kubeconfig.stat().st_mode & 0o777) == "0o600"
    fetched = yaml.safe_load(kubeconfig.read_text())
    assert fetched["clusters"] == written["clusters"] and fetched["users"] == written["users"]
    assert resources_view(stage.state()) == before, "the kubeconfig entry point changed OCI resources"

    missing = _fetch(stage, tmp_path, oke_cluster_name="no-such-cluster", openedx_scale_kubeconfig=str(tmp_path / "none"))
    assert missing.rc != 0
    assert "no cluster 'no-such-cluster'" in missing.stdout and "provision_cluster.yml" in missing.stdout, missing.stdout[-3000:]
    assert not (tmp_path / "none").exists()
    assert resources_view(stage.state()) == before
