"""Options, their validation, the user CSV and the ramp plan. Pure Python: no Locust runtime needed to test it.

Every error is a ``ConfigError`` whose message starts with the option it is about and says how to fix it.
"""

import csv
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

FLOWS = ("dashboard_profile_account", "enrollment", "courseware", "programs")
# Default mix: browsing your dashboard/profile and studying dominate; enrolling and programs are rarer.
DEFAULT_FLOW_WEIGHTS = "dashboard_profile_account=4,enrollment=1,courseware=4,programs=1"
DEFAULT_COURSE_IDS = "course-v1:OpenedX+DemoX+DemoCourse"
DEFAULT_THINK_TIME = "5,15"
# edx-platform lms/envs/common.py defaults.
DEFAULT_IP_LOGIN_RATE = "100/5m"
DEFAULT_EMAIL_LOGIN_RATE = "30/5m"
# Per worker process: a new user costs a TLS handshake + login; above ~10-20/s the ramp itself skews latencies.
DEFAULT_PER_WORKER_SPAWN_RATE = 10.0
# Keep the plan this far under the LMS limit: users are spread evenly, not perfectly, over source IPs.
RATE_LIMIT_MARGIN = 0.9
USERS_CSV_ENV = "OPENEDX_LOCUST_USERS_CSV"
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
BAD_INPUT_EXIT_CODE = 64  # EX_USAGE: distinct from Locust's 1 (request failures) and 2 (unhandled exception)


class ConfigError(ValueError):
    """Bad input: message names the option and the fix."""


@dataclass(frozen=True)
class Account:
    username: str
    email: str
    password: str


# ------------------------------------------------------------------------------------------------ simple options
def parse_flow_weights(text: str) -> dict[str, int]:
    """'courseware=4,programs=0' -> {'courseware': 4, 'programs': 0}; flows left out or weighted 0 are not run."""
    weights: dict[str, int] = {}
    for raw in (text or "").split(","):
        item = raw.strip()
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep:
            raise ConfigError(f"--flow-weights: {item!r} is not NAME=WEIGHT (e.g. {DEFAULT_FLOW_WEIGHTS})")
        if name not in FLOWS:
            raise ConfigError(f"--flow-weights: unknown flow {name!r}; known flows: {', '.join(FLOWS)}")
        if name in weights:
            raise ConfigError(f"--flow-weights: flow {name!r} given twice")
        try:
            weight = int(value)
        except ValueError:
            raise ConfigError(f"--flow-weights: weight of {name!r} must be an integer >= 0, got {value.strip()!r}") from None
        if weight < 0:
            raise ConfigError(f"--flow-weights: weight of {name!r} must be >= 0, got {weight} (0 or leaving it out turns the flow off)")
        weights[name] = weight
    if not any(weights.values()):
        raise ConfigError(f"--flow-weights: no flow has a weight > 0 (e.g. {DEFAULT_FLOW_WEIGHTS})")
    return weights


def parse_think_time(text: str) -> tuple[float, float]:
    try:
        parts = [float(p) for p in str(text).split(",")]
    except ValueError:
        raise ConfigError(f"--think-time: {text!r} is not MIN,MAX seconds (e.g. {DEFAULT_THINK_TIME})") from None
    if len(parts) == 1:
        parts *= 2
    if len(parts) != 2 or parts[0] < 0 or parts[1] < parts[0]:
        raise ConfigError(f"--think-time: {text!r} must be MIN,MAX seconds with 0 <= MIN <= MAX (e.g. {DEFAULT_THINK_TIME})")
    return parts[0], parts[1]


def parse_course_ids(text: str) -> list[str]:
    ids = [c.strip() for c in (text or "").split(",") if c.strip()]
    if not ids:
        raise ConfigError(f"--course-ids: at least one course id is needed (e.g. {DEFAULT_COURSE_IDS})")
    for cid in ids:
        if not cid.startswith("course-v1:") or cid.count("+") != 2:
            raise ConfigError(f"--course-ids: {cid!r} is not a course key like course-v1:ORG+COURSE+RUN")
    return ids


def parse_rate(option: str, text: str) -> tuple[int, int]:
    """'100/5m' -> (100, 300) seconds, the django-ratelimit syntax of LOGISTRATION_*_RATE."""
    try:
        count, period = text.strip().split("/")
        seconds = int(period[:-1] or 1) * RATE_UNITS[period[-1]]
        if int(count) <= 0:
            raise ValueError
        return int(count), seconds
    except (ValueError, KeyError, IndexError):
        raise ConfigError(f"{option}: {text!r} is not a rate like 100/5m (count/[N]s|m|h|d)") from None


