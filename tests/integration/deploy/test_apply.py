"""Apply mode of playbooks/deploy_openedx.yml on the Kubernetes test bed (real control plane, kwok nodes).

One deployment per module, in its own namespaces: first deploy (Secret stored, datastores, tutor k8s start
and init, marker), a re-run that changes nothing and restores the same secrets, and a re-run that finds
the Secret gone and stops before touching anything.
"""

from __future__ import annotations

import base64
import threading
import uuid

import pytest
import yaml

from tests.helpers import helm
from tests.helpers.ansible import assert_ok, run_playbook
from tests.helpers.netpol import check_network_policies
from tests.helpers.secrets import SECRET_SETTINGS, canaries, leaks
from tests.rehearsal import inventory_path
from tests.sandbox.kube.fixtures import wait_for

from .test_render import PLAYBOOK, VENV_BIN

POOL = "openedx-scale/pool"


@pytest.fixture(scope="module")
def deployment(kube_testbed):
    from kubernetes import client

    api = kube_testbed.client()
    name = f"dt-{uuid.uuid4().hex[:6]}"
    variables = {
        "openedx_scale_kubeconfig": str(kube_testbed.kubeconfig),
        "tutor_executable": str(VENV_BIN / "tutor"),
        "tutor_kubectl": str(VENV_BIN / "kubectl"),
        "openedx_scale_namespace": name,
        "tutor_ingress_class": name,
        "openedx_scale_edge_namespace": f"{name}-ingress",
        # The release names the controller objects and the chart's cluster-scoped RBAC: one per test.
        "ingress_nginx_release_name": f"{name}-ingress-nginx",
        "ingress_nginx_class": name,
        "tutor_apply_timeout": 600,
        "ingress_nginx_wait_timeout": 600,
    }
    yield {"api": api, "ns": name, "vars": variables}
    core = client.CoreV1Api(api)
    helm.uninstall(f"{name}-ingress-nginx", f"{name}-ingress", str(kube_testbed.kubeconfig))
    for ns in (name, f"{name}-ingress"):
        core.delete_namespace(ns)
    # The LMS pods fill the LMS nodes: free them before another test deploys its own LMS.
    wait_for(lambda: not {n.metadata.name for n in core.list_namespace().items} & {name, f"{name}-ingress"}, 300, f"namespaces {name}* deleted")


def deploy(deployment, verbosity=0, **extravars):
    return run_playbook(PLAYBOOK, inventory_path("sandbox"), extravars={**deployment["vars"], **extravars}, verbosity=verbosity)


def rolling_restart_min_ready(api, ns, replicas):
    """Restart the LMS Deployment as `kubectl rollout restart` does and return the fewest Ready LMS pods seen.

    Watches every pod event while the real Deployment controller replaces the pods (maxSurge 0,
    maxUnavailable 1, readiness-gated) and the scheduler places them one per node.
    """
    from kubernetes import client, watch

    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    selector = "app.kubernetes.io/name=lms"
    ready, fewest, started = {}, [replicas], threading.Event()

    def is_ready(pod):
        return pod.metadata.deletion_timestamp is None and any(
            c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))

    def observe():
        stream = watch.Watch()
        listing = core.list_namespaced_pod(ns, label_selector=selector)
        ready.update({p.metadata.name: is_ready(p) for p in listing.items})
        started.set()
        for event in stream.stream(core.list_namespaced_pod, ns, label_selector=selector,
                                   resource_version=listing.metadata.resource_version, timeout_seconds=240):
            pod = event["object"]
            ready[pod.metadata.name] = event["type"] != "DELETED" and is_ready(pod)
            fewest[0] = min(fewest[0], sum(ready.values()))
            if done.is_set():
                stream.stop()

    done = threading.Event()
    watcher = threading.Thread(target=observe, daemon=True)
    watcher.start()
    started.wait(60)
    old = {p.metadata.name for p in core.list_namespaced_pod(ns, label_selector=selector).items}
    apps.patch_namespaced_deployment("lms", ns, {"spec": {"template": {"metadata": {"annotations": {
        "kubectl.kubernetes.io/restartedAt": uuid.uuid4().hex}}}}})

    def rolled():
        dep = apps.read_namespaced_deployment("lms", ns)
        pods = core.list_namespaced_pod(ns, label_selector=selector).items
        return (dep.status.observed_generation == dep.metadata.generation and dep.status.updated_replicas == replicas
                and dep.status.available_replicas == replicas and not old & {p.metadata.name for p in pods})

    wait_for(rolled, 240, "the LMS rollout to finish")
    done.set()
    watcher.join(30)
    return fewest[0]


