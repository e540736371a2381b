"""Render mode of playbooks/deploy_openedx.yml with the real Tutor and `kubectl kustomize`, for both inventories.

The assertions read the rendered manifests (what would be applied), never our own variables: uWSGI ini
values, placement, annotations, replica-set members, Secrets, schema validity, byte-identical re-renders.
"""

from __future__ import annotations

import configparser
import filecmp
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.helpers import redis, uwsgi
from tests.helpers.ansible import REPO, VENV_BIN, assert_ok, run_playbook

PLAYBOOK = REPO / "playbooks" / "deploy_openedx.yml"
FILES = ("openedx.yaml", "datastores.yaml", "ingress-nginx.yaml")
POOL = "openedx-scale/pool"
K8S_VERSION = "1.35.0"

# What each inventory must produce (from its group_vars and the oke_cluster pools they reference).
EXPECT = {
    "sandbox": {"lms_host": "lms.sandbox.test", "lms_nodes": 2, "services_nodes": 1, "ratelimits": True, "tls": None},
    "example-jeddah": {"lms_host": "learn.example.edu.sa", "lms_nodes": 5, "services_nodes": 2, "ratelimits": True, "tls": "openedx-tls"},
}
CASE_STUDY_ANNOTATIONS = {
    # The case study's set, in the forms ingress-nginx's annotation parsers accept: proxy-*-timeout pass
    # parser.ValidateInt (bare seconds); keep-alive-requests and timeout-socket are ConfigMap-only.
    "nginx.ingress.kubernetes.io/limit-connections": "5000",
    "nginx.ingress.kubernetes.io/proxy-body-size": "500M",
    "nginx.ingress.kubernetes.io/proxy-connect-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-read-timeout": "3600",
    "nginx.ingress.kubernetes.io/proxy-send-timeout": "3600",
    "nginx.ingress.kubernetes.io/service-upstream": "true",
    "nginx.ingress.kubernetes.io/ssl-redirect": "true",
}
# Annotations ingress-nginx ignores: keep-alive-requests and timeout-socket have no annotation parser.
NO_OP_ANNOTATIONS = ("nginx.ingress.kubernetes.io/keep-alive-requests", "nginx.ingress.kubernetes.io/timeout-socket")