# ------------------------------------------------------------------------------------------------ the user CSV
def users_csv_path(option_value: str | None) -> tuple[Path | None, bool]:
    """Which CSV this process reads, and whether it is this process's own share (no partitioning).

    Locust copies the master's custom options onto every worker, so a per-worker file cannot come from an option:
    it comes from the environment variable OPENEDX_LOCUST_USERS_CSV (e.g. set per systemd worker instance).
    """
    own = os.environ.get(USERS_CSV_ENV)
    if own:
        return Path(own), True
    return (Path(option_value), False) if option_value else (None, False)


def load_accounts(path: Path, option: str = "--users-csv") -> list[Account]:
    """Rows username,email,password (optional header). Duplicates, short rows, empty fields are errors."""
    if not path.is_file():
        raise ConfigError(f"{option}: {path} does not exist (a CSV of username,email,password)")
    accounts: list[Account] = []
    seen_user: dict[str, int] = {}
    seen_email: dict[str, int] = {}
    with open(path, newline="", encoding="utf-8-sig") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if not row or all(not c.strip() for c in row):
                continue
            cells = [c.strip() for c in row]
            if lineno == 1 and [c.lower() for c in cells] == ["username", "email", "password"]:
                continue
            if len(cells) != 3 or not all(cells):
                # Named by its first field only: the rest may hold a password.
                raise ConfigError(
                    f"{option}: {path} line {lineno}: expected 3 non-empty fields username,email,password, got {len(cells)} (the row of {cells[0][:40]!r})"
                )
            username, email, password = cells
            if "@" not in email:
                # Not printed: with the columns swapped the second field is the password.
                raise ConfigError(f"{option}: {path} line {lineno}: the second field is not an email address (columns: username,email,password)")
            for key, seen, what in ((username, seen_user, "username"), (email.lower(), seen_email, "email")):
                if key in seen:
                    raise ConfigError(f"{option}: {path} line {lineno}: {what} {key!r} already on line {seen[key]}; every virtual user needs its own account")
                seen[key] = lineno
            accounts.append(Account(username, email, password))
    if not accounts:
        raise ConfigError(f"{option}: {path} has no accounts (expected rows username,email,password)")
    return accounts


def partition(accounts: list[Account], index: int, count: int) -> list[Account]:
    """This worker's disjoint share: every count-th account starting at index."""
    if count < 1:
        raise ConfigError(f"--expect-workers: must be >= 1 to partition the accounts, got {count}")
    if not 0 <= index < count:
        raise ConfigError(
            f"--users-csv: worker index {index} is outside 0..{count - 1} (a worker reconnected?); "
            f"give each worker its own file through {USERS_CSV_ENV} instead"
        )
    return accounts[index::count]


class AccountPool:
    """Process-local pool: each running user holds a distinct account; a stopped user gives it back."""

    def __init__(self, accounts: list[Account]):
        self.free = list(reversed(accounts))
        self.size = len(accounts)

    def acquire(self) -> Account | None:
        return self.free.pop() if self.free else None

    def release(self, account: Account) -> None:
        self.free.append(account)


# ------------------------------------------------------------------------------------------------ ramp plan
@dataclass(frozen=True)
class Stage:
    """Until ``end`` seconds into the test, run ``users`` users, spawning at ``spawn_rate``/s."""

    end: float
    users: int
    spawn_rate: float
    kind: str  # ramp | hold | peak | down


@dataclass
class RampPlan:
    target_users: int
    steps: int
    step_hold: float
    hold: float
    ramp_down: float
    spawn_rate: float
    source_ips: int
    workers: int
    ip_limit: tuple[int, int]
    email_limit: tuple[int, int]
    limits_raised: bool
    stages: list[Stage] = field(default_factory=list)
    safe_spawn_rate: float = 0.0
    logins_per_ip_per_window: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.stages[-1].end if self.stages else 0.0

    @property
    def ramp_end(self) -> float:
        """When the peak plateau starts (spawning of the last step should be done)."""
        return next((s.end - self.hold for s in self.stages if s.kind == "peak"), 0.0)

    def stage_at(self, t: float) -> Stage | None:
        return next((s for s in self.stages if t < s.end), None)

    def describe(self) -> str:
        limit, window = self.ip_limit
        lines = [
            f"ramp plan: {self.target_users} users in {self.steps} steps at {self.spawn_rate:g} users/s "
            f"({self.spawn_rate * 60:g} logins/min) from {self.source_ips} source IP(s), {self.workers} worker process(es)",
            f"  logins per source IP per {window}s window: {self.logins_per_ip_per_window:.0f} (LMS limit {limit}"
            f"{', raised by the operator' if self.limits_raised else ''}); safe spawn rate for that limit: {self.safe_spawn_rate:g} users/s",
            f"  ramp ends at {self.ramp_end:.0f}s, peak hold {self.hold:g}s, ramp down {self.ramp_down:g}s, total {self.duration:.0f}s",
        ]
        return "\n".join(lines + [f"  warning: {w}" for w in self.warnings])


