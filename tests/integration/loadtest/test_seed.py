"""The seed play (`playbooks/loadtest.yml --tags seed`) on the Kubernetes test bed.

create_test_users runs through `kubectl exec` into the LMS pod: the real API server streams it to kwok's kubelet
API, which runs the LMS stand-in's manage.py (tests/sandbox/lms/edx_platform) with edx-platform's argument
contract. The demo course goes through real Tutor's `tutor k8s do importdemocourse`: a Job the real
controller-manager runs to completion on kwok's nodes. Checked: the accounts really created (batches, emails,
password hashes) against the users CSV the load test reads, a re-run that keeps the password and creates nothing,
the password never in the output, and a clear stop when no LMS pod runs.
"""

from __future__ import annotations

import csv
import json
import stat
import subprocess
import uuid

import pytest

from tests.helpers.ansible import REPO, VENV_BIN, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.kube.fixtures import wait_for
from tests.sandbox.lms.edx_platform import check_password

PLAYBOOK = REPO / "playbooks" / "loadtest.yml"
USERS, BATCH = 1203, 500


@pytest.fixture(scope="module")
def platform(kube_testbed, tmp_path_factory):
    """Open edX started by real Tutor (`tutor k8s start`) in a namespace of its own: the LMS pod to exec into, and the
    caddy/mysql/mongodb/meilisearch deployments `tutor k8s do` waits for before it runs a job."""
    from kubernetes import client

    api = kube_testbed.client()
    core = client.CoreV1Api(api)
    ns = f"seed-{uuid.uuid4().hex[:6]}"
    work = tmp_path_factory.mktemp("seed")
    root = work / "tutor"
    env = {"TUTOR_ROOT": str(root), "KUBECONFIG": str(kube_testbed.kubeconfig), "PATH": f"{VENV_BIN}:/usr/bin:/bin", "HOME": str(work)}
    tutor = str(VENV_BIN / "tutor")
    subprocess.run([tutor, "config", "save", "--set", f"K8S_NAMESPACE={ns}"], env=env, check=True, capture_output=True)
    subprocess.run([tutor, "k8s", "start"], env=env, check=True, capture_output=True)

    def lms_running():
        pods = core.list_namespaced_pod(ns, label_selector="app.kubernetes.io/name=lms").items
        return any(p.status.phase == "Running" for p in pods)

    wait_for(lms_running, 180, "the LMS pod running")
    extravars = {
        "openedx_scale_kubeconfig": str(kube_testbed.kubeconfig),
        "tutor_namespace": ns,
        "tutor_executable": str(VENV_BIN / "tutor"),
        "tutor_kubectl": str(VENV_BIN / "kubectl"),
        "locust_users": USERS,
        # Usernames of their own: the test bed's account store outlives a test when the test bed is reused.
        "loadtest_seed_prefix": ns.replace("-", "_"),
        "loadtest_seed_batch": BATCH,
        "loadtest_seed_tutor_root": str(root),
        "loadtest_seed_password_file": str(work / "seed-password"),
        "locust_users_csv": str(work / "users.csv"),
    }
    yield {"api": api, "ns": ns, "prefix": extravars["loadtest_seed_prefix"], "work": work, "vars": extravars, "accounts": kube_testbed.lms_accounts}
    core.delete_namespace(ns)
    # Its pods sit on the LMS nodes too: gone before a later test places its own LMS there.
    wait_for(lambda: ns not in {n.metadata.name for n in core.list_namespace().items}, 300, f"namespace {ns} deleted")


def seed(platform, **overrides):
    # The sandbox inventory, as a user seeds with theirs: it has no load generators yet, so the play's provisioning
    # import is in the run too (its argument checks are tagged always) and must let a seed-only run through.
    return run_playbook(PLAYBOOK, inventory_path("sandbox"), extravars={**platform["vars"], **overrides}, tags="seed")


def accounts(platform):
    data = json.loads(platform["accounts"].read_text())
    mine = {u: a for u, a in data["accounts"].items() if u.startswith(platform["prefix"] + "_")}
    return mine, data["runs"]


def test_seed_creates_the_accounts_the_load_test_logs_in_with(platform):
    from kubernetes import client

    runs_before = len(json.loads(platform["accounts"].read_text())["runs"]) if platform["accounts"].exists() else 0
    first = seed(platform)
    assert first.rc == 0, first.stdout[-4000:]

    created, runs = accounts(platform)
    assert sorted(created) == sorted(f"{platform['prefix']}_{i}" for i in range(USERS))
    assert runs[runs_before:] == [{"created": 500, "skipped": 0}, {"created": 500, "skipped": 0}, {"created": 203, "skipped": 0}], "one exec per batch"

    users_csv = platform["work"] / "users.csv"
    assert stat.S_IMODE(users_csv.stat().st_mode) == 0o600
    rows = list(csv.DictReader(users_csv.open()))
    assert [r["username"] for r in rows] == [f"{platform['prefix']}_{i}" for i in range(USERS)]
    password = (platform["work"] / "seed-password").read_text().split()[0]
    assert len(password) == 20 and {r["password"] for r in rows} == {password}
    for row in rows[:: USERS // 20] + rows[-1:]:  # every login the CSV promises works against the stored hash
        account = created[row["username"]]
        assert account["email"] == row["email"] and account["is_active"]
        assert check_password(row["password"], account["password"])
    assert password not in first.stdout, "the seed password leaked into the play's output"

    batch = client.BatchV1Api(platform["api"])
    jobs = [j for j in batch.list_namespaced_job(platform["ns"]).items if j.metadata.name.startswith("cms-job-")]
    assert len(jobs) == 1 and jobs[0].status.succeeded == 1, "tutor k8s do importdemocourse ran its Job to completion"
    assert "git clone" in " ".join(jobs[0].spec.template.spec.containers[0].args), "the Job is Tutor's importdemocourse"

    # Re-run: the kept password is used again, every account is already there and keeps its hash.
    second = seed(platform, loadtest_seed_demo_course=False)
    assert second.rc == 0, second.stdout[-4000:]
    again, runs = accounts(platform)
    assert runs[-3:] == [{"created": 0, "skipped": 500}, {"created": 0, "skipped": 500}, {"created": 0, "skipped": 203}]
    assert again == created
    assert list(csv.DictReader(users_csv.open())) == rows


def test_seed_without_an_lms_pod_stops_with_the_fix(platform):
    from kubernetes import client

    empty = f"{platform['ns']}-empty"
    core = client.CoreV1Api(platform["api"])
    core.create_namespace({"metadata": {"name": empty}})
    try:
        run = seed(platform, tutor_namespace=empty, locust_users_csv=str(platform["work"] / "never.csv"))
    finally:
        core.delete_namespace(empty)
    assert run.rc != 0
    out = " ".join(run.stdout.split())
    assert f"No running LMS pod (label app.kubernetes.io/name=lms) in namespace {empty}" in out and "deploy_openedx.yml" in out
    assert not (platform["work"] / "never.csv").exists(), "nothing written before the stop"
