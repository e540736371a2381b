"""Unit tests of the openedx_scale_oke Tutor plugin (roles/tutor/files/tutor_plugin).

Pure helpers are tested in-process; the templates are rendered by the real Tutor in a scratch root.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
PLUGIN_ROOT = REPO / "roles" / "tutor" / "files" / "tutor_plugin"
TUTOR = Path(sys.executable).parent / "tutor"
HOSTS = ",".join(f"mongodb-{i}.mongodb-headless.openedx.svc.cluster.local" for i in range(3))


@pytest.fixture(scope="module")
def plugin():
    spec = importlib.util.spec_from_file_location("openedx_scale_oke_under_test", PLUGIN_ROOT / "openedx_scale_oke.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_seeded_stream_is_deterministic_and_seed_dependent(plugin):
    a, b, c = plugin.SeededStream("s1"), plugin.SeededStream("s1"), plugin.SeededStream("s2")
    first = [a.random_string(24), a.uuid(4), a.random_string(8)]
    assert first == [b.random_string(24), b.uuid(4), b.random_string(8)]
    assert first[0] != c.random_string(24)
    assert len(first[0]) == 24 and first[0].isalnum()
    assert first[1][14] == "4", "a version-4 UUID"


def test_seeded_rsa_key_is_deterministic_and_valid(plugin):
    from Crypto.PublicKey import RSA

    pem = plugin.SeededStream("k").rsa_private_key(2048)
    assert pem == plugin.SeededStream("k").rsa_private_key(2048)
    key = RSA.import_key(pem)
    assert key.has_private() and key.size_in_bits() == 2048


def test_seeded_uuid_refuses_other_versions(plugin):
    with pytest.raises(ValueError, match="only uuid4"):
        plugin.SeededStream("x").uuid(1)


def test_uwsgi_ini_lines(plugin):
    ini = plugin.uwsgi_ini(16000, 8192, 8192)
    assert "buffer-size = 16000" in ini and "post-buffering = 8192" in ini and "post-buffering-bufsize = 8192" in ini
    assert "threads = $(UWSGI_THREADS)" in ini
    # An immediate option: `listen = $(UWSGI_LISTEN)` would be a backlog of 0 (uWSGI reads the env itself).
    assert not any(line.startswith("listen") for line in ini.splitlines())


@pytest.mark.parametrize(("args", "message"), [
    ((16000, True, 8192), "post_buffering must be a positive number of bytes"),
    ((70000, 8192, 8192), "at most 65535"),
    ((16000, 8192, 0), "post_buffering_bufsize must be a positive"),
])
def test_uwsgi_ini_rejects_bad_values(plugin, args, message):
    with pytest.raises(ValueError, match=message):
        plugin.uwsgi_ini(*args)


def test_mongodb_members_must_match_mongodb_host(plugin):
    assert plugin.mongodb_members(HOSTS, 3, "openedx") == HOSTS.split(",")
    with pytest.raises(ValueError, match="MONGODB_HOST must list the 3 replica-set members"):
        plugin.mongodb_members("mongodb", 3, "openedx")


def tutor_save(root: Path, *settings: str, seed: str | None = "unit") -> subprocess.CompletedProcess:
    root.mkdir(parents=True, exist_ok=True)
    (root / "config.yml").write_text(yaml.safe_dump({"PLUGINS": ["openedx_scale_oke"], "MONGODB_HOST": HOSTS}))
    env = dict(os.environ, TUTOR_ROOT=str(root), TUTOR_PLUGINS_ROOT=str(PLUGIN_ROOT), PYTHONDONTWRITEBYTECODE="1",
               TUTOR_IGNORE_ENTRYPOINT_PLUGINS="1")
    env.pop("OPENEDX_SCALE_OKE_RENDER_SEED", None)
    if seed:
        env["OPENEDX_SCALE_OKE_RENDER_SEED"] = seed
    args = [str(TUTOR), "config", "save"]
    for setting in settings:
        args += ["--set", setting]
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)


def test_render_seed_makes_tutor_secrets_reproducible(tmp_path):
    for name in ("a", "b"):
        res = tutor_save(tmp_path / name)
        assert res.returncode == 0, res.stderr
    assert (tmp_path / "a" / "config.yml").read_bytes() == (tmp_path / "b" / "config.yml").read_bytes()
    config = yaml.safe_load((tmp_path / "a" / "config.yml").read_text())
    for key in ("ID", "JWT_RSA_PRIVATE_KEY", "MONGODB_PASSWORD", "REDIS_PASSWORD", "OPENEDX_SCALE_OKE_MONGODB_KEYFILE"):
        assert config[key], key
    # Without the seed Tutor's own generators run: fresh secrets every time.
    res = tutor_save(tmp_path / "c", seed=None)
    assert res.returncode == 0, res.stderr
    assert yaml.safe_load((tmp_path / "c" / "config.yml").read_text())["ID"] != config["ID"]


def test_preferred_anti_affinity_when_one_pod_per_node_is_off(tmp_path):
    res = tutor_save(tmp_path, "OPENEDX_SCALE_OKE_LMS_ONE_POD_PER_NODE=false")
    assert res.returncode == 0, res.stderr
    docs = list(yaml.safe_load_all((tmp_path / "env" / "k8s" / "override.yml").read_text()))
    lms = next(d for d in docs if d and d["metadata"]["name"] == "lms")
    anti = lms["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert "requiredDuringSchedulingIgnoredDuringExecution" not in anti
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"]["topologyKey"] == "kubernetes.io/hostname"


def test_mfe_resources_only_with_the_mfe_plugin(tmp_path):
    # tutor-mfe is not enabled here: no HPA and no override for a Deployment that does not exist.
    res = tutor_save(tmp_path)
    assert res.returncode == 0, res.stderr
    autoscaling = tmp_path / "env" / "plugins" / "openedx_scale_oke" / "k8s" / "autoscaling.yml.j2"
    hpas = [d["metadata"]["name"] for d in yaml.safe_load_all(autoscaling.read_text()) if d]
    assert sorted(hpas) == ["caddy", "cms", "cms-worker", "lms-worker"]
    kustomized = subprocess.run([str(Path(sys.executable).parent / "kubectl"), "kustomize", str(tmp_path / "env")],
                                capture_output=True, text=True, timeout=120, check=False)
    assert kustomized.returncode == 0, kustomized.stderr


def test_wrong_mongodb_host_is_a_clear_error(tmp_path):
    res = tutor_save(tmp_path, "MONGODB_HOST=mongodb")
    assert res.returncode != 0
    assert "MONGODB_HOST must list the 3 replica-set members" in res.stdout + res.stderr


def test_redis_string_quotes_for_the_real_redis_server(plugin, tmp_path):
    """Debian's redis-server parses the quoted requirepass back to the password, whatever it contains."""
    from tests.helpers import redis

    password = 'p@ss "word" \\ with spaces'
    conf = f"maxmemory 10mb\nrequirepass {plugin.redis_string(password)}\n"
    with redis.serve(conf, tmp_path, password=password) as port:
        with pytest.raises(RuntimeError, match="NOAUTH"):
            redis.command(port, "PING")
        assert redis.command(port, "PING", password=password) == "PONG"
    with pytest.raises(ValueError, match="REDIS_PASSWORD is empty"):
        plugin.redis_string("")


