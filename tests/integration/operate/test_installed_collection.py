"""The collection as a user gets it: `ansible-galaxy collection build`, installed into a temporary collections path,
its stages run as `ansible-playbook openedx_scale.oke.<playbook>` from a directory of the user's, with no ansible.cfg
of ours. Everything the controller writes lands in the working directory (openedx_scale_workdir, by default
~/.cache/openedx-scale) or where the user pointed it; nothing is written under `ansible_collections/`.

Stages: deploy (render mode, the real Tutor, helm and kubectl kustomize) and the load test up to the locust role's
preflight (the master and workers are this host; the LMS port is closed), which on the Kubernetes test bed writes
the users CSV from the seeding's Secret and reads it back through the locust role's default."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import yaml

from tests.helpers import helm
from tests.helpers.ansible import REPO, VENV_BIN
from tests.helpers.net import free_port
from tests.rehearsal import inventory_path
from tests.sandbox.kube.fixtures import kube_testbed

__all__ = ["kube_testbed"]
SECRET = "openedx-scale-loadtest-users"  # loadtest_seed_secret's default


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every file and directory under `root` with its size and modification time."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            stat = path.lstat()
            found[str(path.relative_to(root))] = (stat.st_size, stat.st_mtime_ns)
    return found


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A user's controller: the built tarball installed into a collections path of its own, a home and a cwd."""
    top = tmp_path_factory.mktemp("user")
    build, collections, home, cwd = (top / name for name in ("build", "collections", "home", "cwd"))
    for path in (build, home, cwd):
        path.mkdir()
    env = {**os.environ, "HOME": str(home), "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
           "ANSIBLE_NOCOLOR": "true", "ANSIBLE_COLLECTIONS_PATH": str(collections)}
    env.pop("ANSIBLE_CONFIG", None)
    env.pop("XDG_CACHE_HOME", None)
    subprocess.run([VENV_BIN / "ansible-galaxy", "collection", "build", "--output-path", build, REPO], env=env, cwd=cwd, check=True,
                   capture_output=True)
    tarballs = sorted(build.glob("openedx_scale-oke-*.tar.gz"))
    assert len(tarballs) == 1, tarballs
    tarball = tarballs[0]
    # The dependencies (kubernetes.core, awx.awx, ...) come from the environment's ansible package, as for a user.
    subprocess.run([VENV_BIN / "ansible-galaxy", "collection", "install", "--no-deps", "-p", collections, tarball], env=env, cwd=cwd,
                   check=True, capture_output=True)
    installed = collections / "ansible_collections"
    assert (installed / "openedx_scale" / "oke" / "MANIFEST.json").is_file()
    assert not (installed / "openedx_scale" / "oke").is_symlink()
    yield {"env": env, "home": home, "cwd": cwd, "installed": installed, "before": _tree(installed)}


def ansible_playbook(user, playbook: str, inventory: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(VENV_BIN / "ansible-playbook"), "-i", str(inventory), f"openedx_scale.oke.{playbook}", *args],
                          env={**user["env"], **(env or {})}, cwd=user["cwd"], capture_output=True, text=True, timeout=1800,
                          check=False)


def assert_collection_untouched(user):
    after = _tree(user["installed"])
    changed = sorted(name for name in after if user["before"].get(name) != after[name])
    assert not changed, f"written inside the installed collection: {changed[:20]}"


def test_the_playbooks_run_from_the_installed_collection(user):
    run = ansible_playbook(user, "deploy_openedx", inventory_path("sandbox"), "--list-tasks")
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    run = subprocess.run([str(VENV_BIN / "ansible-doc"), "-t", "role", "-l", "openedx_scale.oke"], env=user["env"], cwd=user["cwd"],
                         capture_output=True, text=True, check=False)
    assert "openedx_scale.oke.locust" in run.stdout, run.stdout + run.stderr


def test_deploy_render_writes_only_where_the_user_said(user, tmp_path):
    out = tmp_path / "render"
    run = ansible_playbook(user, "deploy_openedx", inventory_path("sandbox"), "-e", f"openedx_scale_render_dir={out}",
                           # the charts from source and the helm built here (the inventory reads them from the environment)
                           env=helm.playbook_env())
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-3000:]
    assert (out / "openedx.yaml").is_file() and (out / "ingress-nginx.yaml").is_file()
    assert_collection_untouched(user)


def _loadtest_inventory(tmp_path, kubeconfig: str, namespace: str) -> Path:
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False}
    inventory = {"all": {
        # No users CSV, no reports or wheelhouse directory: the roles' defaults, in the working directory.
        "vars": {"openedx_scale_kubeconfig": kubeconfig, "openedx_scale_namespace": namespace, "openedx_scale_target_users": 8,
                 "openedx_scale_lms_host": "lms.example.test", "openedx_scale_kubectl": str(VENV_BIN / "kubectl"),
                 "locust_host": f"http://127.0.0.1:{free_port()}", "locust_worker_processes": 2, "locust_think_time": [1, 2],
                 "locust_ramp_hold": 10},
        "hosts": {"localhost": local},
        "children": {"locust_master": {"hosts": {"m1": local}}, "locust_workers": {"hosts": {"w1": local, "w2": local}}},
    }}
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inventory))
    return path


def test_loadtest_writes_the_users_csv_in_the_working_directory(user, kube_testbed, tmp_path):
    from kubernetes import client

    core = client.CoreV1Api(kube_testbed.client())
    namespace = f"ic-{uuid.uuid4().hex[:6]}"
    core.create_namespace({"metadata": {"name": namespace}})
    password = f"Pw{uuid.uuid4().hex}"
    kept = {"password": password, "prefix": "ic", "domain": "example.com", "users": "8", "complete": "true"}
    core.create_namespaced_secret(namespace, {"metadata": {"name": SECRET}, "stringData": kept})
    try:
        run = ansible_playbook(user, "loadtest", _loadtest_inventory(tmp_path, str(kube_testbed.kubeconfig), namespace))
    finally:
        core.delete_namespace(namespace)
    # Stopped in the locust role's preflight at the closed LMS port, after the CSV was written, read and split.
    assert run.returncode != 0 and "locust_host" in run.stdout, run.stdout[-4000:] + run.stderr[-2000:]
    assert "Traceback (most recent call last)" not in run.stdout
    csv = user["home"] / ".cache" / "openedx-scale" / "loadtest" / "users.csv"
    assert csv.is_file(), run.stdout[-4000:]
    assert csv.stat().st_mode & 0o077 == 0, "the users CSV holds passwords: 0600"
    rows = csv.read_text().splitlines()
    assert rows[0] == "username,email,password" and rows[1:] == [f"ic_{i},ic_{i}@example.com,{password}" for i in range(8)]
    assert_collection_untouched(user)
    assert not list(user["cwd"].iterdir()), "nothing written in the user's directory either"