def _check_ramp(target_users, steps, step_hold, hold, ramp_down, spawn_rate, source_ips, workers) -> None:
    """ConfigError naming the option for the first ramp input out of its range."""
    if target_users < 1:
        raise ConfigError(f"--ramp-users: must be >= 1, got {target_users}")
    if steps < 1:
        raise ConfigError(f"--ramp-steps: must be >= 1, got {steps}")
    for name, value in (("--ramp-step-hold", step_hold), ("--ramp-hold", hold), ("--ramp-down", ramp_down)):
        if value < 0:
            raise ConfigError(f"{name}: must be >= 0 seconds, got {value:g}")
    if source_ips < 1:
        raise ConfigError(f"--source-ips: must be >= 1 (the number of load-generator hosts), got {source_ips}")
    if spawn_rate < 0:
        raise ConfigError(f"--ramp-spawn-rate: must be >= 0 (0 = plan it), got {spawn_rate:g}")
    if target_users < workers:
        raise ConfigError(
            f"--ramp-users: {target_users} users for {workers} worker processes leaves workers idle; "
            f"raise the users to >= {workers} or run fewer workers (--expect-workers)"
        )


def plan_ramp(
    target_users: int,
    *,
    steps: int = 5,
    step_hold: float = 60.0,
    hold: float = 600.0,
    ramp_down: float = 60.0,
    spawn_rate: float = 0.0,
    source_ips: int = 1,
    workers: int = 1,
    ip_rate: str = DEFAULT_IP_LOGIN_RATE,
    email_rate: str = DEFAULT_EMAIL_LOGIN_RATE,
    limits_raised: bool = False,
) -> RampPlan:
    """Staged ramp that keeps logins per source IP under the LMS login rate limit.

    Every new virtual user logs in once. A ramp at r users/s spread over S source IPs puts r*W/S logins into
    any W-second window of one IP, so with LOGISTRATION_RATELIMIT_RATE = L per W: r <= S*L/W (with a margin).
    A run whose whole population fits in one window per IP (target/S <= L) is safe at any rate. Each account
    logs in once per run, so the per-email limit (30/5m) only matters when a user retries its login.
    """
    _check_ramp(target_users, steps, step_hold, hold, ramp_down, spawn_rate, source_ips, workers)
    ip_limit = parse_rate("--login-rate-limit-ip", ip_rate)
    email_limit = parse_rate("--login-rate-limit-email", email_rate)
    limit, window = ip_limit
    plan = RampPlan(target_users, steps, step_hold, hold, ramp_down, spawn_rate, source_ips, workers, ip_limit, email_limit, limits_raised)
    fits_in_one_window = target_users / source_ips <= limit * RATE_LIMIT_MARGIN
    plan.safe_spawn_rate = math.inf if fits_in_one_window else round(source_ips * limit * RATE_LIMIT_MARGIN / window, 3)
    generator_rate = DEFAULT_PER_WORKER_SPAWN_RATE * max(1, workers)
    if spawn_rate == 0:
        spawn_rate = generator_rate if limits_raised else min(generator_rate, plan.safe_spawn_rate)
    plan.spawn_rate = spawn_rate
    plan.logins_per_ip_per_window = min(target_users / source_ips, spawn_rate * window / source_ips)
    if spawn_rate > plan.safe_spawn_rate:
        msg = (
            f"--ramp-spawn-rate: {spawn_rate:g} users/s from {source_ips} source IP(s) means "
            f"{plan.logins_per_ip_per_window:.0f} logins per IP per {window}s, over the LMS limit of {limit} "
            f"(LOGISTRATION_RATELIMIT_RATE); logins would fail with HTTP 400. Use <= {plan.safe_spawn_rate:g} users/s, "
            f"more source IPs (--source-ips), or raise the limit on the LMS and pass --login-limits-raised"
        )
        if not limits_raised:
            raise ConfigError(msg)
        plan.warnings.append(msg.split(": ", 1)[1].replace("; logins would fail with HTTP 400", "") + " (limits declared raised)")
    if spawn_rate > generator_rate:
        plan.warnings.append(f"{spawn_rate:g} users/s is more than {DEFAULT_PER_WORKER_SPAWN_RATE:g}/s per worker process; ramp latencies will be inflated")
    t = 0.0
    previous = 0
    for i in range(1, steps + 1):
        users = round(target_users * i / steps)
        if users == previous:
            continue
        t += (users - previous) / spawn_rate
        plan.stages.append(Stage(t, users, spawn_rate, "ramp"))
        previous = users
        if i < steps and step_hold > 0:
            t += step_hold
            plan.stages.append(Stage(t, users, spawn_rate, "hold"))
    t += hold
    plan.stages.append(Stage(t, target_users, spawn_rate, "peak"))
    if ramp_down > 0:
        t += ramp_down
        plan.stages.append(Stage(t, 0, max(target_users / ramp_down, 1.0), "down"))
    return plan