def render(inventory: str | Path, out: Path, verbosity: int = 0, **extravars):
    """Render with the inventory named `inventory` (or the inventory directory `inventory`)."""
    # Reuse the collection's own Tutor and kubectl instead of installing a venv per test.
    variables = {"openedx_render_dir": str(out), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl")}
    variables.update(extravars)
    path = inventory if isinstance(inventory, Path) else REPO / "inventories" / inventory
    return run_playbook(PLAYBOOK, path, extravars=variables, verbosity=verbosity)


@pytest.fixture(scope="module", params=sorted(EXPECT))
def rendered(request, tmp_path_factory):
    inventory = request.param
    first = tmp_path_factory.mktemp(f"{inventory}-1")
    second = tmp_path_factory.mktemp(f"{inventory}-2")
    run1 = render(inventory, first)
    assert_ok(run1)
    run2 = render(inventory, second)
    assert_ok(run2)
    objects = []
    for name in FILES:
        objects += [doc for doc in yaml.safe_load_all((first / name).read_text()) if doc]
    return {"inventory": inventory, "expect": EXPECT[inventory], "dirs": (first, second), "objects": objects, "run": run1}


def find(objects, kind, name=None, prefix=None):
    hits = [o for o in objects if o["kind"] == kind and (name is None or o["metadata"]["name"] == name)
            and (prefix is None or o["metadata"]["name"].startswith(prefix))]
    return hits


def one(objects, kind, name=None, prefix=None):
    hits = find(objects, kind, name, prefix)
    assert len(hits) == 1, f"expected one {kind} {name or prefix}, found {[h['metadata']['name'] for h in hits]}"
    return hits[0]


def env_of(container):
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_render_writes_every_file_and_is_byte_identical(rendered):
    first, second = rendered["dirs"]
    for name in FILES:
        assert (first / name).stat().st_size > 1000, name
    match, mismatch, errors = filecmp.cmpfiles(first, second, FILES, shallow=False)
    assert sorted(match) == sorted(FILES), f"re-render differs: {mismatch} {errors}"


def test_every_object_is_schema_valid(rendered):
    kinds = set()
    for obj in rendered["objects"]:
        kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        kinds.add(obj["kind"])
    assert {"Deployment", "StatefulSet", "Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Secret", "IngressClass"} <= kinds


def test_render_applies_nothing(rendered):
    # Nothing in the run talks to a cluster: no k8s task ran, no tutor k8s command ran.
    ran = [ev["event_data"].get("task_action") for ev in rendered["run"].events if ev.get("event") in ("runner_on_ok", "runner_on_failed")]
    assert "kubernetes.core.k8s" not in ran and "kubernetes.core.k8s_info" not in ran
    assert not rendered["run"].results("Apply Open edX with tutor k8s start")


def test_uwsgi_ini_and_per_service_values(rendered):
    objects = rendered["objects"]
    ini_map = one(objects, "ConfigMap", prefix="openedx-uwsgi-config")["data"]["uwsgi.ini"]
    # Later lines win in uWSGI: read the ini with repeated keys keeping the last value.
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.read_string(ini_map)
    ini = parser["uwsgi"]
    assert ini["buffer-size"] == "16000"
    assert ini["post-buffering"] == "8192", "post-buffering must be a byte count (true disables it)"
    assert ini["post-buffering-bufsize"] == "8192"
    assert ini["threads"] == "$(UWSGI_THREADS)" and ini["harakiri"] == "$(UWSGI_HARAKIRI)"
    # `listen` is immediate in uWSGI (read before $(VAR) expansion): any ini line for it would win over
    # UWSGI_LISTEN from the environment, and `$(UWSGI_LISTEN)` there means a backlog of 0.
    assert "listen" not in ini
    assert "http-keepalive = 1" in ini_map, "Tutor's keep-alive fix must stay"

    lms = one(objects, "Deployment", "lms")["spec"]["template"]["spec"]["containers"][0]
    cms = one(objects, "Deployment", "cms")["spec"]["template"]["spec"]["containers"][0]
    lms_env, cms_env = env_of(lms), env_of(cms)
    # Sized to a 30-OCPU / 128 GB node: 54 processes x 2 threads per pod.
    assert lms_env["UWSGI_WORKERS"] == "54" and lms_env["UWSGI_THREADS"] == "2"
    assert lms_env["UWSGI_LISTEN"] == "1024" and lms_env["UWSGI_HARAKIRI"] == "120"
    assert cms_env["UWSGI_WORKERS"] == "4" and cms_env["UWSGI_THREADS"] == "2" and cms_env["UWSGI_HARAKIRI"] == "300"
    for container in (lms, cms):
        assert {"mountPath": "/openedx/uwsgi.ini", "name": "uwsgi-config", "subPath": "uwsgi.ini"} in container["volumeMounts"]


@pytest.mark.parametrize("service", ["lms", "cms"])
def test_real_uwsgi_runs_the_rendered_ini(rendered, service, tmp_path):
    """PyPI uWSGI on the rendered ini with the Deployment's environment: what uWSGI and the kernel report."""
    objects = rendered["objects"]
    ini = one(objects, "ConfigMap", prefix="openedx-uwsgi-config")["data"]["uwsgi.ini"]
    container = one(objects, "Deployment", service)["spec"]["template"]["spec"]["containers"][0]
    env = {k: v for k, v in env_of(container).items() if k.startswith("UWSGI_") and v is not None}
    env["SERVICE_VARIANT"] = service
    with uwsgi.serve(ini, env, tmp_path) as (port, log):
        seen = uwsgi.report(port)
        # Processes and threads as sized, the buffers and harakiri as configured, in uWSGI's own parse.
        assert seen["numproc"] == int(env["UWSGI_WORKERS"])
        assert seen["opt"]["threads"] == env["UWSGI_THREADS"] and seen["opt"]["harakiri"] == env["UWSGI_HARAKIRI"]
        assert seen["opt"]["buffer-size"] == "16000"
        assert seen["opt"]["post-buffering"] == "8192" and seen["opt"]["post-buffering-bufsize"] == "8192"
        # The backlog from the kernel, on the router's socket: `listen = $(UWSGI_LISTEN)` in the ini gave 0.
        assert uwsgi.listen_backlog(port) == int(env["UWSGI_LISTEN"]) == 1024
        assert f"listen backlog is limited to {env['UWSGI_LISTEN']} connections" in log.read_text()
        # buffer-size 16000: a 12,000-byte header passes, a 17,000-byte one is refused by the worker.
        assert uwsgi.request(port, header_bytes=12000)[0] == 200
        assert uwsgi.request(port, header_bytes=17000)[0] != 200
        assert "invalid request block size" in log.read_text()
        # A body beyond post-buffering reaches the app whole (uWSGI buffered it to a temp file first).
        status, body = uwsgi.request(port, body=b"x" * 100_000)
        assert status == 200 and '"body": 100000' in body.decode()
        # A bounded burst of 3x the worker slots, each holding its slot 0.2 s: every one answered.
        slots = int(env["UWSGI_WORKERS"]) * int(env["UWSGI_THREADS"])
        burst = 3 * slots
        with ThreadPoolExecutor(max_workers=burst) as pool:
            statuses = list(pool.map(lambda _index: uwsgi.request(port, "/?sleep=0.2", timeout=30)[0], range(burst)))
        assert statuses.count(200) == burst, f"{statuses.count(200)}/{burst} answered"


def test_lms_placement(rendered):
    objects, expect = rendered["objects"], rendered["expect"]
    lms = one(objects, "Deployment", "lms")
    spec = lms["spec"]
    assert spec["replicas"] == expect["lms_nodes"]
    assert spec["strategy"] == {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 0, "maxUnavailable": 1}}
    pod = spec["template"]["spec"]
    assert pod["nodeSelector"] == {POOL: "lms"}
    terms = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"]
    assert terms[0]["topologyKey"] == "kubernetes.io/hostname"
    assert terms[0]["labelSelector"]["matchLabels"]["app.kubernetes.io/name"] == "lms"
    resources = pod["containers"][0]["resources"]
    assert resources["requests"] == {"cpu": "54", "memory": "108Gi"}
    assert "cpu" not in resources.get("limits", {}), "no CPU limit on the LMS"
    pdb = one(objects, "PodDisruptionBudget", "lms")
    assert pdb["spec"]["maxUnavailable"] == 1 and pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "lms"


