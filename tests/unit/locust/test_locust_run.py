"""The locustfile for real: headless runs against the stand-in over HTTPS, and bad input refused before the test."""

import csv
import json
import signal
import socket
import subprocess
import sys
import time

import pytest
from openedx_locust import report
from openedx_locust_testlib import EXPECTED_REQUESTS, LOCUSTFILE, REPO, run_locust

from tests.sandbox.lms import DEFAULT_COURSES, StandIn, write_users_csv

BAD_INPUT = 64


# What the stand-in answers that is not a 200 and is no failure: the login page's JWT check before login (401), the
# LMS dashboard's redirect to the MFE (302), no onboarding exam (404), a preferences PATCH (204).
EXPECTED_STATUS = {
    "POST /login_refresh": {"401"},
    "GET /dashboard": {"302"},
    "GET /api/edx_proctoring/v1/user_onboarding/status": {"404"},
    "PATCH /api/user/v1/preferences/<username>": {"204"},
}
PAGES = {"login", "dashboard", "profile", "account", "course home", "enroll", "course home (after enrolling)", "courseware",
         "unit completion", "next unit", "programs", "program details"}  # fmt: skip


def test_every_flow_hits_with_zero_failures(recorded_run):
    """All four flows reached, with a unit render and a program page, every route of the table, 0 failures."""
    proc = recorded_run["proc"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(recorded_run["prefix"] + "_stats.csv", newline="") as fh:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(fh) if r["Name"] != "Aggregated"}
    optional = {("PATCH", "/api/user/v1/preferences/[username]")}  # only while account_privacy is all_users
    missing = EXPECTED_REQUESTS - optional - set(rows)
    assert not missing, f"never requested: {missing}"
    assert set(rows) <= EXPECTED_REQUESTS, "request names must stay bounded to routes"
    assert all(int(r["Failure Count"]) == 0 for r in rows.values()), {k: r["Failure Count"] for k, r in rows.items() if int(r["Failure Count"])}
    assert int(rows[("POST", "/api/user/v2/account/login_session/")]["Request Count"]) == 20  # one login per user
    # The JSON report agrees, and the stand-in saw the same traffic (it would have 403'd a wrong CSRF dance).
    final = json.loads((recorded_run["dir"] / "run.json").read_text())
    assert sum(e["num_failures"] for e in final) == 0 and sum(e["num_requests"] for e in final) > 1000
    before, after = recorded_run["before"], recorded_run["after"]
    assert after["logins"].get("ok", 0) - before["logins"].get("ok", 0) == 20
    assert after["logins"].get("csrf_rejected", 0) == before["logins"].get("csrf_rejected", 0)
    assert after["enrollments"] > before["enrollments"], "the enrollment flow enrolled in the second course"
    assert after["completions"] > before["completions"] and after["events"] > before["events"]
    for route, codes in after["routes"].items():
        allowed = EXPECTED_STATUS.get(route, {"200"})
        assert set(codes) <= allowed, f"{route}: {codes}"
    # Per-page waits: every page of the four flows was viewed, none failed; the verdict shows them.
    with open(recorded_run["prefix"] + "_pages.csv", newline="") as fh:
        pages = {r["Page"]: r for r in csv.DictReader(fh)}
    assert set(pages) == PAGES, set(pages) ^ PAGES
    assert all(int(p["Failed views"]) == 0 and float(p["Requests per view"]) > 0 for p in pages.values())
    assert float(pages["courseware"]["Requests per view"]) >= 10, "courseware: 4 + resume + 3 + the unit (+ its static files)"
    out = recorded_run["dir"] / "report"
    report.main(["--csv-prefix", recorded_run["prefix"], "--out", str(out)])
    assert "## Pages (the learner's wait" in (out / "verdict.md").read_text() and "| program details |" in (out / "verdict.md").read_text()


def test_health_file_reports_users_reached_and_cpu(recorded_run):
    health = json.loads((recorded_run["dir"] / "run_health.json").read_text())
    assert health["ok"] is True, health["gates"]
    assert health["ramp"]["target"] == 20 and health["ramp"]["users_at_check"] == 20 and health["ramp"]["max_users"] == 20
    (worker,) = health["workers"].values()
    assert worker["samples"] and 0 < worker["cpu_peak_avg"] < 90
    assert health["lost_workers"] == []
    assert "reached 20/20 users" in recorded_run["proc"].stdout


@pytest.fixture(scope="module")
def refused(standin, accounts_csv, tmp_path_factory):
    """Run locust with bad input; it must exit 64 with a message before any user starts."""

    def run(*args, csv_path=None, host=None):
        proc = run_locust(
            ["--host", host or standin.url, "--users-csv", str(csv_path or accounts_csv), "--headless", "-t", "5s", *args],
            timeout=40,
        )
        assert proc.returncode == BAD_INPUT, proc.stdout[-2000:]
        assert "Ramping to" not in proc.stdout and "All users spawned" not in proc.stdout
        return proc.stdout

    return run


def test_unknown_flow_is_refused(refused):
    out = refused("--flow-weights", "courseware=2,forums=1")
    assert "--flow-weights: unknown flow 'forums'" in out and "dashboard_profile_account" in out


def test_all_zero_weights_are_refused(refused):
    assert "--flow-weights: no flow has a weight > 0" in refused("--flow-weights", "courseware=0,programs=0")


