"""Render mode of playbooks/deploy_openedx.yml with the real Tutor and `kubectl kustomize`, for both inventories.

The assertions read the rendered manifests (what would be applied), never our own variables: uWSGI ini
values, placement, annotations, replica-set members, Secrets, schema validity, byte-identical re-renders.
"""

from __future__ import annotations

import base64
import configparser
import filecmp
import math
import re
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from tests.helpers import ingress_nginx, redis, uwsgi
from tests.helpers.ansible import REPO, VENV_BIN, assert_ok, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.kube import crds

PLAYBOOK = REPO / "playbooks" / "deploy_openedx.yml"
# What each edge writes beside Tutor's manifests.
EDGE_FILES = {"ingress-nginx": "ingress-nginx.yaml", "envoy-gateway": "envoy-gateway.yaml"}
POOL = "openedx-scale/pool"
K8S_VERSION = "1.35.0"

# What each inventory must produce (from its group_vars and the oke_cluster pools they reference).
EXPECT = {
    "sandbox": {"lms_host": "lms.sandbox.test", "lms_nodes": 2, "services_nodes": 1, "ratelimits": True, "tls": None,
                "edge": "ingress-nginx"},
    "example-jeddah": {"lms_host": "learn.example.edu.sa", "lms_nodes": 5, "services_nodes": 2, "ratelimits": True, "tls": "openedx-tls",
                       "edge": "envoy-gateway"},
}


def files(edge: str) -> tuple[str, ...]:
    return ("openedx.yaml", "datastores.yaml", EDGE_FILES[edge])


def load(out: Path, edge: str) -> list[dict]:
    return [doc for name in files(edge) for doc in yaml.safe_load_all((out / name).read_text()) if doc]


