"""fit_workloads: rendered manifests -> the plan k8s_fit_check probes (scheduling fields only, HPA peaks)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible.errors import AnsibleFilterError  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.filter.workloads import fit_workloads  # noqa: E402

MANIFESTS = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: lms}
spec:
  replicas: 5
  template:
    metadata:
      labels: {app.kubernetes.io/name: lms}
      annotations: {checksum: abc}
    spec:
      nodeSelector: {openedx-scale/pool: lms}
      serviceAccountName: lms
      volumes: [{name: settings, secret: {secretName: openedx-secrets}}]
      containers:
        - name: lms
          image: docker.io/overhangio/openedx:20.0.0
          env: [{name: MYSQL_ROOT_PASSWORD, value: s3cr3t-value}]
          envFrom: [{secretRef: {name: openedx-secrets}}]
          resources: {requests: {cpu: "54", memory: 96Gi}}
          ports: [{containerPort: 8000}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: lms-worker}
spec:
  replicas: 1
  template:
    metadata: {labels: {app.kubernetes.io/name: lms-worker}}
    spec:
      containers: [{name: lms-worker, image: x, resources: {requests: {cpu: "1"}}}]
---
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: lms-worker}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: lms-worker}
  minReplicas: 1
  maxReplicas: 4
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: mongodb}
spec:
  template:
    metadata: {labels: {app.kubernetes.io/name: mongodb}}
    spec:
      containers: [{name: mongodb, image: mongo, resources: {requests: {cpu: "2"}}}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: idle}
spec:
  replicas: 0
  template: {spec: {containers: [{name: idle, image: x}]}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: lms-job}
spec:
  template: {spec: {containers: [{name: init, image: x, env: [{name: TOKEN, value: job-secret}]}]}}
---
"""


def objects():
    return list(yaml.safe_load_all(MANIFESTS))


def test_deployments_and_statefulsets_at_their_autoscalers_peak():
    plan = {w["name"]: w for w in fit_workloads(objects())}
    # Jobs come and go; a workload planned at 0 has no pod to place; a StatefulSet without replicas has one.
    assert list(plan) == ["lms", "lms-worker", "mongodb"]
    assert plan["lms"]["replicas"] == 5 and plan["mongodb"]["replicas"] == 1
    assert plan["lms-worker"]["replicas"] == 4  # the HPA's maxReplicas, not the initial 1
    assert {w["name"]: w["replicas"] for w in fit_workloads(objects(), hpa_max=False)}["lms-worker"] == 1


def test_only_scheduling_fields_reach_the_module():
    lms = fit_workloads(objects())[0]
    assert lms["template"] == {
        "metadata": {"labels": {"app.kubernetes.io/name": "lms"}},
        "spec": {
            "nodeSelector": {"openedx-scale/pool": "lms"},
            "containers": [{"name": "lms", "resources": {"requests": {"cpu": "54", "memory": "96Gi"}}, "ports": [{"containerPort": 8000}]}],
        },
    }
    # No secret of the manifests (env values, secret names) is in the plan the module is called with.
    flat = repr(fit_workloads(objects()))
    assert "s3cr3t-value" not in flat and "openedx-secrets" not in flat and "job-secret" not in flat and "image" not in flat


def test_input_that_is_not_a_list_of_objects_is_refused():
    with pytest.raises(AnsibleFilterError, match="expected a list of Kubernetes objects"):
        fit_workloads(MANIFESTS)
    with pytest.raises(AnsibleFilterError, match="malformed replica count"):
        fit_workloads([{"kind": "Deployment", "metadata": {"name": "x"}, "spec": {"replicas": "many"}}])
    # Empty documents (a trailing ---) and non-objects are skipped.
    assert fit_workloads([None, "text", {}]) == []
