"""Unit tests of k8s_fit_check: reading the scheduler's verdict, building probe pods, input errors.

The module against a real scheduler is tested in tests/integration/kube/test_fit_check.py.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible.module_utils.testing import patch_module_args  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.modules import k8s_fit_check as mod  # noqa: E402

# Messages as kube-scheduler v1.35 writes them into PodScheduled / FailedScheduling.
MSG_ANTI = (
    "0/7 nodes are available: 2 node(s) didn't match Pod's node affinity/selector, 5 node(s) didn't match pod "
    "anti-affinity rules. no new claims to deallocate, preemption: 0/7 nodes are available: 2 Preemption is not "
    "helpful for scheduling, 5 No preemption victims found for incoming pod."
)
MSG_CPU = "0/3 nodes are available: 1 Insufficient memory, 3 Insufficient cpu. preemption: not eligible due to preemptionPolicy=Never."
MSG_PVC = '0/3 nodes are available: persistentvolumeclaim "data" not found. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.'


def test_parse_reasons_reads_per_node_counts_and_ignores_preemption():
    assert mod.parse_reasons(MSG_ANTI) == {
        "node(s) didn't match Pod's node affinity/selector": 2,
        "node(s) didn't match pod anti-affinity rules": 5,
    }
    assert mod.parse_reasons(MSG_CPU) == {"Insufficient memory": 1, "Insufficient cpu": 3}
    assert mod.parse_reasons("0/2 nodes are available: 2 node(s) had untolerated taint {dedicated: lms}.") == {
        "node(s) had untolerated taint {dedicated: lms}": 2
    }
    assert mod.parse_reasons(MSG_PVC) == {}  # a pod-level reason, no per-node counts
    assert mod.parse_reasons("") == {}
    assert mod.parse_reasons("no nodes available to schedule pods") == {}


def test_verdict_of_each_pod_state():
    bound = {"spec": {"nodeName": "oke-lms-1"}, "status": {"phase": "Pending"}}
    unsched = {"spec": {}, "status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": MSG_CPU}]}}
    gated = {
        "spec": {"schedulingGates": [{"name": "example.com/wait"}]},
        "status": {"conditions": [{"type": "PodScheduled", "status": "False", "reason": "SchedulingGated"}]},
    }
    fresh = {"spec": {}, "status": {"phase": "Pending"}}
    assert mod.verdict_of(bound) == ("scheduled", "")
    assert mod.verdict_of(unsched) == ("unschedulable", MSG_CPU)
    assert mod.verdict_of(gated) == ("gated", "scheduling gates: example.com/wait")
    assert mod.verdict_of(fresh) == ("undecided", "")


def test_probe_pod_keeps_scheduling_fields_and_replaces_images():
    template = {
        "metadata": {"labels": {"app.kubernetes.io/name": "lms"}, "annotations": {"x": "y"}},
        "spec": {
            "nodeSelector": {"openedx-scale/pool": "lms"},
            "affinity": {
                "podAntiAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": [
                        {"labelSelector": {"matchLabels": {"app.kubernetes.io/name": "lms"}}, "topologyKey": "kubernetes.io/hostname"}
                    ]
                }
            },
            "tolerations": [{"key": "dedicated", "value": "lms", "effect": "NoSchedule"}],
            "serviceAccountName": "lms",
            "volumes": [{"name": "data", "persistentVolumeClaim": {"claimName": "lms-data"}}],
            "initContainers": [{"name": "migrate", "image": "openedx:1", "command": ["./manage.py"], "resources": {"requests": {"cpu": "1"}}}],
            "containers": [
                {
                    "name": "lms",
                    "image": "openedx:1",
                    "env": [{"name": "A", "value": "b"}],
                    "resources": {"requests": {"cpu": "8", "memory": "16Gi"}},
                    "ports": [{"containerPort": 8000}],
                    "volumeMounts": [{"name": "data", "mountPath": "/data"}],
                }
            ],
        },
    }
    pod = mod.probe_pod({"name": "lms", "replicas": 3, "template": template}, 2, "run1", "pause:test")
    spec = pod["spec"]
    assert pod["metadata"]["name"] == "lms-fit-2"
    assert pod["metadata"]["labels"] == {"app.kubernetes.io/name": "lms", mod.PROBE_LABEL: "run1", mod.PROBE_LABEL + "-workload": "lms"}
    assert spec["nodeSelector"] == template["spec"]["nodeSelector"]
    assert spec["affinity"] == template["spec"]["affinity"]
    assert spec["tolerations"] == template["spec"]["tolerations"]
    assert "volumes" not in spec and "serviceAccountName" not in spec
    assert spec["containers"] == [
        {"name": "lms", "resources": {"requests": {"cpu": "8", "memory": "16Gi"}}, "ports": [{"containerPort": 8000}], "image": "pause:test"}
    ]
    assert spec["initContainers"] == [{"name": "migrate", "resources": {"requests": {"cpu": "1"}}, "image": "pause:test"}]
    assert spec["terminationGracePeriodSeconds"] == 0 and spec["automountServiceAccountToken"] is False


def test_summary_lists_every_unfit_pod_with_the_scheduler_message():
    entries = [
        {"namespace": "default", "name": "lms-fit-1", "workload": "lms", "verdict": "scheduled", "message": ""},
        {"namespace": "default", "name": "lms-fit-3", "workload": "lms", "verdict": "unschedulable", "message": MSG_ANTI},
        {"namespace": "openedx", "name": "mongodb-0", "workload": "StatefulSet/mongodb", "verdict": "undecided", "message": ""},
    ]
    text = mod.summarize(entries, 7)
    assert text.splitlines()[0] == "2 of 3 pod(s) do not fit on the 7 schedulable node(s) (the scheduler's verdict):"
    assert f"- default/lms-fit-3 (lms): unschedulable: {MSG_ANTI}" in text
    assert "- openedx/mongodb-0 (StatefulSet/mongodb): undecided: no decision within the timeout" in text
    assert "lms-fit-1" not in text


def _run(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        mod.main()
    return json.loads(capsys.readouterr().out)


def test_bad_input_fails_before_contacting_a_cluster(capsys, tmp_path):
    missing = str(tmp_path / "nope")
    out = _run({"kubeconfig": missing, "workloads": [{"name": "lms", "template": {"spec": {}}}]}, capsys)
    assert out["failed"] and "probe_image" in out["msg"]
    out = _run({"kubeconfig": missing, "probe_image": "pause", "workloads": [{"name": "lms", "replicas": 0, "template": {"spec": {}}}]}, capsys)
    assert out["failed"] and out["msg"] == "workloads[0] (lms): replicas must be at least 1, got 0"


def test_unreachable_cluster_is_a_clear_failure(capsys, tmp_path):
    kubeconfig = tmp_path / "kubeconfig"
    # Port 9 on loopback: nothing listens (discard service is not run here), the connection is refused.
    kubeconfig.write_text(
        json.dumps(
            {
                "apiVersion": "v1",
                "kind": "Config",
                "current-context": "c",
                "clusters": [{"name": "c", "cluster": {"server": "https://127.0.0.1:9", "insecure-skip-tls-verify": True}}],
                "users": [{"name": "u", "user": {"token": "t"}}],
                "contexts": [{"name": "c", "context": {"cluster": "c", "user": "u"}}],
            }
        )
    )
    out = _run({"kubeconfig": str(kubeconfig), "timeout": 1}, capsys)
    assert out["failed"] and out["msg"].startswith("cannot reach the cluster:")