def render(inventory: str | Path, out: Path, verbosity: int = 0, **extravars):
    """Render with the inventory named `inventory` (or the inventory directory `inventory`)."""
    # Reuse the collection's own Tutor and kubectl instead of installing a venv per test.
    variables = {"openedx_render_dir": str(out), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl")}
    variables.update(extravars)
    path = inventory if isinstance(inventory, Path) else inventory_path(inventory)
    return run_playbook(PLAYBOOK, path, extravars=variables, verbosity=verbosity)


@pytest.fixture(scope="module", params=sorted(EXPECT))
def rendered(request, tmp_path_factory, edge_render):
    inventory = request.param
    edge = EXPECT[inventory]["edge"]
    # The inventory's own edge; the shared render is the first, a second one must match it byte for byte.
    first = edge_render(inventory, edge)
    second = tmp_path_factory.mktemp(f"{inventory}-2")
    assert_ok(render(inventory, second))
    return {"inventory": inventory, "expect": EXPECT[inventory], "dirs": (first["dir"], second), "objects": first["objects"],
            "run": first["run"], "files": files(edge)}


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
    names = rendered["files"]
    for name in names:
        assert (first / name).stat().st_size > 1000, name
    match, mismatch, errors = filecmp.cmpfiles(first, second, names, shallow=False)
    assert sorted(match) == sorted(names), f"re-render differs: {mismatch} {errors}"


@lru_cache(maxsize=1)
def crd_validator() -> crds.Validator:
    return crds.Validator()


def validate(objects) -> set[str]:
    """Core kinds against Kubernetes' schema, Gateway API / Envoy Gateway kinds against their CRDs; strict."""
    validator = crd_validator()
    kinds = set()
    for obj in objects:
        if validator.knows(obj):
            validator.validate(obj)
        else:
            kubernetes_validate.validate(obj, K8S_VERSION, strict=True)
        kinds.add(obj["kind"])
    return kinds


EDGE_KINDS = {
    "ingress-nginx": {"Ingress", "IngressClass"},
    "envoy-gateway": {"HTTPRoute", "GatewayClass", "Gateway", "EnvoyProxy", "ClientTrafficPolicy", "BackendTrafficPolicy"},
}


def test_every_object_is_schema_valid(rendered):
    kinds = validate(rendered["objects"])
    assert {"Deployment", "StatefulSet", "HorizontalPodAutoscaler", "PodDisruptionBudget", "Secret"} <= kinds
    assert EDGE_KINDS[rendered["expect"]["edge"]] <= kinds


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
    container = pod["containers"][0]
    resources = container["resources"]
    assert resources["requests"] == {"cpu": "54", "memory": "108Gi"}
    assert "cpu" not in resources.get("limits", {}), "no CPU limit on the LMS"
    assert "tolerations" not in pod, "the LMS pool taint is off by default"
    pdb = one(objects, "PodDisruptionBudget", "lms")
    assert pdb["spec"]["maxUnavailable"] == 1 and pdb["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] == "lms"


@pytest.mark.parametrize("service", ["lms", "cms"])
def test_lms_and_cms_probes(rendered, service):
    """Readiness gates the rollout: with maxSurge 0 / maxUnavailable 1 the next old pod goes only once the new one
    answers /heartbeat, so at most one LMS pod's capacity is ever missing; startup covers the slow imports."""
    container = one(rendered["objects"], "Deployment", service)["spec"]["template"]["spec"]["containers"][0]
    for name in ("startupProbe", "readinessProbe"):
        probe = container[name]
        assert probe["httpGet"] == {"path": "/heartbeat", "port": 8000, "httpHeaders": [{"name": "Host", "value": service}]}, name
        assert 0 < probe["timeoutSeconds"] < probe["periodSeconds"]
    # Up to 10 minutes of start-up before the kubelet restarts the container; readiness lost after 30 s.
    assert container["startupProbe"]["failureThreshold"] * container["startupProbe"]["periodSeconds"] == 600
    assert container["readinessProbe"]["failureThreshold"] == 3
    assert "livenessProbe" not in container, "harakiri recycles stuck workers; a liveness kill would drop the whole pod"


def pod_templates(objects):
    for obj in objects:
        if obj["kind"] in ("Deployment", "StatefulSet", "Job", "DaemonSet"):
            spec = obj["spec"]["template"]["spec"]
            for container in spec.get("initContainers", []) + spec["containers"]:
                yield obj, container


def test_no_besteffort_container(rendered):
    """Every container of every pod template (Tutor's, ours, the ingress controller's) requests CPU and memory,
    and every datastore or hot-path container has a memory limit: none is BestEffort, first evicted."""
    seen = set()
    for obj, container in pod_templates(rendered["objects"]):
        name = f"{obj['kind']} {obj['metadata']['name']}/{container['name']}"
        requests = container.get("resources", {}).get("requests", {})
        assert requests.get("cpu") and requests.get("memory"), f"{name}: no CPU/memory request"
        seen.add(obj["metadata"]["name"])
    assert {"caddy", "mysql", "meilisearch", "smtp", "redis-broker", "redis-cache", "mongodb", "lms-job"} <= seen
    for name in ("caddy", "mysql", "meilisearch", "smtp"):
        resources = one(rendered["objects"], "Deployment", name)["spec"]["template"]["spec"]["containers"][0]["resources"]
        assert resources["limits"]["memory"] == resources["requests"]["memory"], name


def cores(quantity):
    return float(quantity[:-1]) / 1000 if quantity.endswith("m") else float(quantity)


@pytest.mark.parametrize("worker", ["lms-worker", "cms-worker"])
def test_celery_concurrency_from_the_cpu_request(rendered, worker):
    """An explicit --concurrency (Celery's default is one process per node CPU): a pod's processes follow its CPU
    request and its memory is capped, so the HPA at max holds max x the memory request at most."""
    objects = rendered["objects"]
    container = one(objects, "Deployment", worker)["spec"]["template"]["spec"]["containers"][0]
    flags = [a for a in container["args"] if a.startswith("--concurrency")]
    requests = container["resources"]["requests"]
    assert flags == [f"--concurrency={max(1, math.ceil(cores(requests['cpu'])))}"]
    assert container["resources"]["limits"]["memory"] == requests["memory"]
    assert one(objects, "HorizontalPodAutoscaler", worker)["spec"]["maxReplicas"] >= 1


def test_everything_else_on_the_services_pool(rendered):
    workloads = [o for o in rendered["objects"] if o["kind"] in ("Deployment", "StatefulSet", "Job") and o["metadata"]["name"] != "lms"]
    assert len(workloads) >= 10
    for obj in workloads:
        selector = obj["spec"]["template"]["spec"].get("nodeSelector")
        assert selector == {POOL: "services"}, f"{obj['kind']} {obj['metadata']['name']}: {selector}"


def test_autoscaling_everything_but_the_lms(rendered):
    objects = rendered["objects"]
    hpas = {h["metadata"]["name"]: h for h in find(objects, "HorizontalPodAutoscaler")}
    assert set(hpas) == {"cms", "cms-worker", "lms-worker", "mfe", "caddy"}
    # Caddy carries every request: never a single pod.
    assert hpas["caddy"]["spec"]["minReplicas"] >= 2
    for name, hpa in hpas.items():
        assert hpa["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        target = one(objects, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        assert "cpu" in target["resources"]["requests"], f"{name}: HPA needs a CPU request"


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


REDIS_POLICIES = {"broker": "noeviction", "cache": "allkeys-lru"}


def test_redis_broker_and_cache(rendered):
    objects = rendered["objects"]
    assert not find(objects, "Deployment", "redis") and not find(objects, "StatefulSet", "redis")
    assert not find(objects, "ConfigMap", "redis-config"), "the conf carries the password: a Secret, not a ConfigMap"
    for name in REDIS_POLICIES:
        sts = one(objects, "StatefulSet", f"redis-{name}")
        pod = sts["spec"]["template"]["spec"]
        assert pod["containers"][0]["args"] == ["redis-server", "/etc/redis/redis.conf"]
        volume = next(v for v in pod["volumes"] if v["name"] == "config")
        assert volume["secret"]["secretName"] == "redis-auth"
        assert volume["secret"]["items"] == [{"key": f"{name}.conf", "path": "redis.conf"}]
        selector = {"app.kubernetes.io/name": "redis", "app.kubernetes.io/component": name}
        assert one(objects, "Service", f"redis-{name}")["spec"]["selector"] == selector
        assert selector.items() <= sts["spec"]["template"]["metadata"]["labels"].items()


@pytest.mark.parametrize("name", sorted(REDIS_POLICIES))
def test_real_redis_loads_the_rendered_conf(rendered, name, tmp_path):
    """Debian's redis-server loads each rendered conf as it is (from the Secret): the policy it runs with, and
    the password it demands (a PING without AUTH refused, AUTH with the Secret's password accepted)."""
    secret = one(rendered["objects"], "Secret", "redis-auth")["stringData"]
    with redis.serve(secret[f"{name}.conf"], tmp_path, password=secret["password"]) as port:
        with pytest.raises(RuntimeError, match="NOAUTH"):
            redis.command(port, "PING")
        with pytest.raises(RuntimeError, match="WRONGPASS"):
            redis.command(port, "AUTH", "wrong-password")
        assert redis.command(port, "PING", password=secret["password"]) == "PONG"
        config = redis.command(port, "CONFIG", "GET", "maxmemory*", password=secret["password"])
        settings = dict(zip(config[::2], config[1::2], strict=True))
        assert settings["maxmemory-policy"] == REDIS_POLICIES[name]
        assert int(settings["maxmemory"]) > 0, "maxmemory 0 means no limit: the pod would be OOM-killed"
        assert redis.command(port, "CONFIG", "GET", "appendonly", password=secret["password"]) == ["appendonly", "yes"]


def secret_values(objects):
    values = set()
    for obj in find(objects, "Secret"):
        values |= set(obj.get("stringData", {}).values())
        values |= {base64.b64decode(v).decode(errors="replace") for v in obj.get("data", {}).values()}
    return {v for v in values if len(v) >= 8}


def test_no_secret_on_any_command_line(rendered):
    """Every container's command and args (Deployments, StatefulSets, Jobs) carry no secret value and no
    $(VAR) that would expand one; the MongoDB scripts authenticate from the environment inside mongosh."""
    objects = rendered["objects"]
    secrets = secret_values(objects)
    secret_vars = set()
    for _obj, container in pod_templates(objects):
        secret_vars |= {e["name"] for e in container.get("env", []) if "secretKeyRef" in e.get("valueFrom", {})}
    assert {one(objects, "Secret", "redis-auth")["stringData"]["password"]} <= secrets and len(secrets) >= 5
    checked = 0
    for obj, container in pod_templates(objects):
        for arg in container.get("command", []) + container.get("args", []):
            where = f"{obj['kind']} {obj['metadata']['name']}/{container['name']}"
            assert not any(value in arg for value in secrets), f"{where}: a secret value on the command line"
            assert not any(f"$({var})" in arg for var in secret_vars), f"{where}: a secret expanded into argv: {arg}"
            checked += 1
    assert checked > 20
    scripts = one(objects, "ConfigMap", "mongodb-scripts")["data"]
    for name, script in scripts.items():
        assert not re.search(r"(^|\s)(-p|--password)(\s|=)", script), f"{name}: mongosh password option"
        assert "$ROOT_PASSWORD" not in script and "$APP_PASSWORD" not in script, name
    assert "process.env.ROOT_PASSWORD" in scripts["init.sh"]


def test_secrets_present(rendered):
    objects = rendered["objects"]
    mongo = one(objects, "Secret", "mongodb-auth")["stringData"]
    assert set(mongo) == {"root-username", "root-password", "app-username", "app-password", "keyfile"}
    assert len(mongo["keyfile"]) >= 6 and len(mongo["root-password"]) >= 16 and mongo["app-password"] != mongo["root-password"]
    redis_auth = one(objects, "Secret", "redis-auth")["stringData"]
    password = redis_auth["password"]
    assert len(password) >= 16
    # The same password reaches the LMS: caches on redis-cache, the event bus and Celery on redis-broker.
    settings = "\n".join(one(objects, "ConfigMap", prefix="openedx-settings-lms")["data"].values())
    assert f'"LOCATION"] = "redis://default:{password}@redis-cache:6379/1"' in settings
    assert f'EVENT_BUS_REDIS_CONNECTION_URL = "redis://default:{password}@redis-broker:6379/"' in settings
    env = yaml.safe_load(one(objects, "ConfigMap", prefix="openedx-config")["data"]["lms.env.yml"])
    assert env["CELERY_BROKER_HOSTNAME"] == "redis-broker:6379" and env["CELERY_BROKER_PASSWORD"] == password


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
        # 1.625 requests per page view at 32 KiB each: about 2 Gbps through the 1000 Mbps load balancer.
        assert "WARNING: Load balancer bandwidth:" in out and "1000 provided" in out
    # Needed vs provided per component, one table.
    assert "MySQL connections" in out and "Redis memory (sessions)" in out
    # Fewer than 3 services nodes: the replica set survives no node loss, and says so.
    assert "survives 0 node loss(es) - NO node loss" in out


# ---------------------------------------------------------------- ingress-nginx's own parsers as the judge


@pytest.fixture(scope="module", params=sorted(EXPECT))
def nginx_rendered(request, edge_render):
    """Each inventory rendered with the ingress-nginx edge (example-jeddah's own edge is Envoy Gateway)."""
    return edge_render(request.param, "ingress-nginx")


def _edge_objects(objects):
    ingresses = {o["metadata"]["name"]: o["metadata"].get("annotations") or {} for o in find(objects, "Ingress")}
    return one(objects, "ConfigMap", "ingress-nginx-controller")["data"], ingresses


def test_ingress_nginx_takes_every_annotation_and_configmap_key(nginx_rendered, ingress_nginx_check):
    """Every rendered Ingress annotation and controller ConfigMap key, judged by the controller's Go code."""
    configmap, ingresses = _edge_objects(nginx_rendered["objects"])
    assert ingresses and configmap
    verdicts = ingress_nginx_check.check(configmap, ingresses)
    assert set(verdicts["configmap"]) == set(configmap)
    assert all(set(verdicts["ingresses"][name]["annotations"]) == set(anns) for name, anns in ingresses.items())
    assert ingress_nginx.failures(verdicts) == []
    # The parsers that took them: ratelimit, proxy, serviceupstream and rewrite (ssl-redirect).
    taken = {p for ing in verdicts["ingresses"].values() for v in ing["annotations"].values() for p in v.get("parsers", [])}
    assert {"Proxy", "RateLimit", "ServiceUpstream", "Rewrite"} <= taken


@pytest.mark.parametrize(("where", "key", "value", "verdict"), [
    ("ingress", "nginx.ingress.kubernetes.io/proxy-read-timeout", "3600s", "rejected"),
    ("ingress", "nginx.ingress.kubernetes.io/keep-alive-requests", "5000", "unknown"),
    ("ingress", "nginx.ingress.kubernetes.io/configuration-snippet", "more_set_headers 'X: y';", "rejected"),
    ("configmap", "proxy-read-timeout", "3600s", "no-effect"),
    ("configmap", "timeout-socket", "120", "unknown"),
])
def test_ingress_nginx_names_a_broken_key(nginx_rendered, ingress_nginx_check, where, key, value, verdict):
    """One broken value in the rendered output: the check fails and names that key, and only that key."""
    configmap, ingresses = _edge_objects(nginx_rendered["objects"])
    if where == "configmap":
        configmap = dict(configmap, **{key: value})
    else:
        ingresses = {name: dict(anns, **{key: value}) for name, anns in ingresses.items()}
    found = ingress_nginx.failures(ingress_nginx_check.check(configmap, ingresses))
    assert found, f"{key}={value!r} passed the controller's check"
    assert all(key in line or "drops its annotations" in line for line in found), found
    assert any(f"{key}: {verdict}:" in line for line in found), found


def test_controller_image_follows_the_chart_pinned_by_digest(nginx_rendered):
    """The controller image is the chart's own, by digest: upgrading is bumping the chart version. The role pins chart
    4.13.9 (controller v1.13.9, the line the checker's V1_13_DELTA describes); the tests render the chart of the
    module snapshot the proxy serves (tests.helpers.helm.ingress_nginx_chart)."""
    from tests.helpers import helm

    chart = helm.chart_meta(helm.ingress_nginx_chart())
    deployment = one(nginx_rendered["objects"], "Deployment", "ingress-nginx-controller")
    image = deployment["spec"]["template"]["spec"]["containers"][0]["image"]
    assert re.fullmatch(r"registry\.k8s\.io/ingress-nginx/controller:v\d+\.\d+\.\d+@sha256:[0-9a-f]{64}", image), image
    assert ingress_nginx.controller_version(image) == f"v{chart['appVersion']}"
    assert deployment["metadata"]["labels"]["helm.sh/chart"] == f"ingress-nginx-{chart['version']}"
    defaults = yaml.safe_load((REPO / "roles" / "ingress_nginx" / "defaults" / "main.yml").read_text())
    assert defaults["ingress_nginx_chart_version"] == "4.13.9"
