"""Pre-flight fit check of the case study's real plan against its planned node set.

The deploy playbook's render mode writes what example-jeddah would apply; the fit_workloads filter turns it into
openedx_scale.oke.k8s_fit_check's `workloads` (as the tutor role does before a first deploy), which the test bed's
scheduler judges against the planned nodes: it fits on example-jeddah's 5 LMS + 2 services nodes, and
does not fit on the sandbox's 2 LMS + 1 services nodes - the failure lists the LMS pods left over.
"""

from __future__ import annotations

import pytest
import yaml
from kubernetes import client

from tests.helpers.ansible import REPO, VENV_BIN, assert_ok, load_collections, run_playbook
from tests.sandbox.kube.fixtures import wait_for
from tests.sandbox.kube.testbed import load_nodeset

load_collections()
from ansible_collections.openedx_scale.oke.plugins.filter.workloads import fit_workloads  # noqa: E402

# Every pod on the nodes counts in a fit check: start each test on nodes no other test still fills.
pytestmark = pytest.mark.usefixtures("free_nodes")

PLAYBOOK = REPO / "playbooks" / "deploy_openedx.yml"
FIT_PLAYBOOK = REPO / "tests" / "integration" / "kube" / "playbooks" / "fit_check.yml"
TASK = "Ask the scheduler whether the pods fit"


@pytest.fixture(scope="module")
def jeddah_plan(tmp_path_factory):
    """Workloads (name, replicas, pod template) of the rendered example-jeddah deployment."""
    out = tmp_path_factory.mktemp("jeddah-render")
    run = run_playbook(
        PLAYBOOK,
        REPO / "inventories" / "example-jeddah",
        extravars={"openedx_scale_render_dir": str(out), "tutor_executable": str(VENV_BIN / "tutor"), "tutor_kubectl": str(VENV_BIN / "kubectl")},
    )
    assert_ok(run)
    # The same plan the tutor role probes before a first deploy (the autoscalers at their peak).
    workloads = fit_workloads([obj for f in sorted(out.glob("*.yaml")) for obj in yaml.safe_load_all(f.read_text())])
    assert any(w["name"] == "lms" for w in workloads), [w["name"] for w in workloads]
    return workloads


@pytest.fixture
def nodeset(kube_testbed):
    """Switch the test bed to a planned node set for one test; back to the sandbox's afterwards."""
    yield lambda name: kube_testbed.apply_nodeset(load_nodeset(name))
    kube_testbed.apply_nodeset(load_nodeset("sandbox"))


def _probe(kube_testbed, workloads):
    extravars = {"fit_check_kubeconfig": str(kube_testbed.kubeconfig), "fit_check_workloads": workloads, "fit_check_timeout": 60}
    run = run_playbook(FIT_PLAYBOOK, extravars=extravars)
    return run, run.results(TASK)[0]


def _no_probe_pods(api):
    return not client.CoreV1Api(api).list_pod_for_all_namespaces(label_selector="openedx-scale/fit-check").items


def test_case_study_plan_fits_its_planned_nodes(kube_testbed, api, jeddah_plan, nodeset):
    nodeset("example-jeddah")
    run, res = _probe(kube_testbed, jeddah_plan)
    assert_ok(run)
    assert res["fits"] is True and res["nodes"] == 7
    lms = [p for p in res["pods"] if p["workload"] == "lms"]
    assert len(lms) == 5 and len({p["node"] for p in lms}) == 5
    assert all(p["node"].startswith("oke-lms-") for p in lms)
    # Nothing else lands on an LMS node (the plan's placement, judged by the scheduler).
    assert all(p["node"].startswith("oke-services-") for p in res["pods"] if p["workload"] != "lms"), res["pods"]
    wait_for(lambda: _no_probe_pods(api), 30, "probe pods deleted")


def test_case_study_plan_does_not_fit_the_sandbox_nodes(kube_testbed, api, jeddah_plan, nodeset):
    nodeset("sandbox")
    run, res = _probe(kube_testbed, jeddah_plan)
    assert run.rc != 0 and res["fits"] is False
    unfit_lms = [p for p in res["unfit"] if p["workload"] == "lms"]
    assert len(unfit_lms) == 3, res["msg"]
    for p in unfit_lms:
        assert p["verdict"] == "unschedulable"
        # The 2 LMS nodes hold one LMS pod each (anti-affinity, and each pod takes most of a node's CPU);
        # the services node is not an LMS node.
        assert set(p["reasons"]) & {"node(s) didn't match pod anti-affinity rules", "Insufficient cpu", "Insufficient memory"}, p["reasons"]
        assert p["reasons"].get("node(s) didn't match Pod's node affinity/selector") == 1, p["reasons"]
    assert res["msg"].startswith(f"{len(res['unfit'])} of {len(res['pods'])} pod(s) do not fit on the 3 schedulable node(s)")
    wait_for(lambda: _no_probe_pods(api), 30, "probe pods deleted")
