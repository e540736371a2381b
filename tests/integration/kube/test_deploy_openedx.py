"""playbooks/deploy_openedx.yml end to end against the test bed's real API server (issue 6, item 3).

The sandbox inventory (2 LMS + 1 services node) is deployed through ansible-runner as AWX runs it:
ingress controller, datastores, `tutor k8s start` and `tutor k8s init`, the stored config Secret.
Then the API server's state is checked, the playbook is re-run (nothing changes, no pod restarts) and
run in check mode (no object changes: same UID, labels, annotations and spec/data).
"""

from __future__ import annotations

import contextlib

import pytest
from kubernetes import client

from tests.helpers.ansible import REPO, assert_ok, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.kube.fixtures import node_usage, wait_for
from tests.sandbox.kube.testbed import load_nodeset

PLAYBOOK = REPO / "playbooks" / "deploy_openedx.yml"
INVENTORY = inventory_path("sandbox")
NAMESPACES = ("openedx", "ingress-nginx")
POOL = "openedx-scale/pool"


def _deploy(kube_testbed, check: bool = False):
    return run_playbook(PLAYBOOK, INVENTORY, extravars={"openedx_scale_kubeconfig": str(kube_testbed.kubeconfig)}, check=check, timeout=1800)


def _pods(core):
    return [p for ns in NAMESPACES for p in core.list_namespaced_pod(ns).items]


def _controller_pods(core) -> dict:
    """Pods of Deployments and StatefulSets (Job pods come and go by design): name -> (uid, restarts)."""
    out = {}
    for p in _pods(core):
        owner = (p.metadata.owner_references or [None])[0]
        if owner and owner.kind in ("ReplicaSet", "StatefulSet"):
            restarts = sum(c.restart_count for c in p.status.container_statuses or [])
            out[f"{p.metadata.namespace}/{p.metadata.name}"] = (p.metadata.uid, restarts)
    return out


def _objects(api) -> dict:
    """What a deploy can write, per managed object: identity (uid), metadata labels/annotations, spec/data.

    Status is left out: controllers keep writing it (a Job's status after its pod went away), the
    playbook never does.
    """
    core, apps, policy = client.CoreV1Api(api), client.AppsV1Api(api), client.PolicyV1Api(api)
    autoscaling, networking, batch = client.AutoscalingV2Api(api), client.NetworkingV1Api(api), client.BatchV1Api(api)
    out = {}
    for ns in NAMESPACES:
        for kind, lister in (
            ("Deployment", apps.list_namespaced_deployment),
            ("StatefulSet", apps.list_namespaced_stateful_set),
            ("Service", core.list_namespaced_service),
            ("ConfigMap", core.list_namespaced_config_map),
            ("Secret", core.list_namespaced_secret),
            ("PersistentVolumeClaim", core.list_namespaced_persistent_volume_claim),
            ("PodDisruptionBudget", policy.list_namespaced_pod_disruption_budget),
            ("HorizontalPodAutoscaler", autoscaling.list_namespaced_horizontal_pod_autoscaler),
            ("Ingress", networking.list_namespaced_ingress),
            ("Job", batch.list_namespaced_job),
        ):
            for obj in lister(ns).items:
                d = api.sanitize_for_serialization(obj)
                meta = d["metadata"]
                out[f"{kind} {ns}/{meta['name']}"] = {
                    "uid": meta["uid"],
                    "labels": meta.get("labels"),
                    "annotations": meta.get("annotations"),
                    "content": d.get("spec", d.get("data")),
                }
    return out


FIT_TASK = "Ask the scheduler whether the planned pods fit on the nodes"


def _lms_nodes(core) -> list[str]:
    return sorted(n.metadata.name for n in core.list_node(label_selector=f"{POOL}=lms").items)


def _wait_lms_nodes_free(core):
    # Each LMS pod takes most of an LMS node: wait until other tests' deployments have left them.
    lms_nodes = set(_lms_nodes(core))
    wait_for(
        lambda: not [p for p in core.list_pod_for_all_namespaces().items if p.spec.node_name in lms_nodes],
        300,
        "LMS nodes free of other tests' pods",
    )


