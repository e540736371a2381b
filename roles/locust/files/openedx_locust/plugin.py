"""Wires the package into Locust: custom options, validation before the test starts, settings, health.

Importing this module registers the listeners on ``locust.events`` (once per process).
"""

import json
import logging
import signal
import ssl
import sys
import urllib.error
import urllib.request
from pathlib import Path

import gevent
from locust import between, events
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from . import config, fixes, health, pages, users
from .routes import ROUTES
from .shape import StagedRamp

logger = logging.getLogger("openedx_locust")
HEALTH_GATE_EXIT_CODE = 3


class State:
    recorder: health.HealthRecorder | None = None
    sampler: health.ProcessSampler | None = None
    plan: config.RampPlan | None = None
    runner = None


def bad_input(message: str):
    """Stop before any user starts: the message names the option and the fix."""
    logger.error("openedx_locust: invalid input: %s", message)
    sys.stderr.write(f"openedx_locust: invalid input: {message}\n")
    sys.exit(config.BAD_INPUT_EXIT_CODE)


@events.init_command_line_parser.add_listener
def add_arguments(parser):
    group = parser.add_argument_group("Open edX load test (openedx_locust)")
    group.add_argument(
        "--flow-weights",
        env_var="LOCUST_FLOW_WEIGHTS",
        default=config.DEFAULT_FLOW_WEIGHTS,
        help=f"NAME=WEIGHT,... over {', '.join(config.FLOWS)} (default %(default)s)",
    )
    group.add_argument(
        "--users-csv",
        env_var="LOCUST_USERS_CSV",
        default="",
        help=f"CSV username,email,password; split over workers by worker index (env {config.USERS_CSV_ENV} = this process's own file)",
    )
    group.add_argument("--course-ids", env_var="LOCUST_COURSE_IDS", default=config.DEFAULT_COURSE_IDS, help="comma-separated course keys")
    group.add_argument("--think-time", env_var="LOCUST_THINK_TIME", default=config.DEFAULT_THINK_TIME, help="MIN,MAX seconds between page views")
    group.add_argument("--ramp-users", env_var="LOCUST_RAMP_USERS", type=int, default=0, help="target users of the staged ramp (0: plain -u/-r/-t)")
    group.add_argument("--ramp-steps", env_var="LOCUST_RAMP_STEPS", type=int, default=5, help="plateaus up to the target")
    group.add_argument("--ramp-step-hold", env_var="LOCUST_RAMP_STEP_HOLD", type=float, default=60.0, help="seconds at each intermediate plateau")
    group.add_argument("--ramp-hold", env_var="LOCUST_RAMP_HOLD", type=float, default=600.0, help="seconds at the target")
    group.add_argument("--ramp-down", env_var="LOCUST_RAMP_DOWN", type=float, default=60.0, help="seconds to stop all users (0: stop at once)")
    group.add_argument(
        "--ramp-spawn-rate",
        env_var="LOCUST_RAMP_SPAWN_RATE",
        type=float,
        default=0.0,
        help="users/s over all workers (0: highest rate the login rate limit allows, <= 10/s per worker)",
    )
    group.add_argument("--source-ips", env_var="LOCUST_SOURCE_IPS", type=int, default=1, help="distinct source IPs (worker hosts) the LMS sees")
    group.add_argument(
        "--login-rate-limit-ip",
        env_var="LOCUST_LOGIN_RATE_LIMIT_IP",
        default=config.DEFAULT_IP_LOGIN_RATE,
        help="the LMS's LOGISTRATION_RATELIMIT_RATE (default %(default)s)",
    )
    group.add_argument(
        "--login-rate-limit-email",
        env_var="LOCUST_LOGIN_RATE_LIMIT_EMAIL",
        default=config.DEFAULT_EMAIL_LOGIN_RATE,
        help="the LMS's LOGISTRATION_PER_EMAIL_RATELIMIT_RATE (default %(default)s)",
    )
    group.add_argument(
        "--login-limits-raised",
        env_var="LOCUST_LOGIN_LIMITS_RAISED",
        action="store_true",
        default=False,
        help="the LMS's login limits were raised for the test: a faster ramp only warns",
    )
    group.add_argument("--health-file", env_var="LOCUST_HEALTH_FILE", default="", help="generator-health JSON (default: <--csv>_health.json)")
    group.add_argument(
        "--max-generator-cpu",
        env_var="LOCUST_MAX_GENERATOR_CPU",
        type=float,
        default=90.0,
        help="exit 3 when a generator process averages more CPU %% than this over ~6 s",
    )
    group.add_argument("--skip-host-check", env_var="LOCUST_SKIP_HOST_CHECK", action="store_true", default=False, help="do not probe --host before the test")
    group.add_argument("--tls-verify", env_var="LOCUST_TLS_VERIFY", action="store_true", default=False, help="verify the LMS certificate")
    group.add_argument(
        "--no-static-files",
        env_var="LOCUST_NO_STATIC_FILES",
        action="store_true",
        default=False,
        help="skip the /static/ files of the unit and program pages (on by default: Tutor serves them from the LMS)",
    )
    group.add_argument(
        "--mfe-origin",
        env_var="LOCUST_MFE_ORIGIN",
        default="",
        help="origin of the micro-frontends, sent as Origin/Referer (default: Tutor's https://apps.<LMS host>)",
    )