@pytest.mark.parametrize(("cpu", "processes"), [("500m", 1), ("1", 1), ("1500m", 2), ("2", 2), (3, 3), ("100m", 1)])
def test_celery_concurrency_follows_the_cpu_request(plugin, cpu, processes):
    assert plugin.celery_concurrency(cpu) == processes


def test_celery_concurrency_refuses_a_bad_quantity(plugin):
    with pytest.raises(ValueError, match="not a Kubernetes CPU quantity: 'two'"):
        plugin.celery_concurrency("two")


def test_lms_pool_toleration(plugin):
    assert plugin.lms_pool_toleration("") == []
    assert plugin.lms_pool_toleration("openedx-scale/pool=lms:NoSchedule") == [
        {"key": "openedx-scale/pool", "operator": "Equal", "value": "lms", "effect": "NoSchedule"}]
    with pytest.raises(ValueError, match="LMS_POOL_TAINT must be key=value:Effect"):
        plugin.lms_pool_toleration("openedx-scale/pool=lms:Sometimes")


INIT_TASKS = """
import json, sys
from tutor import config as tutor_config, env as tutor_env, hooks
from tutor.commands import jobs  # registers the core init tasks on CORE_READY
hooks.Actions.CORE_READY.do()
hooks.Actions.PROJECT_ROOT_READY.do(sys.argv[1])  # loads the enabled plugins, as the tutor CLI does
config = tutor_config.load(sys.argv[1])
print(json.dumps([[service, tutor_env.render_str(config, task)] for service, task in hooks.Filters.CLI_DO_INIT_TASKS.iterate()]))
"""


