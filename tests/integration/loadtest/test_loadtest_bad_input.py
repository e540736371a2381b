"""playbooks/loadtest.yml refuses bad input with a clear error naming the variable, before anything starts.

No machines are needed: the master and the workers are this host over a local connection, and every case stops in
the locust role's preflight (inputs are checked before the hosts themselves). The unreachable-host case probes a
closed port on loopback.
"""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys

import pytest
import yaml

from tests.helpers.ansible import REPO, run_playbook
from tests.helpers.net import free_port

PLAYBOOK = REPO / "playbooks" / "loadtest.yml"
PLAN = REPO / "roles" / "locust" / "files" / "locust_plan.py"
PACKAGE = REPO / "roles" / "locust" / "files" / "openedx_locust"


def _accounts(path, n, start=0):
    path.write_text("username,email,password\n" + "".join(f"u{i},u{i}@example.com,pw{i}\n" for i in range(start, start + n)))
    return path


def write_inventory(tmp_path, **overrides):
    """An inventory of this host as master and two workers, with valid inputs unless `overrides` change them."""
    local = {"ansible_connection": "local", "ansible_python_interpreter": sys.executable, "ansible_become": False}
    users_csv = tmp_path / "users.csv"
    if not users_csv.exists():
        _accounts(users_csv, 40)
    base = {
        "locust_host": f"http://127.0.0.1:{free_port()}",
        # Every inventory sets the target (the seeding's argument specs, checked on every run, default from it).
        "openedx_scale_target_users": 8,
        "locust_users": 8,
        "locust_worker_processes": 2,
        "openedx_scale_users_csv": str(users_csv),
        "locust_think_time": [1, 2],
        "locust_ramp_hold": 10,
        "locust_reports_dir": str(tmp_path / "reports"),
        "locust_wheelhouse_dir": str(tmp_path / "wheelhouse"),
    }
    inv = {
        "all": {
            "vars": {**base, **overrides},
            "children": {
                "locust_master": {"hosts": {"m1": local}},
                "locust_workers": {"hosts": {"w1": local, "w2": local}},
            },
        }
    }
    path = tmp_path / "hosts.yml"
    path.write_text(yaml.safe_dump(inv))
    return path


@pytest.fixture
def inventory(tmp_path):
    return lambda **overrides: write_inventory(tmp_path, **overrides)


def _fails_with(run, *needles):
    assert run.rc != 0, f"loadtest.yml accepted bad input:\n{run.stdout[-4000:]}"
    for needle in needles:
        assert needle in run.stdout, f"expected {needle!r} in the error:\n{run.stdout[-4000:]}"
    # Nothing was installed or started: the play stopped in preflight.
    assert run.changed == 0, f"bad input changed something:\n{run.stdout[-4000:]}"
    assert "Install Locust into a venv" not in run.stdout