def test_everything_else_on_the_services_pool(rendered):
    workloads = [o for o in rendered["objects"] if o["kind"] in ("Deployment", "StatefulSet", "Job") and o["metadata"]["name"] != "lms"]
    assert len(workloads) >= 10
    for obj in workloads:
        selector = obj["spec"]["template"]["spec"].get("nodeSelector")
        assert selector == {POOL: "services"}, f"{obj['kind']} {obj['metadata']['name']}: {selector}"


def test_autoscaling_everything_but_the_lms(rendered):
    objects = rendered["objects"]
    hpas = {h["metadata"]["name"]: h for h in find(objects, "HorizontalPodAutoscaler")}
    assert set(hpas) == {"cms", "cms-worker", "lms-worker", "mfe"}
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        target = one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert "cpu" in target["resources"]["requests"], f"{name}: HPA needs a CPU request"


def test_ingress_hosts_and_annotations(rendered):
    objects, expect = rendered["objects"], rendered["expect"]
    ingress = one(objects, "Ingress", "openedx")
    annotations = ingress["metadata"]["annotations"]
    for key, value in CASE_STUDY_ANNOTATIONS.items():
        assert annotations.get(key) == value, key
    assert not set(NO_OP_ANNOTATIONS) & set(annotations), "ingress-nginx has no parser for these: ConfigMap only"
    host = expect["lms_host"]
    rules = {r["host"]: r["http"]["paths"][0]["backend"]["service"] for r in ingress["spec"]["rules"]}
    assert set(rules) == {host, f"studio.{host}", f"apps.{host}", f"meilisearch.{host}"}
    assert all(backend == {"name": "caddy", "port": {"number": 80}} for backend in rules.values())
    assert ingress["spec"]["ingressClassName"] == "nginx"
    if expect["tls"]:
        assert ingress["spec"]["tls"][0]["secretName"] == expect["tls"]
    # Caddy stays behind the ingress: no LoadBalancer of its own.
    assert one(objects, "Service", "caddy")["spec"].get("type", "ClusterIP") == "ClusterIP"