def stored_config(core, ns):
    secret = core.read_namespaced_secret("tutor-config", ns)
    return yaml.safe_load(base64.b64decode(secret.data["config.yml"]))


def test_first_deploy_second_deploy_and_missing_secret(deployment, tmp_path):
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    api, ns = deployment["api"], deployment["ns"]
    core, apps, batch = client.CoreV1Api(api), client.AppsV1Api(api), client.BatchV1Api(api)

    # Half the secrets from tutor_settings, the rest generated; the -vvv log carries none of them.
    supplied = {k: v for i, (k, v) in enumerate(sorted(canaries("Apply").items())) if i % 2 == 0}
    deployment["vars"]["tutor_settings"] = supplied
    # What an earlier version (settings in ConfigMaps) and an earlier render (another hash) left: both hold secrets.
    core.create_namespace({"metadata": {"name": ns}})
    labels = {"app.kubernetes.io/name": "openedx", "app.kubernetes.io/managed-by": "tutor"}
    core.create_namespaced_config_map(ns, {"metadata": {"name": "openedx-settings-lms-5t8k2m9dbh", "labels": labels},
                                           "data": {"production.py": "SECRET_KEY = 'left-by-tutor-before'"}})
    core.create_namespaced_secret(ns, {"metadata": {"name": "openedx-config-7gk2b9hf5c", "labels": labels},
                                       "string_data": {"partners.yml": "left-by-an-earlier-render"}})
    core.create_namespaced_config_map(ns, {"metadata": {"name": "openedx-settings-lms-notours", "labels": labels}, "data": {"a": "b"}})
    first = deploy(deployment, verbosity=3)
    assert_ok(first)
    left = {c.metadata.name for c in core.list_namespaced_config_map(ns).items} | {x.metadata.name for x in core.list_namespaced_secret(ns).items}
    assert not left & {"openedx-settings-lms-5t8k2m9dbh", "openedx-config-7gk2b9hf5c"}, "leftovers holding secrets were kept"
    assert "openedx-settings-lms-notours" in left, "only generator names with a kustomize hash are removed"
    assert first.results("Initialise Open edX with tutor k8s init"), "the first deploy runs tutor k8s init"

    # The configuration with its generated secrets is in the cluster, and agrees with the datastores.
    config = stored_config(core, ns)
    assert {k: config[k] for k in supplied} == supplied
    secrets = {k: config[k] for k in SECRET_SETTINGS if len(str(config.get(k) or "")) >= 8}
    assert len(secrets) == len(SECRET_SETTINGS) - 1, sorted(secrets)  # SMTP_PASSWORD: supplied or empty
    assert leaks(first, secrets.values()) == {}

    # Rendering from the stored configuration (the real secrets) logs none of them either.
    render_dir = tmp_path / "render"
    from_cluster = deploy(deployment, verbosity=3, openedx_scale_render_dir=str(render_dir), tutor_render_from_cluster=True)
    assert_ok(from_cluster)
    assert secrets["REDIS_PASSWORD"] in (render_dir / "datastores.yaml").read_text()
    assert leaks(from_cluster, secrets.values()) == {}
    mongo = {k: base64.b64decode(v).decode() for k, v in core.read_namespaced_secret("mongodb-auth", ns).data.items()}
    assert config["MONGODB_PASSWORD"] == mongo["app-password"] and config["MONGODB_REPLICA_SET"] == "rs0"
    redis = base64.b64decode(core.read_namespaced_secret("redis-auth", ns).data["password"]).decode()
    assert config["REDIS_PASSWORD"] == redis
    assert core.read_namespaced_config_map("tutor-deployed", ns).data["config_secret"] == "tutor-config"

    # Placement as scheduled by the real kube-scheduler on the simulated OKE nodes.
    nodes = {n.metadata.name: n.metadata.labels.get(POOL) for n in core.list_node().items}
    pods = core.list_namespaced_pod(ns).items
    lms_pods = [p for p in pods if p.metadata.labels.get("app.kubernetes.io/name") == "lms"]
    assert len(lms_pods) == 2 and all(p.status.phase == "Running" for p in lms_pods)
    assert {nodes[p.spec.node_name] for p in lms_pods} == {"lms"}
    assert len({p.spec.node_name for p in lms_pods}) == 2, "one LMS pod per node"
    others = [p for p in pods if p.metadata.labels.get("app.kubernetes.io/name") != "lms" and p.spec.node_name]
    assert others and {nodes[p.spec.node_name] for p in others} == {"services"}
    assert apps.read_namespaced_stateful_set("mongodb", ns).status.ready_replicas == 3
    assert batch.read_namespaced_job("mongodb-init", ns).status.succeeded == 1
    jobs = [j.metadata.name for j in batch.list_namespaced_job(ns).items]
    assert any(j.startswith("lms-job-") for j in jobs) and any(j.startswith("cms-job-") for j in jobs)
    controller = apps.read_namespaced_deployment(f"{ns}-ingress-nginx-controller", f"{ns}-ingress")
    assert controller.status.available_replicas == 2
    # Redis as two instances, both running; Caddy raised to its HPA's minimum of 2 by the real HPA controller.
    for name in ("redis-broker", "redis-cache"):
        wait_for(lambda name=name: apps.read_namespaced_stateful_set(name, ns).status.ready_replicas == 1, 120, f"{name} ready")
    wait_for(lambda: (apps.read_namespaced_deployment("caddy", ns).status.available_replicas or 0) >= 2, 120, "caddy at 2 replicas")

    # Secrets out of ConfigMaps (issue 30): none of the namespace's ConfigMaps holds a secret, and every Secret a pod
    # (Deployments, StatefulSets and tutor's Jobs alike) mounts or reads a key of exists with that key.
    for cm in core.list_namespaced_config_map(ns).items:
        assert not [k for k, v in secrets.items() if any(v in text for text in (cm.data or {}).values())], cm.metadata.name
    stored = {s.metadata.name: set(s.data or {}) for s in core.list_namespaced_secret(ns).items}
    unresolved = []
    for pod in core.list_namespaced_pod(ns).items:
        for volume in pod.spec.volumes or []:
            if volume.secret and volume.secret.secret_name not in stored:
                unresolved.append(f"{pod.metadata.name}: volume {volume.name} -> {volume.secret.secret_name}")
        for container in pod.spec.containers:
            for env in container.env or []:
                ref = env.value_from.secret_key_ref if env.value_from else None
                if ref and ref.key not in stored.get(ref.name, set()):
                    unresolved.append(f"{pod.metadata.name}: env {env.name} -> {ref.name}/{ref.key}")
                assert not (env.value and any(v in env.value for v in secrets.values())), f"{pod.metadata.name}: env {env.name}"
    assert unresolved == []
    lms_volumes = {v.name: v for v in lms_pods[0].spec.volumes}
    assert lms_volumes["settings-lms"].secret and lms_volumes["config"].secret, "Tutor's settings are mounted from Secrets"

    # NetworkPolicies: the API server says which pods and namespaces each selector selects; a pod of another name
    # (the intruder) reaches nothing, the edge's namespace only Caddy.
    intruder = {"metadata": {"name": "intruder", "labels": {"app.kubernetes.io/name": "intruder"}},
                "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": "1m", "memory": "1Mi"}}}]}}
    core.create_namespaced_pod(ns, intruder)
    try:
        assert check_network_policies(core, client.NetworkingV1Api(api), ns, f"{ns}-ingress") == []
    finally:
        core.delete_namespaced_pod("intruder", ns, grace_period_seconds=0)

    # Re-run: same secrets restored, nothing changed, no second init.
    lms_version = apps.read_namespaced_deployment("lms", ns).metadata.resource_version
    second = deploy(deployment)
    assert_ok(second)
    assert second.changed == 0, [e["event_data"]["task"] for e in second.events if e.get("event") == "runner_on_ok" and e["event_data"]["res"].get("changed")]
    assert stored_config(core, ns) == config
    assert not second.results("Initialise Open edX with tutor k8s init")
    assert [j.metadata.name for j in batch.list_namespaced_job(ns).items if j.metadata.name.startswith("lms-job-")] == [
        j for j in jobs if j.startswith("lms-job-")
    ]

    # A rollout of the LMS (any template change) takes at most one LMS pod out of service at a time.
    assert rolling_restart_min_ready(api, ns, len(lms_pods)) == len(lms_pods) - 1
    lms_version = apps.read_namespaced_deployment("lms", ns).metadata.resource_version

    # The Secret is gone but the marker says deployed: stop before anything is applied.
    core.delete_namespaced_secret("tutor-config", ns)
    third = deploy(deployment)
    assert third.rc != 0
    out = " ".join(third.stdout.split())
    assert f"{ns}/tutor-deployed says Open edX was deployed, but the Secret {ns}/tutor-config" in out
    assert third.changed == 0
    with pytest.raises(ApiException) as missing:
        core.read_namespaced_secret("tutor-config", ns)
    assert missing.value.status == 404
    assert apps.read_namespaced_deployment("lms", ns).metadata.resource_version == lms_version
