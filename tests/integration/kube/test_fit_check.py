"""openedx_scale.oke.k8s_fit_check against the real scheduler of the test bed, run through ansible-runner."""

from __future__ import annotations

from pathlib import Path

import pytest
from kubernetes import client

from tests.helpers.ansible import assert_ok, run_playbook
from tests.sandbox.kube.fixtures import node_usage, wait_for

# Every pod on the nodes counts in a fit check: start each test on nodes no other test still fills.
pytestmark = pytest.mark.usefixtures("free_nodes")

PLAYBOOK = Path(__file__).parent / "playbooks" / "fit_check.yml"
TASK = "Ask the scheduler whether the pods fit"


@pytest.fixture(scope="module")
def core(api):
    return client.CoreV1Api(api)


def _lms(replicas: int, cpu: str = "8") -> dict:
    labels = {"app.kubernetes.io/name": "lms"}
    return {
        "name": "lms",
        "replicas": replicas,
        "template": {
            "metadata": {"labels": labels},
            "spec": {
                "nodeSelector": {"openedx-scale/pool": "lms"},
                "affinity": {
                    "podAntiAffinity": {
                        "requiredDuringSchedulingIgnoredDuringExecution": [{"labelSelector": {"matchLabels": labels}, "topologyKey": "kubernetes.io/hostname"}]
                    }
                },
                "containers": [{"name": "lms", "image": "openedx:test", "resources": {"requests": {"cpu": cpu, "memory": "16Gi"}}}],
            },
        },
    }


def _run(kube_testbed, **extravars):
    extravars = {"fit_check_kubeconfig": str(kube_testbed.kubeconfig), **extravars}
    run = run_playbook(PLAYBOOK, extravars=extravars)
    results = run.results(TASK)
    assert results, f"task did not run:\n{run.stdout[-5000:]}"
    return run, results[0]


def _probe_pods(core):
    return core.list_pod_for_all_namespaces(label_selector="openedx-scale/fit-check").items


def test_planned_workload_that_fits_passes(kube_testbed, core):
    lms_nodes = len(core.list_node(label_selector="openedx-scale/pool=lms").items)
    run, res = _run(kube_testbed, fit_check_workloads=[_lms(lms_nodes)])
    assert run.rc == 0, f"{run.stdout[-6000:]}\n{node_usage(core)}"
    assert res["fits"] is True and res["probed"] is True
    # The scheduler really placed them: one probe pod per LMS node.
    assert sorted(p["node"] for p in res["pods"]) == sorted(n.metadata.name for n in core.list_node(label_selector="openedx-scale/pool=lms").items)
    assert run.changed == 0
    wait_for(lambda: not _probe_pods(core), 30, "probe pods deleted")


def test_planned_workload_too_big_fails_with_the_scheduler_reasons(kube_testbed, core):
    lms_nodes = len(core.list_node(label_selector="openedx-scale/pool=lms").items)
    total_nodes = len(core.list_node().items)
    # One LMS pod more than there are LMS nodes (anti-affinity), and a worker that no node can hold (61 > 60 CPUs).
    worker = {
        "name": "worker",
        "replicas": 1,
        "template": {"spec": {"containers": [{"name": "w", "image": "openedx:test", "resources": {"requests": {"cpu": "61"}}}]}},
    }
    run, res = _run(kube_testbed, fit_check_workloads=[_lms(lms_nodes + 1), worker])
    assert run.rc != 0 and run.failed == 1
    assert res["fits"] is False
    unfit = {p["name"]: p for p in res["unfit"]}
    assert set(unfit) == {f"lms-fit-{lms_nodes + 1}", "worker-fit-1"} or (
        # Which LMS replica loses is the scheduler's choice; exactly one of them does.
        len([n for n in unfit if n.startswith("lms-fit-")]) == 1 and "worker-fit-1" in unfit
    )
    lms_unfit = next(p for n, p in unfit.items() if n.startswith("lms-fit-"))
    assert lms_unfit["verdict"] == "unschedulable"
    assert lms_unfit["reasons"] == {
        "node(s) didn't match pod anti-affinity rules": lms_nodes,
        "node(s) didn't match Pod's node affinity/selector": total_nodes - lms_nodes,
    }
    assert unfit["worker-fit-1"]["reasons"] == {"Insufficient cpu": total_nodes}
    msg = res["msg"]
    assert msg.startswith(f"2 of {lms_nodes + 2} pod(s) do not fit on the {total_nodes} schedulable node(s)")
    assert f"worker-fit-1 (worker): unschedulable: 0/{total_nodes} nodes are available: {total_nodes} Insufficient cpu." in msg
    assert "didn't match pod anti-affinity rules" in msg
    wait_for(lambda: not _probe_pods(core), 30, "probe pods deleted after a failed check")


def test_live_pending_pods_fail_with_their_failed_scheduling_events(kube_testbed, core, namespace):
    apps = client.AppsV1Api(kube_testbed.client())
    apps.create_namespaced_deployment(
        namespace,
        {
            "metadata": {"name": "big"},
            "spec": {
                "replicas": 1,
                "selector": {"matchLabels": {"app": "big"}},
                "template": {
                    "metadata": {"labels": {"app": "big"}},
                    "spec": {"containers": [{"name": "big", "image": "openedx:test", "resources": {"requests": {"memory": "129Gi"}}}]},
                },
            },
        },
    )
    # The scheduler's own record of the failure, which the module must report.
    events = wait_for(
        lambda: [e for e in core.list_namespaced_event(namespace).items if e.reason == "FailedScheduling"],
        60,
        "a FailedScheduling event",
    )
    run, res = _run(kube_testbed, fit_check_namespaces=[namespace], fit_check_timeout=10)
    assert run.rc != 0
    assert len(res["unfit"]) == 1
    pod = res["unfit"][0]
    assert pod["workload"].startswith("ReplicaSet/big-")
    assert pod["message"] == events[0].message
    assert pod["reasons"] == {"Insufficient memory": len(core.list_node().items)}
    assert f"{namespace}/{pod['name']}" in res["msg"]


def test_check_mode_probe_creates_nothing(kube_testbed, core):
    run = run_playbook(PLAYBOOK, extravars={"fit_check_kubeconfig": str(kube_testbed.kubeconfig), "fit_check_workloads": [_lms(1)]}, check=True)
    assert_ok(run)
    res = run.results(TASK)[0]
    assert res["probed"] is False and res["fits"] is None
    assert not _probe_pods(core)
