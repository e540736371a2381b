"""The load-test stage's login limits on the Kubernetes test bed (real control plane, kwok nodes): the real
playbooks/loadtest.yml raises them in the LMS Deployment before Locust and takes them out again when the run fails
(block/always)."""

from __future__ import annotations

import uuid

import pytest
import yaml

from tests.helpers.ansible import REPO, run_playbook

LOADTEST = REPO / "playbooks" / "loadtest.yml"
RATE = "OPENEDX_SCALE_OKE_LOGISTRATION_RATELIMIT_RATE"
EMAIL_RATE = "OPENEDX_SCALE_OKE_LOGISTRATION_PER_EMAIL_RATELIMIT_RATE"
API_RATE = "OPENEDX_SCALE_OKE_LOGISTRATION_API_RATELIMIT"


@pytest.fixture(scope="module")
def lms(kube_testbed):
    """A namespace with an `lms` Deployment (pause image) as Tutor names it."""
    from kubernetes import client

    api = kube_testbed.client()
    ns = f"ll-{uuid.uuid4().hex[:6]}"
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    core.create_namespace({"metadata": {"name": ns}})
    apps.create_namespaced_deployment(ns, {
        "metadata": {"name": "lms"},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app.kubernetes.io/name": "lms"}},
                 "template": {"metadata": {"labels": {"app.kubernetes.io/name": "lms"}},
                              "spec": {"tolerations": [{"operator": "Exists"}],
                                       "containers": [{"name": "lms", "image": "registry.k8s.io/pause:3.10",
                                                       "env": [{"name": "SERVICE_VARIANT", "value": "lms"}],
                                                       "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}}},
    })
    yield {"api": api, "ns": ns, "kubeconfig": str(kube_testbed.kubeconfig)}
    core.delete_namespace(ns)


def lms_env(lms) -> dict:
    from kubernetes import client

    deployment = client.AppsV1Api(lms["api"]).read_namespaced_deployment("lms", lms["ns"])
    return {e.name: e.value for e in deployment.spec.template.spec.containers[0].env or []}


def replica_set_envs(lms) -> list[dict]:
    from kubernetes import client

    sets = client.AppsV1Api(lms["api"]).list_namespaced_replica_set(lms["ns"]).items
    return [{e.name: e.value for e in rs.spec.template.spec.containers[0].env or []} for rs in sets]


def test_a_failed_load_test_restores_the_login_limits(lms, tmp_path):
    """Locust's preflight fails (an unknown flow) after the limits were raised: `always` takes them out again."""
    users = tmp_path / "users.csv"
    users.write_text("username,email,password\nlearner1,learner1@example.org,Secret-password-1\n")
    inventory = tmp_path / "hosts.yml"
    local = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    inventory.write_text(yaml.safe_dump({"all": {
        "vars": {"openedx_scale_kubeconfig": lms["kubeconfig"], "openedx_scale_login_limits_raised": True,
                 "openedx_scale_lms_host": "lms.sandbox.test", "openedx_scale_deployment": "ll", "openedx_scale_target_users": 60,
                 "openedx_scale_think_time_seconds": [1, 3],
                 "openedx_scale_pool_label_key": "openedx-scale/pool", "openedx_scale_namespace": lms["ns"], "tutor_apply_timeout": 300,
                 "openedx_scale_users_csv": str(users), "locust_host": "https://lms.sandbox.test", "locust_flow_weights": {"checkout": 1}},
        # localhost in the inventory: its plays (kubeconfig, the delegated raise and restore) see these variables.
        "hosts": {"localhost": local},
        "children": {"locust_master": {"hosts": {"master": local}}, "locust_workers": {"hosts": {"worker": local}}},
    }}))
    run = run_playbook(LOADTEST, inventory, extravars={"ansible_become": False})
    assert run.rc != 0
    out = " ".join(run.stdout.split())
    assert "Unknown flow(s) checkout" in out, run.stdout[-3000:]
    assert not {RATE, EMAIL_RATE, API_RATE} & set(lms_env(lms))
    # The raise really reached the cluster: a ReplicaSet of the run carried the load test's limits.
    assert any(env.get(RATE) == env.get(EMAIL_RATE) == env.get(API_RATE) == "100000/m" for env in replica_set_envs(lms))
    assert lms_env(lms)["SERVICE_VARIANT"] == "lms", "the restore kept the rest of the environment"