# Run as rows of the bad-input table (tests/integration/operate/test_bad_input_table.py), with the other stages.
CASES = {
    # Issue 30: accepted silently before the spec check (roles/locust/meta/constraints.yml).
    "failure ratio above 1": ({"locust_slo_max_failure_ratio": 1.5}, ["locust_slo_max_failure_ratio: 1.5 is out of range"]),
    "master port 70000": ({"locust_master_port": 70000}, ["locust_master_port: 70000 is out of range"]),
    "unknown flow": ({"locust_flow_weights": {"courseware": 1, "checkout": 2}}, ["locust_flow_weights", "Unknown flow(s) checkout"]),
    "all weights zero": ({"locust_flow_weights": {"courseware": 0, "programs": 0}}, ["locust_flow_weights", "at least one > 0"]),
    "negative weight": ({"locust_flow_weights": {"courseware": -1}}, ["locust_flow_weights", "integer weights >= 0"]),
    "only programs, no discovery": (
        {"locust_flow_weights": {"programs": 2}, "locust_discovery_enabled": False},
        ["locust_flow_weights: only the programs flow", "openedx_scale_discovery_enabled: true"],
    ),
    "users below workers": ({"locust_users": 3}, ["locust_users: 3 users for 4 worker processes"]),
    "bad think time": ({"locust_think_time": [5, 1]}, ["locust_think_time"]),
    "bad course key": ({"locust_course_ids": ["DemoX"]}, ["locust_course_ids"]),
    "ramp over the login limit": ({"locust_ramp_spawn_rate": 50, "locust_users": 4000}, ["locust_ramp_spawn_rate:", "login"]),
    "login limits claimed, not raised": ({"locust_login_limits_raised": True, "openedx_scale_login_limits_raised": False},
                                         ["locust_login_limits_raised is true", "openedx_scale_login_limits_raised: false", "Fix:"]),
    "no users CSV": ({"openedx_scale_users_csv": ""}, ["openedx_scale_users_csv: empty"]),
    "missing users CSV": ({"openedx_scale_users_csv": "/nonexistent/users.csv"}, ["locust_users_csv", "does not exist"]),
    # locust.conf takes one option per line: a newline would add options of its own.
    "extra option with a newline": (
        {"locust_extra_options": {"loglevel": "INFO\nheadless = false"}},
        ["locust_extra_options ['loglevel']", "single-line scalar values (no newline)"],
    ),
    "extra option turns the web UI on": (
        {"locust_extra_options": {"headless": False}},
        ["headless switch on or expose the web UI", "locust_allow_web_ui: true"],
    ),
    "extra option web host": ({"locust_extra_options": {"--web-host": "0.0.0.0"}}, ["web-host switch on or expose the web UI"]),
    "extra option web ui": ({"locust_extra_options": {"web_ui": True}}, ["web-ui switch on or expose the web UI"]),
    "extra option bad name": ({"locust_extra_options": {"log level": "INFO"}}, ["locust_extra_options ['log level']", "letters, digits, '-'"]),
    "extra options not a mapping": ({"locust_extra_options": ["--headless"]}, ["argument 'locust_extra_options' is of type list"]),
}


