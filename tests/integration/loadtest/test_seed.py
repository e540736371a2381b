"""The loadtest_seed role (`playbooks/loadtest.yml --tags seed`) on the Kubernetes test bed.

The batches go through `kubectl exec --stdin` into the LMS pod: the real API server streams them to kwok's kubelet
API, which runs the LMS stand-in's manage.py (tests/sandbox/lms/edx_platform) with edx-platform's argument
contract: `./manage.py lms shell --command CODE`, CODE calling create_test_users in-process with the batch read from
standard input. The demo course goes through real Tutor's `tutor k8s do importdemocourse`: a Job the real
controller-manager runs to completion on kwok's nodes, before any account exists. kwok runs no container, so the
Job's own work (`./manage.py cms import` of the demo course) is done by the tutor the play calls, a wrapper around
real Tutor that, once `importdemocourse` succeeded (in the scratch Tutor root the role writes from the configuration the
deploy stage keeps in the cluster, no deploy files), runs that import through `kubectl exec` with the demo course's
course.xml: without the import first, enrolling fails. Course discovery is real tutor-discovery's Deployment (`tutor
plugins enable discovery`); `kubectl exec` into its container runs course discovery's stand-in
(tests/sandbox/discovery), whose program the LMS stand-in's cache_programs caches.
Checked: the accounts really created (batches, emails, password hashes) against the users CSV and enrolled in the
demo course; the program holding the demo course, cached by the LMS; the password in the Secret, in no process
argument and not in a -vvv log; a re-run that creates nothing; a job of its own that writes the same CSV from the
Secret alone; a differing password and a missing LMS pod refused with the fix before anything changes.
"""

from __future__ import annotations

import base64
import csv
import json
import stat
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import pytest

from tests.helpers.ansible import REPO, VENV_BIN, run_playbook
from tests.rehearsal import inventory_path
from tests.sandbox.kube.fixtures import wait_for
from tests.sandbox.lms.edx_platform import check_password

PLAYBOOK = REPO / "playbooks" / "loadtest.yml"
USERS_CSV_PLAY = REPO / "tests" / "integration" / "loadtest" / "playbooks" / "users_csv.yml"
SECRET = "openedx-scale-loadtest-users"
USERS, BATCH = 1203, 500
DEMO_COURSE = "course-v1:OpenedX+DemoX+DemoCourse"


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
    # tutor-discovery renders with `docker info` and fails without a docker CLI (the role's plugin copes; plain Tutor
    # here does not): a docker that reaches no daemon, as on a controller with the CLI only.
    shim = work / "bin"
    shim.mkdir()
    (shim / "docker").write_text("#!/bin/sh\necho 'Cannot connect to the Docker daemon' >&2\nexit 1\n")
    (shim / "docker").chmod(0o755)
    env = {"TUTOR_ROOT": str(root), "KUBECONFIG": str(kube_testbed.kubeconfig), "PATH": f"{VENV_BIN}:{shim}:/usr/bin:/bin", "HOME": str(work)}
    tutor = str(VENV_BIN / "tutor")
    subprocess.run([tutor, "config", "save", "--set", f"K8S_NAMESPACE={ns}"], env=env, check=True, capture_output=True)
    subprocess.run([tutor, "plugins", "enable", "discovery"], env=env, check=True, capture_output=True)
    subprocess.run([tutor, "k8s", "start"], env=env, check=True, capture_output=True)
    # What the deploy stage keeps in the cluster (tutor_config_secret): the seeding's only source of Tutor's
    # configuration, so that `--tags seed` alone needs no file of the deploy stage's.
    core.create_namespaced_secret(ns, {"metadata": {"name": "tutor-config"}, "stringData": {"config.yml": (root / "config.yml").read_text()}})

    def running(name):
        pods = core.list_namespaced_pod(ns, label_selector=f"app.kubernetes.io/name={name}").items
        return any(p.status.phase == "Running" for p in pods)

    wait_for(lambda: running("lms") and running("discovery"), 180, "the LMS and discovery pods running")
    extravars = {
        "openedx_scale_kubeconfig": str(kube_testbed.kubeconfig),
        "openedx_scale_namespace": ns,
        "openedx_scale_tutor_executable": str(tutor_importing(work, ns, kube_testbed.kubeconfig)),
        "openedx_scale_kubectl": str(VENV_BIN / "kubectl"),
        "openedx_scale_target_users": USERS,
        # Usernames of their own: the test bed's account store outlives a test when the test bed is reused.
        "loadtest_seed_prefix": ns.replace("-", "_"),
        "loadtest_seed_batch": BATCH,
        "loadtest_seed_users_csv": str(work / "users.csv"),
        "openedx_scale_discovery_enabled": True,
        # One program per namespace: the test bed's discovery state outlives a test when the test bed is reused.
        "loadtest_seed_program_title": f"Load test program {ns}",
    }
    yield {"api": api, "ns": ns, "prefix": extravars["loadtest_seed_prefix"], "work": work, "vars": extravars, "accounts": kube_testbed.lms_accounts}
    core.delete_namespace(ns)
    # Its pods sit on the LMS nodes too: gone before a later test places its own LMS there.
    wait_for(lambda: ns not in {n.metadata.name for n in core.list_namespace().items}, 300, f"namespace {ns} deleted")