def test_first_deploy_that_does_not_fit_stops_before_applying_anything(kube_testbed):
    """Another tenant's pods hold part of each LMS node (nothing the inventory knows): the tutor role's fit check
    asks the scheduler before applying, and the first deploy stops with the scheduler's reasons for every LMS pod."""
    kube_testbed.apply_nodeset(load_nodeset("sandbox"))
    api = kube_testbed.client()
    core, apps = client.CoreV1Api(api), client.AppsV1Api(api)
    _wait_lms_nodes_free(core)
    squat = "fit-squatter"
    core.create_namespace({"metadata": {"name": squat}})
    try:
        for node in _lms_nodes(core):
            # Bound to the node directly (as a DaemonSet's pod is): 10 of the node's CPUs leave too few for an LMS pod.
            core.create_namespaced_pod(
                squat,
                {
                    "metadata": {"name": f"squat-{node}"},
                    "spec": {"nodeName": node, "containers": [{"name": "squat", "image": "pause", "resources": {"requests": {"cpu": "10"}}}]},
                },
            )
        run = _deploy(kube_testbed)
        assert run.rc != 0
        fit = run.results(FIT_TASK)
        assert len(fit) == 1 and fit[0]["probed"] is True and fit[0]["fits"] is False, fit
        unfit_lms = [p for p in fit[0]["unfit"] if p["workload"] == "lms"]
        assert len(unfit_lms) == 2, fit[0]["msg"]
        assert all(p["reasons"].get("Insufficient cpu") == 2 for p in unfit_lms), unfit_lms
        assert "do not fit on the 3 schedulable node(s)" in " ".join(run.stdout.split())
        # Nothing of Open edX was applied; the probe pods are gone.
        for ns in NAMESPACES:
            assert not apps.list_namespaced_deployment(ns).items and not apps.list_namespaced_stateful_set(ns).items
        assert not core.list_pod_for_all_namespaces(label_selector="openedx-scale/fit-check").items
    finally:
        for ns in (squat, *NAMESPACES):
            with contextlib.suppress(client.ApiException):
                core.delete_namespace(ns)
        gone = {squat, *NAMESPACES}
        wait_for(lambda: not [n for n in core.list_namespace().items if n.metadata.name in gone], 180, "the namespaces deleted")


@pytest.fixture(scope="module")
def deployed(kube_testbed):
    """The first deploy onto the sandbox node set; removed afterwards (the LMS pods fill the LMS nodes)."""
    kube_testbed.apply_nodeset(load_nodeset("sandbox"))
    core = client.CoreV1Api(kube_testbed.client())
    _wait_lms_nodes_free(core)
    run = _deploy(kube_testbed)
    try:
        assert_ok(run)
    except BaseException:
        # A failed first deploy must not leave its pods to the next test's nodes.
        for ns in NAMESPACES:
            with contextlib.suppress(client.ApiException):
                core.delete_namespace(ns)
        raise
    yield run
    for ns in NAMESPACES:
        core.delete_namespace(ns)
    wait_for(lambda: not [n for n in core.list_namespace().items if n.metadata.name in NAMESPACES], 180, "the deploy's namespaces deleted")


@pytest.fixture(scope="module")
def core(api):
    return client.CoreV1Api(api)


def test_every_deployment_available(deployed, api):
    apps = client.AppsV1Api(api)
    deployments = [d for ns in NAMESPACES for d in apps.list_namespaced_deployment(ns).items]
    names = {f"{d.metadata.namespace}/{d.metadata.name}" for d in deployments}
    assert {"ingress-nginx/ingress-nginx-controller", "openedx/lms", "openedx/cms", "openedx/lms-worker", "openedx/mysql"} <= names
    for d in deployments:
        available = [c for c in d.status.conditions or [] if c.type == "Available"]
        assert available and available[0].status == "True", (
            f"{d.metadata.namespace}/{d.metadata.name}: {d.status.conditions}\n{node_usage(client.CoreV1Api(api))}"
        )
        assert d.status.available_replicas == d.spec.replicas, f"{d.metadata.name}: {d.status.available_replicas}/{d.spec.replicas}"