def test_empty_users_csv(inventory, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("username,email,password\n")
    _fails_with(run_playbook(PLAYBOOK, inventory=inventory(openedx_scale_users_csv=str(empty))), "locust_users_csv", "has no accounts")


def test_malformed_users_csv(inventory, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("username,email,password\nu1,u1@example.com\nu2,u2@example.com,Pw2Secret,x\n")
    _fails_with(run_playbook(PLAYBOOK, inventory=inventory(openedx_scale_users_csv=str(bad))), "locust_users_csv", "line 2", "expected 3")
    bad.write_text("username,email,password\nu2,u2@example.com,Pw2Secret,x\n")
    run = run_playbook(PLAYBOOK, inventory=inventory(openedx_scale_users_csv=str(bad)))
    _fails_with(run, "locust_users_csv", "line 2", "expected 3", "the row of 'u2'")
    assert "Pw2Secret" not in run.stdout


def test_no_account_file_is_left_behind_when_a_later_check_fails(inventory, tmp_path):
    """Preflight only validates the users CSV; the per-worker files exist in configure only (block/always)."""
    scratch = tmp_path / "controller-tmp"
    scratch.mkdir()
    run = run_playbook(PLAYBOOK, inventory=inventory(), envvars={"TMPDIR": str(scratch)}, verbosity=3)
    _fails_with(run, "is unreachable from w1")
    assert "Plan the ramp and validate the users CSV against the split" in run.stdout
    assert not list(scratch.glob("locust-users-*")), sorted(p.name for p in scratch.rglob("*"))
    # The -vvv log of the split carries none of the accounts' passwords (pw0 ... pw39 in the users CSV).
    assert not [f"pw{i}," for i in range(40) if f",pw{i}\n" in run.stdout or f'pw{i}"' in run.stdout]


def test_duplicate_account(inventory, tmp_path):
    dup = tmp_path / "dup.csv"
    dup.write_text("u1,u1@example.com,a\nu2,u2@example.com,b\nu1,u3@example.com,c\n")
    _fails_with(run_playbook(PLAYBOOK, inventory=inventory(openedx_scale_users_csv=str(dup))), "locust_users_csv", "already on line 1")


def test_too_few_accounts_for_disjoint_shares(inventory, tmp_path):
    few = _accounts(tmp_path / "few.csv", 6)
    _fails_with(run_playbook(PLAYBOOK, inventory=inventory(openedx_scale_users_csv=str(few))), "locust_users_csv", "has 6 accounts", "at least 8 rows")


def test_unreachable_host(inventory):
    run = run_playbook(PLAYBOOK, inventory=inventory())
    _fails_with(run, "locust_host: http://127.0.0.1:", "is unreachable from w1")


def test_valid_input_passes_every_input_check(inventory):
    """Control case: with a reachable LMS the only complaint left is that this host is no systemd VM.

    The web UI options pass once allowed, and a disabled firewall is accepted with a loud warning."""
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(16)
        port = srv.getsockname()[1]
        proc = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", "127.0.0.1", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        run = run_playbook(
            PLAYBOOK,
            inventory=inventory(
                locust_host=f"http://127.0.0.1:{port}",
                locust_firewall=False,
                locust_allow_web_ui=True,
                locust_extra_options={"web-port": 8090, "loglevel": "INFO"},
            ),
            tags="locust_preflight",
        )
    finally:
        proc.terminate()
        proc.wait()
    if "the locust role supports systemd" not in run.stdout:  # on a systemd host preflight passes entirely
        assert run.rc == 0, run.stdout[-4000:]
    else:
        _fails_with(run, "the locust role supports systemd")
    assert "ramp plan: 8 users" in run.stdout
    out = " ".join(run.stdout.split())
    assert "The programs flow runs with weight 0 instead of 1" in out, "no course discovery here: the preflight says the flow is off"
    assert "WARNING: locust_firewall is false" in out and "port 5557 and the web UI port 8090 on m1 accept connections from any address" in out


def test_known_flows_match_the_locustfile():
    spec = importlib.util.spec_from_file_location("_cfg", PACKAGE / "config.py")
    cfg = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(cfg)
    role_vars = yaml.safe_load((REPO / "roles" / "locust" / "vars" / "main.yml").read_text())
    assert role_vars["_locust_known_flows"] == list(cfg.FLOWS)
    defaults = yaml.safe_load((REPO / "roles" / "locust" / "defaults" / "main.yml").read_text())
    assert defaults["locust_flow_weights"] == cfg.parse_flow_weights(cfg.DEFAULT_FLOW_WEIGHTS)


def test_split_is_disjoint_deterministic_and_private(tmp_path):
    csv_path = _accounts(tmp_path / "users.csv", 30)
    slots = json.dumps({"w1": 2, "w2": 1})

    def split(out):
        res = subprocess.run(
            [
                sys.executable,
                str(PLAN),
                "--users",
                "9",
                "--slots",
                slots,
                "--package-dir",
                str(PACKAGE),
                "--csv",
                str(csv_path),
                "--out",
                str(out),
                "--ramp",
                json.dumps({"hold": 10}),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        assert res.returncode == 0, res.stderr
        return json.loads(res.stdout)

    summary = split(tmp_path / "a")
    split(tmp_path / "b")
    files = sorted((tmp_path / "a").glob("*/users-*.csv"))
    assert [f.relative_to(tmp_path / "a").as_posix() for f in files] == ["w1/users-1.csv", "w1/users-2.csv", "w2/users-1.csv"]
    names = [ln.split(",")[0] for f in files for ln in f.read_text().splitlines()[1:]]
    assert len(names) == 30 and len(set(names)) == 30
    assert all(f.stat().st_mode & 0o077 == 0 for f in files)
    assert all(f.read_bytes() == (tmp_path / "b" / f.relative_to(tmp_path / "a")).read_bytes() for f in files)
    assert summary["processes"] == 3 and summary["per_process"] == 3 and summary["duration"] > 10