def test_users_fewer_than_workers_is_refused(refused):
    out = refused("--master", "--expect-workers", "3", "-u", "2", "--master-bind-host", "127.0.0.1", "--master-bind-port", "0")
    assert "--users: 2 users for 3 workers" in out


@pytest.mark.parametrize(("content", "needle"), [("", "has no accounts"), ("alice,alice@example.com\n", "line 1: expected 3 non-empty fields")])
def test_empty_or_malformed_csv_is_refused(refused, tmp_path, content, needle):
    path = tmp_path / "users.csv"
    path.write_text(content)
    assert needle in refused("-u", "1", csv_path=path)


def test_fewer_accounts_than_users_is_refused(refused, tmp_path):
    path = write_users_csv(tmp_path / "few.csv", 3)
    assert "has 3 accounts for 5 users" in refused("-u", "5", csv_path=path)


def test_unreachable_host_is_refused(refused):
    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    out = refused("-u", "1", host=f"https://127.0.0.1:{port}")
    assert f"--host: cannot reach https://127.0.0.1:{port}" in out


def test_ramp_over_the_login_rate_limit_is_refused(refused):
    out = refused("--ramp-users", "50000", "--ramp-spawn-rate", "500", "--source-ips", "50")
    assert "--ramp-spawn-rate: 500 users/s" in out and "--login-limits-raised" in out


def test_ramp_plan_keeps_logins_under_the_lms_rate_limit(tmp_path, accounts_csv):
    """The stand-in enforces 10 logins per IP per 5 s: the planned ramp logs 12 users in without one 400,
    while spawning more users at once (claiming the limits were raised) gets rate-limited."""
    with StandIn(tmp_path, accounts_csv, tls=True, extra_args=["--login-rate-limit-ip", "10/5s"], enroll=DEFAULT_COURSES) as lms:
        common = ["--host", lms.url, "--users-csv", str(accounts_csv), "--headless", "--think-time", "1,2", "--login-rate-limit-ip", "10/5s"]
        planned = run_locust(
            [*common, "--ramp-users", "12", "--ramp-steps", "1", "--ramp-hold", "3", "--ramp-down", "0", "--csv", str(tmp_path / "planned")],
            timeout=60,
        )
        assert "ramp plan: 12 users in 1 steps at 1.8 users/s" in planned.stdout
        assert planned.returncode == 0, planned.stdout[-3000:]
        assert lms.stats()["logins"] == {"ok": 12}
        # 40 logins at once: the limiter's windows are fixed, so even split across three of them one holds > 10
        burst = run_locust([*common, "-u", "40", "-r", "40", "-t", "5s", "--login-limits-raised"], timeout=60)
        assert burst.returncode != 0
        assert lms.stats()["logins"].get("rate_limited", 0) > 0
        assert "rate-limited login" in burst.stdout


def test_worker_lost_mid_run_is_reported(tmp_path, standin, accounts_csv):
    """Master + 2 workers; one is killed mid-run: the other keeps the run going, the master records which worker
    was lost and when, and the report says so. (Locust itself only ends such a run once it purges the dead worker,
    60 s later; here the master is stopped with SIGTERM, as the playbook does at its deadline.)"""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    prefix = tmp_path / "run"
    log = tmp_path / "master.log"
    logins0 = standin.stats()["logins"].get("ok", 0)
    with open(log, "w") as out:
        master = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--master", "--headless", "--expect-workers", "2", "--expect-workers-max-wait", "30",
             "-u", "10", "-r", "10", "-t", "120s", "--host", standin.url, "--users-csv", str(accounts_csv), "--think-time", "0.5,1",
             "--master-bind-host", "127.0.0.1", "--master-bind-port", str(port), "--csv", str(prefix), "--only-summary"],
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
        )  # fmt: skip
    workers = [
        subprocess.Popen([sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--worker", "--master-port", str(port)], cwd=REPO,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _w in range(2)
    ]  # fmt: skip
    try:
        deadline = time.monotonic() + 40
        while standin.stats()["logins"].get("ok", 0) - logins0 < 10:
            assert time.monotonic() < deadline and master.poll() is None, log.read_text()[-3000:]
            time.sleep(0.3)
        workers[1].send_signal(signal.SIGKILL)
        deadline = time.monotonic() + 30
        while "lost at t=" not in log.read_text():
            assert time.monotonic() < deadline and master.poll() is None, log.read_text()[-3000:]
            time.sleep(0.5)
        hits = sum(sum(c.values()) for c in standin.stats()["routes"].values())
        time.sleep(3)
        assert sum(sum(c.values()) for c in standin.stats()["routes"].values()) > hits + 5, "the surviving worker keeps the run going"
        master.send_signal(signal.SIGTERM)
        master.wait(30)
    finally:
        for proc in (master, *workers):
            if proc.poll() is None:
                proc.kill()
            proc.wait()
    health = json.loads((tmp_path / "run_health.json").read_text())
    (lost,) = health["lost_workers"]
    assert lost["reason"] == "missed heartbeats" and lost["index"] in (0, 1) and lost["t"] > 0
    assert master.returncode == 3, log.read_text()[-3000:]  # health gate: the load fell below the target
    assert report.main(["--csv-prefix", str(prefix), "--out", str(tmp_path / "report")]) == report.EXIT_FAIL
    md = (tmp_path / "report" / "verdict.md").read_text()
    assert f"- worker #{lost['index']} on {lost['host'] or '?'}" in md and "missed heartbeats at t=" in md