def test_ingress_controller(rendered):
    objects = rendered["objects"]
    service = one(objects, "Service", "ingress-nginx-controller")
    assert service["spec"]["type"] == "LoadBalancer"
    annotations = service["metadata"]["annotations"]
    assert annotations["service.beta.kubernetes.io/oci-load-balancer-shape"] == "flexible"
    assert int(annotations["service.beta.kubernetes.io/oci-load-balancer-shape-flex-min"]) > 0
    assert int(annotations["service.beta.kubernetes.io/oci-load-balancer-shape-flex-max"]) >= 1000
    config = one(objects, "ConfigMap", "ingress-nginx-controller")["data"]
    assert config["keep-alive-requests"] == "5000"
    # The case study's timeout-socket 120 s, where nginx reads a client socket timeout.
    assert config["client-header-timeout"] == config["client-body-timeout"] == "120"
    assert int(config["upstream-keepalive-connections"]) > 0
    assert config["large-client-header-buffers"] == "8 16k" and config["client-header-buffer-size"] == "16k"
    assert int(config["max-worker-connections"]) >= 16384
    # limit-connections counts per client IP: the LB must hand the client IP over.
    assert config["use-proxy-protocol"] == "true"
    assert annotations["service.beta.kubernetes.io/oci-load-balancer-connection-proxy-protocol-version"] == "2"
    assert one(objects, "IngressClass", "nginx")["spec"]["controller"] == "k8s.io/ingress-nginx"


def test_mongodb_replica_set(rendered):
    objects = rendered["objects"]
    assert not find(objects, "Deployment", "mongodb"), "Tutor's single mongod must be off (RUN_MONGODB=false)"
    sts = one(objects, "StatefulSet", "mongodb")
    assert sts["spec"]["replicas"] == 3
    pod = sts["spec"]["template"]["spec"]
    assert pod["nodeSelector"] == {POOL: "services"}
    spread = pod["topologySpreadConstraints"][0]
    assert spread["topologyKey"] == "kubernetes.io/hostname" and spread["whenUnsatisfiable"] == "DoNotSchedule"
    scripts = one(objects, "ConfigMap", "mongodb-scripts")["data"]
    assert '--replSet "rs0"' in scripts["start.sh"] and "--keyFile /keyfile/keyfile" in scripts["start.sh"]
    members = [f"mongodb-{i}.mongodb-headless.openedx.svc.cluster.local" for i in range(3)]
    assert all(m in scripts["init.sh"] for m in members)
    assert sts["spec"]["volumeClaimTemplates"][0]["spec"]["storageClassName"] == "oci-bv"
    # The LMS is pointed at every member and the set (settings rendered by Tutor).
    settings = one(objects, "ConfigMap", prefix="openedx-settings-lms")["data"]
    common = next(v for k, v in settings.items() if "mongodb_parameters" in v)
    assert f'"host": "{",".join(members)}"' in common
    assert '"replicaSet": "rs0"' in common
    assert re.search(r'"user": "openedx"', common) and re.search(r'"authsource": "admin"', common)
    init = one(objects, "Job", "mongodb-init")
    assert init["spec"]["template"]["spec"]["restartPolicy"] == "OnFailure"