def test_lms_pods_one_per_lms_node_and_nothing_else_there(deployed, core):
    lms_nodes = {n.metadata.name for n in core.list_node(label_selector=f"{POOL}=lms").items}
    lms_pods = core.list_namespaced_pod("openedx", label_selector="app.kubernetes.io/name=lms").items
    placed = [p.spec.node_name for p in lms_pods]
    assert None not in placed, f"LMS pods not scheduled: {placed}\n{node_usage(core)}"
    assert len(placed) == len(set(placed)), f"two LMS pods share a node: {placed}"
    assert set(placed) == lms_nodes, f"LMS pods on {placed}, LMS nodes {sorted(lms_nodes)}"
    lms_uids = {p.metadata.uid for p in lms_pods}
    others = [
        f"{p.metadata.namespace}/{p.metadata.name}"
        for p in core.list_pod_for_all_namespaces().items
        if p.spec.node_name in lms_nodes and p.metadata.uid not in lms_uids
    ]
    assert not others, f"pods other than the LMS on LMS nodes: {others}"


def test_first_deploy_asked_the_scheduler_first(deployed, core):
    """The plan (autoscalers at their peak) was probed before anything was applied, and the scheduler's placement
    of the probe's LMS pods is the one the real pods got: one per LMS node."""
    fit = deployed.results(FIT_TASK)
    assert len(fit) == 1 and fit[0]["probed"] is True and fit[0]["fits"] is True, fit
    workloads = {p["workload"] for p in fit[0]["pods"]}
    assert {"lms", "cms", "lms-worker", "mysql", "mongodb"} <= workloads and any(w.startswith("redis-") for w in workloads), workloads
    lms = sorted(p["node"] for p in fit[0]["pods"] if p["workload"] == "lms")
    assert lms == _lms_nodes(core)
    assert all(not p["node"].startswith("oke-lms-") for p in fit[0]["pods"] if p["workload"] != "lms"), fit[0]["pods"]


def test_mongodb_three_ready_members_on_bound_volumes(deployed, api, core):
    sts = client.AppsV1Api(api).read_namespaced_stateful_set("mongodb", "openedx")
    assert sts.spec.replicas == 3 and sts.status.ready_replicas == 3
    claims = [c for c in core.list_namespaced_persistent_volume_claim("openedx").items if c.metadata.name.startswith("data-mongodb-")]
    assert len(claims) == 3 and all(c.status.phase == "Bound" for c in claims)
    init = client.BatchV1Api(api).read_namespaced_job("mongodb-init", "openedx")
    assert init.status.succeeded == 1


def test_pdbs_hpas_and_stored_config(deployed, api, core):
    pdbs = {p.metadata.name for p in client.PolicyV1Api(api).list_namespaced_pod_disruption_budget("openedx").items}
    assert "lms" in pdbs
    hpas = {h.metadata.name: h for h in client.AutoscalingV2Api(api).list_namespaced_horizontal_pod_autoscaler("openedx").items}
    assert {"cms", "cms-worker", "lms-worker", "mfe"} <= set(hpas)
    for name, hpa in hpas.items():
        assert hpa.spec.scale_target_ref.kind == "Deployment" and hpa.spec.scale_target_ref.name == name
    secret = core.read_namespaced_secret("tutor-config", "openedx")
    assert "config.yml" in secret.data
    jobs = client.BatchV1Api(api).list_namespaced_job("openedx").items
    assert jobs and all(j.status.succeeded == 1 for j in jobs), [(j.metadata.name, j.status) for j in jobs if j.status.succeeded != 1]


def test_rerun_changes_nothing_and_restarts_no_pod(deployed, kube_testbed, core):
    before = _controller_pods(core)
    run = _deploy(kube_testbed)
    assert_ok(run)
    changed = sorted(
        {
            ev["event_data"]["task"]
            for ev in run.events
            if ev.get("event") in ("runner_on_ok", "runner_item_on_ok") and (ev["event_data"].get("res") or {}).get("changed")
        }
    )
    n_changed = run.changed  # a plain int keeps pytest from printing the whole run on failure
    assert n_changed == 0, f"re-run changed {n_changed} task(s): {changed}"
    after = _controller_pods(core)
    assert after == before, f"pods replaced or restarted: {sorted(set(before.items()) ^ set(after.items()))}"


def test_check_mode_changes_no_object(deployed, kube_testbed, api):
    before = _objects(api)
    run = _deploy(kube_testbed, check=True)
    assert_ok(run)
    after = _objects(api)
    diff = {k: (before.get(k), after.get(k)) for k in sorted(before.keys() | after.keys()) if before.get(k) != after.get(k)}
    assert not diff, f"check mode changed: {sorted(diff)}: {diff}"