def check_host(host: str | None, timeout: float = 10.0) -> None:
    """The LMS must answer the CSRF token API (what the MFEs call first) with 200 and a csrftoken cookie."""
    if not host:
        raise config.ConfigError("--host: required, e.g. --host https://lms.example.com")
    if not host.startswith(("http://", "https://")):
        raise config.ConfigError(f"--host: {host!r} must start with http:// or https://")
    url = host.rstrip("/") + ROUTES["csrf_token"].path
    ctx = ssl._create_unverified_context() if host.startswith("https://") else None
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept": "application/json"}), timeout=timeout, context=ctx) as resp:
            cookies = resp.headers.get_all("Set-Cookie") or []
            if not any(c.startswith("csrftoken=") for c in cookies):
                raise config.ConfigError(f"--host: {url} answered without a csrftoken cookie; is {host} an Open edX LMS?")
    except urllib.error.HTTPError as exc:
        raise config.ConfigError(f"--host: {url} answered HTTP {exc.code}; is {host} an Open edX LMS?") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise config.ConfigError(f"--host: cannot reach {host}: {reason}") from None


def _role(runner) -> str:
    if isinstance(runner, MasterRunner):
        return "master"
    if isinstance(runner, WorkerRunner):
        return "worker"
    return "local"


def apply_user_settings(environment) -> None:
    """Flow weights, think time, course ids, TLS mode onto our user classes (runs where users run)."""
    opts = environment.parsed_options
    weights = config.parse_flow_weights(opts.flow_weights)
    lo, hi = config.parse_think_time(opts.think_time)
    users.Settings.course_ids = config.parse_course_ids(opts.course_ids)
    users.Settings.static_files = not opts.no_static_files
    users.Settings.mfe_origin = opts.mfe_origin.rstrip("/") or None
    for cls in environment.user_classes:
        if issubclass(cls, users.LmsBehaviour):
            cls.tasks = users.weighted_tasks(weights)
            cls.wait_time = between(lo, hi)
            if issubclass(cls, users.LmsUser):
                cls.insecure = not opts.tls_verify
                cls.ssl_context_factory = staticmethod(fixes.shared_verified_context if opts.tls_verify else fixes.shared_insecure_context)


def load_pool(environment) -> config.AccountPool:
    opts = environment.parsed_options
    path, own = config.users_csv_path(opts.users_csv)
    if path is None:
        raise config.ConfigError(f"--users-csv: required (CSV username,email,password), or set {config.USERS_CSV_ENV} per worker")
    accounts = config.load_accounts(path, option=config.USERS_CSV_ENV if own else "--users-csv")
    runner = environment.runner
    if not own and isinstance(runner, WorkerRunner):
        accounts = config.partition(accounts, runner.worker_index, int(opts.expect_workers or 1))
        if not accounts:
            raise config.ConfigError(f"--users-csv: no accounts left for worker index {runner.worker_index}; add accounts")
    return config.AccountPool(accounts)


