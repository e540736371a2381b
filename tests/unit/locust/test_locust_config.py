"""Option parsing, account CSV handling and the ramp plan (pure Python, no Locust runtime)."""

import pytest
from openedx_locust import config
from openedx_locust.config import ConfigError


def test_default_flow_weights_cover_all_flows():
    weights = config.parse_flow_weights(config.DEFAULT_FLOW_WEIGHTS)
    assert set(weights) == set(config.FLOWS)
    assert all(w > 0 for w in weights.values())


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("dashboard=1", "unknown flow 'dashboard'"),
        ("courseware=0", "no flow has a weight > 0"),
        ("courseware=0,programs=0", "no flow has a weight > 0"),
        ("courseware=-2", "must be >= 0"),
        ("courseware=1.5", "integer >= 0"),
        ("courseware", "NAME=WEIGHT"),
        ("courseware=1,courseware=2", "given twice"),
        ("", "no flow has a weight > 0"),
    ],
)
def test_bad_flow_weights_name_the_option(text, needle):
    with pytest.raises(ConfigError) as err:
        config.parse_flow_weights(text)
    assert str(err.value).startswith("--flow-weights:")
    assert needle in str(err.value)


def test_zero_weight_turns_a_flow_off():
    """programs=0 is how a deployment without course discovery runs (the role's preflight sets it)."""
    weights = config.parse_flow_weights("dashboard_profile_account=4,enrollment=1,courseware=4,programs=0")
    assert weights["programs"] == 0


def test_think_time_and_course_ids():
    assert config.parse_think_time("5,15") == (5.0, 15.0)
    assert config.parse_think_time("2") == (2.0, 2.0)
    for bad in ("15,5", "a,b", "-1,2", "1,2,3"):
        with pytest.raises(ConfigError, match=r"^--think-time:"):
            config.parse_think_time(bad)
    assert config.parse_course_ids(" course-v1:A+B+C , course-v1:D+E+F") == ["course-v1:A+B+C", "course-v1:D+E+F"]
    with pytest.raises(ConfigError, match=r"^--course-ids: 'edX/Demo/2014'"):
        config.parse_course_ids("edX/Demo/2014")


def _write(tmp_path, text):
    path = tmp_path / "u.csv"
    path.write_text(text)
    return path


def test_csv_with_and_without_header(tmp_path):
    rows = "a,a@x.org,pa\nb,b@x.org,pb\n"
    assert [a.username for a in config.load_accounts(_write(tmp_path, "username,email,password\n" + rows))] == ["a", "b"]
    assert config.load_accounts(_write(tmp_path, rows))[1] == config.Account("b", "b@x.org", "pb")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("", "has no accounts"),
        ("username,email,password\n", "has no accounts"),
        ("a,a@x.org\n", "line 1: expected 3 non-empty fields"),
        ("a,a@x.org,pa\nb,,pb\n", "line 2: expected 3 non-empty fields"),
        ("a,not-an-email,pa\n", "line 1: the second field is not an email address"),
        ("a,a@x.org,pa\na,b@x.org,pb\n", "username 'a' already on line 1"),
        ("a,a@x.org,pa\nb,A@X.org,pb\n", "email 'a@x.org' already on line 1"),
    ],
)
def test_malformed_csv_is_refused(tmp_path, text, needle):
    with pytest.raises(ConfigError) as err:
        config.load_accounts(_write(tmp_path, text))
    assert str(err.value).startswith("--users-csv:")
    assert needle in str(err.value)


@pytest.mark.parametrize(
    "text",
    [
        "alice,alice@x.org,S3cretPassw0rd,extra\n",
        "alice,alice@x.org\nbob,bob@x.org,S3cretPassw0rd,\n",
        "alice,S3cretPassw0rd,alice@x.org\n",
        "alice,,S3cretPassw0rd\n",
    ],
)
def test_a_refused_row_never_shows_its_password(tmp_path, text):
    with pytest.raises(ConfigError) as err:
        config.load_accounts(_write(tmp_path, text))
    assert "line " in str(err.value)
    assert "S3cret" not in str(err.value)


