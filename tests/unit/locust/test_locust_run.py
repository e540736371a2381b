"""The locustfile for real: headless runs against the stand-in over HTTPS, and bad input refused before the test."""

import csv
import json
import socket

import pytest
from openedx_locust_testlib import EXPECTED_REQUESTS, run_locust

from tests.sandbox.lms import StandIn, write_users_csv

BAD_INPUT = 64


def test_every_flow_hits_with_zero_failures(recorded_run):
    proc = recorded_run["proc"]
    assert proc.returncode == 0, proc.stdout[-3000:]
    with open(recorded_run["prefix"] + "_stats.csv", newline="") as fh:
        rows = {(r["Type"], r["Name"]): r for r in csv.DictReader(fh) if r["Name"] != "Aggregated"}
    missing = EXPECTED_REQUESTS - set(rows)
    assert not missing, f"never requested: {missing}"
    assert set(rows) == EXPECTED_REQUESTS, "request names must stay bounded to routes"
    assert all(int(r["Failure Count"]) == 0 for r in rows.values())
    assert int(rows[("POST", "/api/user/v2/account/login_session/")]["Request Count"]) == 20  # one login per user
    # The JSON report agrees, and the stand-in saw the same traffic (it would have 403'd a wrong CSRF dance).
    final = json.loads((recorded_run["dir"] / "run.json").read_text())
    assert sum(e["num_failures"] for e in final) == 0 and sum(e["num_requests"] for e in final) > 500
    before, after = recorded_run["before"]["logins"], recorded_run["after"]["logins"]
    assert after.get("ok", 0) - before.get("ok", 0) == 20
    assert after.get("csrf_rejected", 0) == before.get("csrf_rejected", 0)
    seen = recorded_run["after"]["routes"]
    assert all(set(codes) <= {"200"} for route, codes in seen.items() if route != "<unknown>"), seen


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


def test_zero_weight_is_refused(refused):
    assert "--flow-weights: weight of 'programs' must be > 0" in refused("--flow-weights", "programs=0")


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
    """The stand-in enforces 10 logins per IP per 10 s: the planned ramp logs 12 users in without one 400,
    while spawning the same users at once (claiming the limits were raised) gets rate-limited."""
    with StandIn(tmp_path, accounts_csv, tls=True, extra_args=["--login-rate-limit-ip", "10/10s"]) as lms:
        common = ["--host", lms.url, "--users-csv", str(accounts_csv), "--headless", "--think-time", "1,2", "--login-rate-limit-ip", "10/10s"]
        planned = run_locust(
            [*common, "--ramp-users", "12", "--ramp-steps", "1", "--ramp-hold", "4", "--ramp-down", "0", "--csv", str(tmp_path / "planned")],
            timeout=60,
        )
        assert "ramp plan: 12 users in 1 steps at 0.9 users/s" in planned.stdout
        assert planned.returncode == 0, planned.stdout[-3000:]
        assert lms.stats()["logins"] == {"ok": 12}
        burst = run_locust([*common, "-u", "12", "-r", "12", "-t", "4s", "--login-limits-raised"], timeout=60)
        assert burst.returncode != 0
        assert lms.stats()["logins"].get("rate_limited", 0) > 0
        assert "rate-limited login" in burst.stdout