def peak_users(opts) -> int:
    return int(opts.ramp_users) if opts.ramp_users else int(opts.num_users or 1)


def validate_controller(environment) -> None:
    """Master/local checks before the test: options, ramp plan vs login rate limits, users vs workers, CSV, host."""
    opts = environment.parsed_options
    runner = environment.runner
    workers = int(opts.expect_workers or 1) if isinstance(runner, MasterRunner) else 1
    config.parse_flow_weights(opts.flow_weights)
    config.parse_think_time(opts.think_time)
    config.parse_course_ids(opts.course_ids)
    config.parse_rate("--login-rate-limit-ip", opts.login_rate_limit_ip)
    config.parse_rate("--login-rate-limit-email", opts.login_rate_limit_email)
    if opts.ramp_users:
        State.plan = config.plan_ramp(
            opts.ramp_users,
            steps=opts.ramp_steps,
            step_hold=opts.ramp_step_hold,
            hold=opts.ramp_hold,
            ramp_down=opts.ramp_down,
            spawn_rate=opts.ramp_spawn_rate,
            source_ips=opts.source_ips,
            workers=workers,
            ip_rate=opts.login_rate_limit_ip,
            email_rate=opts.login_rate_limit_email,
            limits_raised=opts.login_limits_raised,
        )
        for line in State.plan.describe().splitlines():
            logger.info("openedx_locust: %s", line)
    else:
        State.plan = None
        users_wanted = int(opts.num_users or 1)
        if users_wanted < workers:
            raise config.ConfigError(f"--users: {users_wanted} users for {workers} workers (--expect-workers) leaves workers idle; use >= {workers} users")
        rate = float(opts.spawn_rate or 1)
        limit, window = config.parse_rate("--login-rate-limit-ip", opts.login_rate_limit_ip)
        per_ip = min(users_wanted, rate * window) / max(1, opts.source_ips)
        if per_ip > limit * config.RATE_LIMIT_MARGIN and not opts.login_limits_raised:
            raise config.ConfigError(
                f"--spawn-rate: {rate:g} users/s for {users_wanted} users is {per_ip:.0f} logins per source IP per {window}s, over the LMS limit "
                f"of {limit}; lower it, add --source-ips, or raise the limit on the LMS and pass --login-limits-raised"
            )
    path, own = config.users_csv_path(opts.users_csv)
    if isinstance(runner, LocalRunner) or (path is not None and path.exists()):
        if path is None:
            raise config.ConfigError(f"--users-csv: required (CSV username,email,password), or set {config.USERS_CSV_ENV}")
        accounts = config.load_accounts(path, option=config.USERS_CSV_ENV if own else "--users-csv")
        if not own and len(accounts) < peak_users(opts):
            raise config.ConfigError(f"--users-csv: {path} has {len(accounts)} accounts for {peak_users(opts)} users; every user needs its own account")
    if not opts.skip_host_check:
        check_host(environment.host or opts.host)


def install_sigterm(shape: StagedRamp) -> None:
    """SIGTERM during a headless shape run: end the shape so Locust writes its reports and exits normally.

    Locust installs its own SIGTERM handler only after a headless shape test has finished (start_automatic_run
    blocks on the shape), so until then SIGTERM (systemctl stop, a playbook timeout) kills the master without
    any CSV/JSON/HTML report. Locust's handler replaces this one once the shape is done.
    """

    def on_sigterm():
        logger.warning("openedx_locust: SIGTERM: ending the test now; reports will be written")
        shape.stop_requested = True

    gevent.signal_handler(signal.SIGTERM, on_sigterm)


@events.init.add_listener
def on_init(environment, runner, **_kwargs):
    fixes.apply()
    State.runner = runner
    role = _role(runner)
    shape = environment.shape_class if isinstance(environment.shape_class, StagedRamp) else None
    if role != "worker":
        headless = bool(environment.parsed_options and (environment.parsed_options.headless or environment.parsed_options.autostart))
        if headless:
            try:
                validate_controller(environment)
            except config.ConfigError as exc:
                bad_input(str(exc))
        if shape is not None:
            shape.plan = State.plan
            install_sigterm(shape)
        State.recorder = health.HealthRecorder(environment, shape, max_cpu=environment.parsed_options.max_generator_cpu)
    if role != "master":
        State.sampler = health.ProcessSampler()
        if State.recorder is not None:
            State.recorder.local_sampler = State.sampler


