"""tutor-discovery 22.0.0 renders its docker-compose dev patch with is_docker_rootless(), which runs `docker info` and
raises FileNotFoundError without a docker CLI. The role renders on controllers without one (the AWX execution
environment): with the openedx_scale_oke plugin, real Tutor renders discovery's manifests there."""

import subprocess

from tests.helpers.ansible import REPO, VENV_BIN

PLUGIN_ROOT = REPO / "roles" / "tutor" / "files" / "tutor_plugin"
HOSTS = ",".join(f"mongodb-{i}.mongodb-headless.openedx.svc.cluster.local" for i in range(3))


def save(tmp_path, plugins, plugins_root=PLUGIN_ROOT):
    env = {"TUTOR_ROOT": str(tmp_path / "root"), "TUTOR_PLUGINS_ROOT": str(plugins_root), "HOME": str(tmp_path),
           "PYTHONDONTWRITEBYTECODE": "1", "PATH": f"{VENV_BIN}:/usr/bin:/bin"}  # no docker CLI on it
    args = ["config", "save", "--set", f"MONGODB_HOST={HOSTS}", "--set", f"PLUGINS={plugins}"]
    # Twice: Tutor loads the plugins the stored config enables when it starts, so the second save renders with them.
    subprocess.run([str(VENV_BIN / "tutor"), *args], env=env, capture_output=True, text=True, check=False)
    return subprocess.run([str(VENV_BIN / "tutor"), "config", "save"], env=env, capture_output=True, text=True, check=False)


def test_discovery_renders_without_a_docker_cli(tmp_path):
    assert not any((p / "docker").exists() for p in (VENV_BIN,)), "a docker CLI in the venv would hide the case"
    plain = save(tmp_path / "plain", '["discovery"]', plugins_root=tmp_path / "none")
    assert plain.returncode != 0 and "No such file or directory: 'docker'" in plain.stderr, "tutor-discovery got fixed upstream?"
    ours = save(tmp_path / "ours", '["mfe", "discovery", "openedx_scale_oke"]')
    assert ours.returncode == 0, ours.stderr[-2000:]
    deployments = (tmp_path / "ours" / "root" / "env" / "k8s" / "deployments.yml").read_text()
    assert "name: discovery" in deployments and "Found conflicting template variables" not in ours.stdout + ours.stderr