def test_redis_password_and_policy(rendered):
    objects = rendered["objects"]
    assert not find(objects, "Deployment", "redis")
    conf = one(objects, "ConfigMap", "redis-config")["data"]["redis.conf"]
    assert "maxmemory-policy volatile-lru" in conf and "allkeys" not in conf
    container = one(objects, "StatefulSet", "redis")["spec"]["template"]["spec"]["containers"][0]
    assert container["args"][-2:] == ["--requirepass", "$(REDIS_PASSWORD)"]
    assert container["env"][0]["valueFrom"]["secretKeyRef"] == {"name": "redis-auth", "key": "password"}


def test_real_redis_loads_the_rendered_conf(rendered, tmp_path):
    """Debian's redis-server loads the rendered redis.conf as it is and reports the policy it runs with."""
    conf = one(rendered["objects"], "ConfigMap", "redis-config")["data"]["redis.conf"]
    with redis.serve(conf, tmp_path) as port:
        assert redis.command(port, "CONFIG", "GET", "maxmemory-policy") == ["maxmemory-policy", "volatile-lru"]
        assert redis.command(port, "CONFIG", "GET", "appendonly") == ["appendonly", "yes"]
        maxmemory = int(redis.command(port, "CONFIG", "GET", "maxmemory")[1])
        assert maxmemory > 0, "maxmemory 0 means no limit: the pod would be OOM-killed instead of evicting"


def test_secrets_present(rendered):
    objects = rendered["objects"]
    mongo = one(objects, "Secret", "mongodb-auth")["stringData"]
    assert set(mongo) == {"root-username", "root-password", "app-username", "app-password", "keyfile"}
    assert len(mongo["keyfile"]) >= 6 and len(mongo["root-password"]) >= 16 and mongo["app-password"] != mongo["root-password"]
    redis = one(objects, "Secret", "redis-auth")["stringData"]
    assert len(redis["password"]) >= 16
    # The same password reaches the LMS settings.
    settings = one(objects, "ConfigMap", prefix="openedx-settings-lms")["data"]
    assert any(f"redis://default:{redis['password']}@redis:6379/1" in v for v in settings.values())


def test_volumes_on_oci_block_volumes(rendered):
    pvcs = find(rendered["objects"], "PersistentVolumeClaim")
    assert {p["metadata"]["name"] for p in pvcs} == {"meilisearch", "mysql"}
    for pvc in pvcs:
        assert pvc["spec"]["storageClassName"] == "oci-bv"
        assert pvc["spec"]["resources"]["requests"]["storage"] == "50Gi"


def test_login_rate_limits_follow_the_inventory(rendered):
    settings = one(rendered["objects"], "ConfigMap", prefix="openedx-settings-lms")["data"]
    text = "\n".join(settings.values())
    assert ("LOGISTRATION_RATELIMIT_RATE" in text) is rendered["expect"]["ratelimits"]
    assert ("LOGISTRATION_PER_EMAIL_RATELIMIT_RATE" in text) is rendered["expect"]["ratelimits"]


def test_sizing_table_and_warnings(rendered):
    out = " ".join(rendered["run"].stdout.split())  # the YAML callback wraps long lines
    assert "LMS sizing for" in out and "LMS pods = LMS nodes" in out
    if rendered["inventory"] == "example-jeddah":
        # 50,000 users need more LMS nodes than the case study's five: the warning must be loud.
        assert "WARNING: 5 LMS pods x 54 uWSGI processes x 2 threads carry about" in out
    # Fewer than 3 services nodes: the replica set survives no node loss, and says so.
    assert "survives 0 node loss(es) - NO node loss" in out