def test_missing_csv(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        config.load_accounts(tmp_path / "nope.csv")


def test_partition_is_disjoint_and_complete():
    accounts = [config.Account(f"u{i}", f"u{i}@x.org", "p") for i in range(103)]
    shares = [config.partition(accounts, i, 7) for i in range(7)]
    seen = [a.username for share in shares for a in share]
    assert len(seen) == len(set(seen)) == 103
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    with pytest.raises(ConfigError, match=r"worker index 7 is outside 0\.\.6"):
        config.partition(accounts, 7, 7)


def test_pool_never_hands_out_an_account_twice():
    pool = config.AccountPool([config.Account(f"u{i}", f"u{i}@x.org", "p") for i in range(3)])
    held = [pool.acquire() for _i in range(3)]
    assert len({a.username for a in held}) == 3
    assert pool.acquire() is None
    pool.release(held[1])
    assert pool.acquire() == held[1]


def test_per_worker_file_from_environment(monkeypatch, tmp_path):
    monkeypatch.delenv(config.USERS_CSV_ENV, raising=False)
    assert config.users_csv_path("shared.csv") == (tmp_path.__class__("shared.csv"), False)
    monkeypatch.setenv(config.USERS_CSV_ENV, str(tmp_path / "own.csv"))
    assert config.users_csv_path("shared.csv") == (tmp_path / "own.csv", True)


def test_plan_stages_step_up_hold_and_ramp_down():
    plan = config.plan_ramp(100, steps=4, step_hold=10, hold=60, ramp_down=20, spawn_rate=5, source_ips=1, limits_raised=True)
    assert [(s.users, s.kind) for s in plan.stages] == [
        (25, "ramp"),
        (25, "hold"),
        (50, "ramp"),
        (50, "hold"),
        (75, "ramp"),
        (75, "hold"),
        (100, "ramp"),
        (100, "peak"),
        (0, "down"),
    ]
    # 25 users at 5/s = 5 s per step, 10 s hold between steps.
    assert [s.end for s in plan.stages] == [5, 15, 20, 30, 35, 45, 50, 110, 130]
    assert plan.ramp_end == 50
    assert plan.stage_at(0).users == 25 and plan.stage_at(17).users == 50 and plan.stage_at(100).users == 100
    assert plan.stage_at(120).users == 0 and plan.stage_at(131) is None


def test_plan_respects_login_rate_limit_per_ip():
    # 50k users from 50 worker VMs at the LMS default 100 logins / 5 min per IP: <= 0.3 users/s per IP.
    plan = config.plan_ramp(50_000, source_ips=50, workers=50)
    assert plan.safe_spawn_rate == pytest.approx(15.0)
    assert plan.spawn_rate == pytest.approx(15.0)
    assert plan.logins_per_ip_per_window <= 100 * config.RATE_LIMIT_MARGIN
    assert plan.ramp_end >= 50_000 / 15.0
    assert "logins per source IP" in plan.describe()


def test_plan_refuses_a_ramp_over_the_limit_unless_raised():
    with pytest.raises(ConfigError) as err:
        config.plan_ramp(50_000, spawn_rate=500, source_ips=50, workers=50)
    message = str(err.value)
    assert message.startswith("--ramp-spawn-rate:")
    assert "LOGISTRATION_RATELIMIT_RATE" in message and "--login-limits-raised" in message
    plan = config.plan_ramp(50_000, spawn_rate=500, source_ips=50, workers=50, limits_raised=True)
    assert plan.spawn_rate == 500 and any("limits declared raised" in w for w in plan.warnings)
    # Raised limits and no explicit rate: the generators' own ceiling (10 users/s per worker process).
    assert config.plan_ramp(50_000, source_ips=50, workers=50, limits_raised=True).spawn_rate == 500


def test_small_population_fits_in_one_window_at_any_rate():
    plan = config.plan_ramp(80, spawn_rate=40, source_ips=1, workers=4)
    assert plan.safe_spawn_rate == float("inf") and not plan.warnings


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"target_users": 3, "workers": 5}, "--ramp-users: 3 users for 5 worker processes"),
        ({"target_users": 0}, "--ramp-users: must be >= 1"),
        ({"target_users": 10, "steps": 0}, "--ramp-steps"),
        ({"target_users": 10, "source_ips": 0}, "--source-ips"),
        ({"target_users": 10, "ip_rate": "lots"}, "--login-rate-limit-ip: 'lots'"),
    ],
)
def test_plan_bad_input(kwargs, needle):
    target = kwargs.pop("target_users")
    with pytest.raises(ConfigError, match=needle.replace("(", r"\(")):
        config.plan_ramp(target, **kwargs)