def tutor_importing(work, ns, kubeconfig):
    """Real Tutor, then what its importdemocourse Job's container would do (kwok runs none): `./manage.py cms import`
    of openedx-demo-course's course.xml (demo-course/course/course.xml: org OpenedX, course DemoX, url_name
    DemoCourse) in the LMS pod, whose image is the CMS's (edx-platform)."""
    course = work / "demo-course" / "course"
    course.mkdir(parents=True)
    (course / "course.xml").write_text('<course url_name="DemoCourse" org="OpenedX" course="DemoX"/>\n')
    wrapper = work / "tutor-importing"
    wrapper.write_text(f"""#!{sys.executable}
import subprocess, sys
rc = subprocess.run([{str(VENV_BIN / "tutor")!r}, *sys.argv[1:]]).returncode
if rc == 0 and sys.argv[1:] == ["k8s", "do", "importdemocourse"]:
    kubectl = [{str(VENV_BIN / "kubectl")!r}, "--kubeconfig", {str(kubeconfig)!r}, "--namespace", {ns!r}]
    pod = subprocess.run(kubectl + ["get", "pods", "-l", "app.kubernetes.io/name=lms", "-o", "jsonpath={{.items[0].metadata.name}}"],
                         capture_output=True, text=True, check=True).stdout
    rc = subprocess.run(kubectl + ["exec", pod, "-c", "lms", "--", "./manage.py", "cms", "import", {str(course)!r}]).returncode
sys.exit(rc)
""")
    wrapper.chmod(0o755)
    return wrapper


def seed(platform, verbosity=0, **overrides):
    # The sandbox inventory, as a user seeds with theirs: it has no load generators, which a seed-only run must let through.
    return run_playbook(PLAYBOOK, inventory_path("sandbox"), extravars={**platform["vars"], **overrides}, tags="seed", verbosity=verbosity)


def kept(platform) -> dict:
    from kubernetes import client

    secret = client.CoreV1Api(platform["api"]).read_namespaced_secret(SECRET, platform["ns"])
    return {k: base64.b64decode(v).decode() for k, v in secret.data.items()}


def accounts(platform):
    data = json.loads(platform["accounts"].read_text())
    mine = {u: a for u, a in data["accounts"].items() if u.startswith(platform["prefix"] + "_")}
    return mine, data["runs"]