def init_tasks(root: Path, *settings: str) -> list:
    """The init scripts `tutor k8s do init` would run, rendered by Tutor itself with the plugin loaded."""
    res = tutor_save(root, *settings)
    assert res.returncode == 0, res.stderr
    env = dict(os.environ, TUTOR_ROOT=str(root), TUTOR_PLUGINS_ROOT=str(PLUGIN_ROOT), PYTHONDONTWRITEBYTECODE="1",
               TUTOR_IGNORE_ENTRYPOINT_PLUGINS="1")
    out = subprocess.run([sys.executable, "-c", INIT_TASKS, str(root)], env=env, capture_output=True, text=True,
                         timeout=300, check=False)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_search_branch(script: str, tmp_path: Path) -> list:
    """bash runs the rendered lms init up to the OAuth step, with the programs it calls recording their argv."""
    head = script.split("# Create oauth2 apps", maxsplit=1)[0]
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "calls"
    for name in ("dockerize", "manage.py"):
        tool = bin_dir / name
        tool.write_text(f'#!/bin/sh\nprintf "%s\\n" "{name} $*" >> {log}\n')
        tool.chmod(0o755)
    res = subprocess.run(["bash", "-e", "-c", head.replace("./manage.py", "manage.py")], env={"PATH": f"{bin_dir}:/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=60, check=False)
    assert res.returncode == 0, res.stderr
    return log.read_text().splitlines()


@pytest.mark.parametrize("backend", ["meilisearch", "elasticsearch"])
def test_init_search_branch_follows_the_backend(tmp_path, backend):
    tasks = init_tasks(tmp_path / "root", f"OPENEDX_SCALE_OKE_SEARCH_BACKEND={backend}",
                       f"RUN_MEILISEARCH={'true' if backend == 'meilisearch' else 'false'}")
    lms_init = next(script for service, script in tasks if service == "lms" and "manage.py lms migrate" in script)
    calls = run_search_branch(lms_init, tmp_path)
    assert "manage.py lms migrate" in calls
    meili_indexes = 'manage.py lms shell -c import search.meilisearch; search.meilisearch.create_indexes()'
    key_task = [script for service, script in tasks if "meilisearch.Client(" in script]
    if backend == "meilisearch":
        assert meili_indexes in calls and not any("elasticsearch" in c for c in calls)
        assert len(key_task) == 1, "Tutor's Meilisearch API-key task runs with Meilisearch"
    else:
        assert meili_indexes not in calls and "search.meilisearch" not in lms_init
        assert "dockerize -wait tcp://elasticsearch:9200 -timeout 300s" in calls
        assert not key_task, "no Meilisearch API-key task without Meilisearch"