@events.test_start.add_listener
def on_test_start(environment, **_kwargs):
    role = _role(environment.runner)
    if role != "master":
        users.Settings.pool = None
        users.Settings.pool_error = None
        try:
            apply_user_settings(environment)
            users.Settings.pool = load_pool(environment)
            logger.info("openedx_locust: %d accounts for this %s process", users.Settings.pool.size, role)
        except config.ConfigError as exc:
            users.Settings.pool_error = str(exc)
            logger.error("openedx_locust: invalid input: %s", exc)
            if role == "local":
                environment.process_exit_code = config.BAD_INPUT_EXIT_CODE
                gevent.spawn(environment.runner.quit)
    if State.recorder is not None:
        State.recorder.start()


@events.report_to_master.add_listener
def on_report_to_master(client_id, data, **_kwargs):
    runner = State.runner
    payload = {
        "samples": State.sampler.drain() if State.sampler else [],
        "host": getattr(State.sampler, "host", None),
        "pid": getattr(State.sampler, "pid", None),
    }
    if users.Settings.pool is not None:
        payload["accounts"] = users.Settings.pool.size
    if users.Settings.pool_error:
        payload["error"] = users.Settings.pool_error
    if isinstance(runner, WorkerRunner):
        payload["index"] = runner.worker_index
    data[health.HEALTH_KEY] = payload
    data[pages.REPORT_KEY] = pages.TOTALS.drain()


@events.worker_report.add_listener
def on_worker_report(client_id, data, **_kwargs):
    if pages.REPORT_KEY in data:
        pages.TOTALS.merge(data[pages.REPORT_KEY])
    recorder = State.recorder
    if recorder is None:
        return
    had_errors = len(recorder.errors)
    recorder.worker_report(client_id, data)
    if len(recorder.errors) > had_errors:
        recorder.env.process_exit_code = config.BAD_INPUT_EXIT_CODE
        gevent.spawn(recorder.runner.quit)  # a worker cannot run its users: stop rather than measure a partial load


def health_path(opts) -> Path | None:
    if opts.health_file:
        return Path(opts.health_file)
    if getattr(opts, "csv_prefix", None):
        return Path(f"{opts.csv_prefix}_health.json")
    return None


@events.quitting.add_listener
def on_quitting(environment, **_kwargs):
    prefix = getattr(environment.parsed_options, "csv_prefix", None)
    if prefix and not isinstance(environment.runner, WorkerRunner):
        pages.TOTALS.write_csv(Path(f"{prefix}_pages.csv"))
    recorder = State.recorder
    if recorder is None or recorder.test_start is None:
        return
    summary = recorder.summary()
    summary["plan"] = State.plan.describe() if State.plan else None
    summary["options"] = {
        k: getattr(environment.parsed_options, k, None)
        for k in ("flow_weights", "course_ids", "think_time", "ramp_users", "num_users", "spawn_rate", "expect_workers", "source_ips")
    }
    path = health_path(environment.parsed_options)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(summary, indent=1))
    ramp = summary["ramp"]
    logger.info(
        "openedx_locust: users at end of ramp %s/%s, generator CPU peak %.0f%% (limit %.0f%%), %d worker(s), %d lost",
        ramp.get("users_at_check"),
        ramp.get("target"),
        summary["generator_cpu_peak"],
        summary["max_generator_cpu_allowed"],
        summary["worker_count"],
        len(summary["lost_workers"]),
    )
    if not summary["ok"] and environment.process_exit_code is None:
        failed = ", ".join(k for k, v in summary["gates"].items() if not v)
        logger.error("openedx_locust: load-generator health gate failed (%s): exit code %d", failed, HEALTH_GATE_EXIT_CODE)
        environment.process_exit_code = HEALTH_GATE_EXIT_CODE