def test_seed_creates_the_accounts_the_load_test_logs_in_with(platform):
    from kubernetes import client

    runs_before = len(json.loads(platform["accounts"].read_text())["runs"]) if platform["accounts"].exists() else 0
    scratch_before = set(Path(tempfile.gettempdir()).glob("loadtest-seed-tutor-*"))
    first = seed(platform, verbosity=3)
    assert first.rc == 0, first.stdout[-4000:]
    assert set(Path(tempfile.gettempdir()).glob("loadtest-seed-tutor-*")) == scratch_before, "the scratch Tutor root (secrets) was left behind"

    created, runs = accounts(platform)
    assert sorted(created) == sorted(f"{platform['prefix']}_{i}" for i in range(USERS))
    assert [{k: r[k] for k in ("created", "skipped")} for r in runs[runs_before:]] == [
        {"created": 500, "skipped": 0},
        {"created": 500, "skipped": 0},
        {"created": 203, "skipped": 0},
    ], "one exec per batch"

    secret = kept(platform)
    password = secret["password"]
    expected = {"prefix": platform["prefix"], "domain": "example.com", "users": str(USERS), "course": DEMO_COURSE, "complete": "true"}
    assert {k: v for k, v in secret.items() if k != "password"} == expected
    assert len(password) == 24 and password.isalnum()
    for run in runs[runs_before:]:  # what the exec'd process really got as arguments
        assert run["argv"][:3] == ["lms", "shell", "--command"], run["argv"]
        assert "--password" not in run["argv"] and password not in " ".join(run["argv"]), "the password reached create_test_users as an argument"
    assert password not in first.stdout, "the seed password leaked into the play's -vvv output"

    users_csv = platform["work"] / "users.csv"
    assert stat.S_IMODE(users_csv.stat().st_mode) == 0o600
    rows = list(csv.DictReader(users_csv.open()))
    assert [r["username"] for r in rows] == [f"{platform['prefix']}_{i}" for i in range(USERS)]
    assert {r["password"] for r in rows} == {password}
    for row in rows[:: USERS // 20] + rows[-1:]:  # every login the CSV promises works against the stored hash
        account = created[row["username"]]
        assert account["email"] == row["email"] and account["is_active"]
        assert check_password(row["password"], account["password"])

    # Enrolled as learners: the course existed before the first account (imported first), every account is in it.
    out = first.stdout
    assert out.index("TASK [openedx_scale.oke.loadtest_seed : Import the demo course]") < out.index(
        "TASK [openedx_scale.oke.loadtest_seed : Create the accounts with create_test_users"), "accounts created before the course"
    for username, account in created.items():
        assert account.get("enrollments") == {DEMO_COURSE: {"mode": "audit", "is_active": True}}, username

    # The program: in discovery, holding the demo course, and in the LMS's cache as discovery serves it.
    store = json.loads(platform["accounts"].read_text())
    mine = [p for p in store["discovery"]["programs"] if p["title"] == platform["vars"]["loadtest_seed_program_title"]]
    assert len(mine) == 1 and mine[0]["status"] == "active" and mine[0]["type_attrs"]["slug"] == "microbachelors"
    assert [r["key"] for c in mine[0]["courses"] for r in c["course_runs"]] == [DEMO_COURSE]
    assert mine[0] in store["programs"], "the LMS did not cache the program discovery holds"
    assert f"({mine[0]['uuid']})" in " ".join(first.stdout.split())

    batch = client.BatchV1Api(platform["api"])
    jobs = [j for j in batch.list_namespaced_job(platform["ns"]).items if j.metadata.name.startswith("cms-job-")]
    assert len(jobs) == 1 and jobs[0].status.succeeded == 1, "tutor k8s do importdemocourse ran its Job to completion"
    assert "git clone" in " ".join(jobs[0].spec.template.spec.containers[0].args), "the Job is Tutor's importdemocourse"

    # Re-run: the Secret records this seeding as complete, so nothing is created or changed.
    second = seed(platform, loadtest_seed_demo_course=False)
    assert second.rc == 0, second.stdout[-4000:]
    again, runs_after = accounts(platform)
    assert len(runs_after) == len(runs) and again == created, "a re-run of a complete seeding ran create_test_users"
    assert second.changed == 0, second.stdout[-4000:]
    programs = json.loads(platform["accounts"].read_text())["discovery"]["programs"]
    assert [p["uuid"] for p in programs if p["title"] == platform["vars"]["loadtest_seed_program_title"]] == [mine[0]["uuid"]]
    assert kept(platform) == secret and list(csv.DictReader(users_csv.open())) == rows

    # A job of its own (AWX): no controller files, only the Secret; it writes the same CSV.
    users_csv.unlink()
    job = run_playbook(USERS_CSV_PLAY, inventory_path("sandbox"), extravars=platform["vars"])
    assert job.rc == 0, job.stdout[-4000:]
    assert list(csv.DictReader(users_csv.open())) == rows and stat.S_IMODE(users_csv.stat().st_mode) == 0o600


def test_seed_refuses_another_password_before_anything_changes(platform):
    if not platform["accounts"].exists() or not accounts(platform)[0]:
        seed(platform, loadtest_seed_demo_course=False)
    before_secret, before = kept(platform), json.loads(platform["accounts"].read_text())
    other = "Another-password-42"
    run = seed(platform, loadtest_seed_password=other, loadtest_seed_users=USERS + 5, loadtest_seed_demo_course=False)
    assert run.rc != 0
    out = " ".join(run.stdout.split())
    assert "loadtest_seed_password differs from the password kept in Secret" in out and "Leave loadtest_seed_password empty" in out
    assert other not in run.stdout and before_secret["password"] not in run.stdout
    assert kept(platform) == before_secret and json.loads(platform["accounts"].read_text()) == before


def test_users_csv_without_a_complete_seeding_names_the_fix(platform):
    from kubernetes import client

    core = client.CoreV1Api(platform["api"])
    ns = f"{platform['ns']}-half"
    never = platform["work"] / "half.csv"
    extravars = {**platform["vars"], "openedx_scale_namespace": ns, "loadtest_seed_users_csv": str(never)}
    core.create_namespace({"metadata": {"name": ns}})
    try:
        missing = run_playbook(USERS_CSV_PLAY, inventory_path("sandbox"), extravars=extravars)
        kept = {"password": "x" * 24, "prefix": "p", "domain": "example.com", "users": "3", "complete": "false"}
        core.create_namespaced_secret(ns, {"metadata": {"name": SECRET}, "stringData": kept})
        half = run_playbook(USERS_CSV_PLAY, inventory_path("sandbox"), extravars=extravars)
    finally:
        core.delete_namespace(ns)
    for run, why in ((missing, "not found"), (half, "complete is false")):
        assert run.rc != 0
        out = " ".join(run.stdout.split())
        assert f"openedx_scale_users_csv: empty, and no complete seeding to write it from: Secret {ns}/{SECRET} {why}" in out, out[-3000:]
        assert "--tags seed" in out
    assert "x" * 24 not in half.stdout
    assert not never.exists(), "a CSV written without a complete seeding"


def test_seed_without_an_lms_pod_stops_with_the_fix(platform):
    from kubernetes import client

    empty = f"{platform['ns']}-empty"
    core = client.CoreV1Api(platform["api"])
    core.create_namespace({"metadata": {"name": empty}})
    try:
        run = seed(platform, openedx_scale_namespace=empty, loadtest_seed_users_csv=str(platform["work"] / "never.csv"))
    finally:
        core.delete_namespace(empty)
    assert run.rc != 0
    out = " ".join(run.stdout.split())
    assert f"No running LMS pod (label app.kubernetes.io/name=lms) in namespace {empty}" in out and "deploy_openedx.yml" in out
    assert not (platform["work"] / "never.csv").exists(), "nothing written before the stop"
