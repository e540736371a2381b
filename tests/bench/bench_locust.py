"""Load-generator cost of our locustfile: FastHttpUser (+ fixes) vs the same flows on HttpUser, and 50 workers.

Everything runs on loopback against the LMS stand-in over HTTPS. CPU figures are CPU-seconds of the worker
process per wall second (psutil), so other load on the machine slows a run down but barely moves the per-request
and per-user costs. BENCH_PIN=1 pins the worker to core 0 and stand-in + master to core 1 (for an idle box).

1. Throughput: one Locust process, 50 users, no think time -> requests per CPU-second of that process.
2. Concurrency: one Locust process at the default think time (5-15 s), both user classes at the same 1,000 users
   (CPU per request side by side), then ours at 10,000 users, the density the goal needs (50,000 users on 5 cores):
   its steady-state CPU per request gives the users one core holds under 90 % CPU at the nominal request rate of a
   learner, and the worker cores 50,000 users need (goal <= 5). A process has a fixed cost (event loop, stats,
   heartbeats) that a small user count would wrongly charge to each request, so the sizing run is at scale.
3. 50 worker processes attached to one master, 10 users each -> master CPU, users spawned == target.

Figures are measured in this one run and printed side by side with their ratios.
"""

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil

from tests.helpers.net import free_port
from tests.sandbox.lms import DEFAULT_COURSES, StandIn, write_users_csv

REPO = Path(__file__).resolve().parents[2]
PKG_PARENT = REPO / "roles" / "locust" / "files"
FAST_LOCUSTFILE = PKG_PARENT / "openedx_locust" / "locustfile.py"
WORK = REPO / "build" / "bench" / "locust"
TARGET_USERS = 50_000
GOAL_CORES = 5
CPU_CEILING = 0.90
# Request rate of one learner at the default think time when the LMS answers fast: the default flow mix
# (4/1/4/1) averages 5.2 requests over 3.2 page views per flow (7/3, 2/2, 5/4, 2/2), i.e. 1.625 requests per page view, one page view
# per 10 s (mean of 5-15 s). A slow (starved) server lowers the measured rate and would flatter the users per
# core, so cores are sized at this nominal rate from the CPU per request measured at think time.
NOMINAL_RPS_PER_USER = 1.625 / 10.0

HTTP_LOCUSTFILE = f'''"""Bench only: the same Open edX flows on requests' HttpUser."""
import sys
sys.path.insert(0, {str(PKG_PARENT)!r})
from openedx_locust import fixes
fixes.apply()
from openedx_locust import plugin  # noqa: F401  # registers options and listeners
from openedx_locust.shape import StagedRamp  # noqa: F401  # Locust finds the shape here
from openedx_locust.users import LmsHttpUser as _Base


class LmsHttpUser(_Base):
    abstract = False
'''


def _pin(cpu: int | None) -> list[str]:
    # Pinning isolates the worker on an idle box; on a shared one it only starves it (missed heartbeats), so it is
    # opt-in. CPU is measured as CPU-seconds of the worker process either way.
    if cpu is None or os.environ.get("BENCH_PIN") != "1" or not shutil.which("taskset") or (os.cpu_count() or 1) < 2:
        return []
    return ["taskset", "-c", str(cpu)]


def _locust(locustfile: Path, args: list[str], log: Path, cpu: int | None) -> subprocess.Popen:
    cmd = [*_pin(cpu), sys.executable, "-m", "locust", "-f", str(locustfile), *args]
    env = {k: v for k, v in os.environ.items() if k != "OPENEDX_LOCUST_USERS_CSV"}
    return subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, cwd=REPO, env=env)


def _hits(stats: dict) -> tuple[int, int]:
    total = bad = 0
    for route, codes in stats["routes"].items():
        if route.endswith("/_standin/stats"):
            continue
        for code, count in codes.items():
            total += count
            if code not in ("200", "302"):
                bad += count
    return total, bad


def _stats(lms: StandIn) -> dict:
    """The stand-in's counters; retried because a login storm on a shared machine can delay the answer."""
    for attempt in range(6):
        try:
            return lms.stats()
        except OSError:
            if attempt == 5:
                raise
            time.sleep(2)
    raise AssertionError("unreachable")


def _cpu_seconds(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system


def _stop(*procs: subprocess.Popen) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def measure(name: str, lms: StandIn, locustfile: Path, users_csv: Path, *, users: int, spawn_rate: float, think: str, settle: float, window: float) -> dict:
    """One Locust process running all users (a local runner: the user code a worker runs, without a master whose
    heartbeat timeout would end the run on a busy shared machine); measured over ``window`` s once all logged in."""
    args = ["--headless", "-u", str(users), "-r", str(spawn_rate), "-t", "600s", "--host", lms.url, "--only-summary", "--login-limits-raised"]
    proc = _locust(locustfile, [*args, "--users-csv", str(users_csv), "--think-time", think], WORK / f"{name}.log", cpu=0)
    try:
        wproc, lproc = psutil.Process(proc.pid), psutil.Process(lms.pid)
        logins0 = _stats(lms)["logins"].get("ok", 0)
        deadline = time.monotonic() + 120 + users / spawn_rate
        logged_in = 0
        while logged_in < users:
            if proc.poll() is not None:
                raise RuntimeError(f"{name}: locust exited early; see {WORK}/{name}.log")
            if time.monotonic() > deadline:
                # A starved machine: CPU per request is still measurable once most users run.
                if logged_in < users // 2:
                    raise RuntimeError(f"{name}: only {logged_in}/{users} users logged in; see {WORK}/{name}.log")
                print(f"  ({name}: {logged_in}/{users} users logged in by the deadline; measuring anyway)", flush=True)
                break
            time.sleep(0.5)
            logged_in = _stats(lms)["logins"].get("ok", 0) - logins0
        time.sleep(settle)
        s0, w0, l0, t0 = _stats(lms), _cpu_seconds(wproc), _cpu_seconds(lproc), time.monotonic()
        time.sleep(window)
        s1, w1, l1, t1 = _stats(lms), _cpu_seconds(wproc), _cpu_seconds(lproc), time.monotonic()
        rss = wproc.memory_info().rss / 1e6
    finally:
        _stop(proc)
    (h0, b0), (h1, b1) = _hits(s0), _hits(s1)
    wall = t1 - t0
    return {
        "users": users,
        "requests": h1 - h0,
        "bad_responses": b1 - b0,
        "rps": (h1 - h0) / wall,
        "worker_cpu": (w1 - w0) / wall,
        "standin_cpu": (l1 - l0) / wall,
        "req_per_cpu_s": (h1 - h0) / max(w1 - w0, 1e-9),
        "rss_mb": rss,
    }


def fifty_workers(lms: StandIn, users_csv: Path, workers: int = 50, per_worker: int = 10) -> dict:
    target = workers * per_worker
    port = free_port()
    prefix = WORK / "fifty" / "run"
    prefix.parent.mkdir(parents=True, exist_ok=True)
    master = _locust(
        FAST_LOCUSTFILE,
        [
            "--master",
            "--headless",
            "--expect-workers",
            str(workers),
            "--expect-workers-max-wait",
            "120",
            "-u",
            str(target),
            "-r",
            "100",
            "-t",
            "30s",
            "--host",
            lms.url,
            "--users-csv",
            str(users_csv),
            "--master-bind-host",
            "127.0.0.1",
            "--master-bind-port",
            str(port),
            "--csv",
            str(prefix),
            "--only-summary",
            "--login-limits-raised",
        ],
        WORK / "fifty-master.log",
        cpu=None,
    )
    fleet = _locust(
        FAST_LOCUSTFILE,
        ["--worker", "--processes", str(workers), "--master-host", "127.0.0.1", "--master-port", str(port)],
        WORK / "fifty-workers.log",
        cpu=None,
    )
    mproc = psutil.Process(master.pid)
    samples = []
    mproc.cpu_percent(None)
    try:
        while master.poll() is None:
            time.sleep(1)
            try:
                samples.append(mproc.cpu_percent(None))
            except psutil.NoSuchProcess:
                break
        master.wait(60)
    finally:
        _stop(master, fleet)
    health = json.loads(Path(f"{prefix}_health.json").read_text())
    ramp = health.get("ramp", {})
    busy = [s for s in samples if s > 0] or [0.0]
    counts = [u for _t, u, _target in health.get("users", [])]
    return {
        "workers": health.get("worker_count"),
        "target": target,
        "users_at_check": ramp.get("users_at_check"),
        "checked_at": ramp.get("checked_at"),
        "final_users": counts[-1] if counts else None,
        "max_users": max(counts, default=None),
        "reached_at": next((t for t, u, _target in health.get("users", []) if u >= target), None),
        "lost": sum(1 for w in health.get("lost_workers", []) if "recovered_t" not in w),
        "recovered": sum(1 for w in health.get("lost_workers", []) if "recovered_t" in w),
        "master_cpu_mean": sum(samples) / max(len(samples), 1),
        "master_cpu_max": max(busy),
        "exit_code": master.returncode,
        "missing_log": (WORK / "fifty-master.log").read_text().count("failed to send heartbeat"),
    }


def _cpu_per_request(run: dict) -> float:
    """CPU-seconds of the worker per request in a steady think-time window."""
    return run["worker_cpu"] / max(run["rps"], 1e-6)


def _users_per_core(cpu_per_request: float) -> float:
    """Users one core holds under the ceiling when each sends a learner's nominal request rate."""
    return CPU_CEILING / (cpu_per_request * NOMINAL_RPS_PER_USER)


def _print_fifty(fifty: dict) -> int:
    exact = fifty["final_users"] == fifty["target"] and fifty["max_users"] == fifty["target"]
    print(
        f"\n{fifty['workers']} worker processes -> 1 master, target {fifty['target']} users: running {fifty['final_users']} at the end, "
        f"max {fifty['max_users']} ({'exactly the target, no over-spawn' if exact else 'NOT the target'}), reached at t={fifty['reached_at']}s; "
        f"health check at the planned ramp end (t={fifty['checked_at']}s): {fifty['users_at_check']}; "
        f"workers lost {fifty['lost']}, missed heartbeats and came back {fifty['recovered']}; "
        f"master CPU mean {fifty['master_cpu_mean']:.1f}% max {fifty['master_cpu_max']:.1f}% of one core; master exit code {fifty['exit_code']}"
    )
    return 0 if exact and not fifty["lost"] else 1


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    http_locustfile = WORK / "http_locustfile.py"
    http_locustfile.write_text(HTTP_LOCUSTFILE)
    think_users, goal_users = 1000, TARGET_USERS // GOAL_CORES
    users_csv = write_users_csv(WORK / "users.csv", goal_users + 2000)
    rc = 0
    with StandIn(WORK / "lms", users_csv, tls=True, cpu=1, enroll=DEFAULT_COURSES) as lms:
        print(f"stand-in {lms.url} (TLS); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        runs = {}
        for label, lf, users, think, settle, window, rate in (
            ("fast-throughput", FAST_LOCUSTFILE, 50, "0,0", 3, 15, 50),
            ("http-throughput", http_locustfile, 50, "0,0", 3, 15, 50),
            ("fast-think", FAST_LOCUSTFILE, think_users, "5,15", 12, 20, 50),
            ("http-think", http_locustfile, think_users, "5,15", 12, 20, 25),
            ("fast-at-goal", FAST_LOCUSTFILE, goal_users, "5,15", 15, 30, 100),
        ):
            try:
                runs[label] = measure(label, lms, lf, users_csv, users=users, spawn_rate=rate, think=think, settle=settle, window=window)
            except RuntimeError as exc:  # a machine too busy to log the users in: say so, keep the other figures
                print(f"  {label:16} not measured: {exc}", flush=True)
                rc = 1
                continue
            r = runs[label]
            print(
                f"  {label:16} users={r['users']:5} rps={r['rps']:7.0f} worker CPU={r['worker_cpu']:6.1%} stand-in CPU={r['standin_cpu']:6.1%} "
                f"RSS={r['rss_mb']:5.0f} MB bad={r['bad_responses']}",
                flush=True,
            )
            if r["bad_responses"]:
                rc = 1
        fifty = fifty_workers(lms, users_csv)
    if len(runs) < 5:
        print("comparison table skipped: not every run could be measured on this machine (see above)")
        return rc | _print_fifty(fifty)
    fast_tp, http_tp = runs["fast-throughput"]["req_per_cpu_s"], runs["http-throughput"]["req_per_cpu_s"]
    fast_cpr, http_cpr, goal_cpr = (_cpu_per_request(runs[k]) for k in ("fast-think", "http-think", "fast-at-goal"))
    scale = runs["fast-at-goal"]
    fast_upc, http_upc, goal_upc = (_users_per_core(c) for c in (fast_cpr, http_cpr, goal_cpr))
    goal_cores, http_cores = math.ceil(TARGET_USERS / goal_upc), math.ceil(TARGET_USERS / http_upc)
    at_nominal = goal_cpr * NOMINAL_RPS_PER_USER * goal_users  # the CPU those users cost at a learner's nominal rate
    rows = [
        ("requests per worker CPU-second (HTTPS, no think time)", f"{fast_tp:,.0f}", f"{http_tp:,.0f}", f"{fast_tp / http_tp:.1f}x"),
        (f"worker CPU at think time 5-15 s, {think_users:,} users", f"{runs['fast-think']['worker_cpu']:.1%}", f"{runs['http-think']['worker_cpu']:.1%}", ""),
        (
            f"worker RSS at think time, {think_users:,} users",
            f"{runs['fast-think']['rss_mb']:.0f} MB",
            f"{runs['http-think']['rss_mb']:.0f} MB",
            f"{runs['http-think']['rss_mb'] / runs['fast-think']['rss_mb']:.1f}x",
        ),
        (
            "requests/s per user measured (nominal 0.1625)",
            f"{runs['fast-think']['rps'] / think_users:.3f}",
            f"{runs['http-think']['rps'] / think_users:.3f}",
            "",
        ),
        (f"CPU per request at think time, {think_users:,} users", f"{fast_cpr * 1000:.2f} ms", f"{http_cpr * 1000:.2f} ms", f"{http_cpr / fast_cpr:.1f}x"),
        (f"users one core holds under 90% CPU (sized at {think_users:,})", f"{fast_upc:,.0f}", f"{http_upc:,.0f}", f"{fast_upc / http_upc:.1f}x"),
        (f"one process, {goal_users:,} users: CPU / RSS", f"{scale['worker_cpu']:.1%} / {scale['rss_mb']:.0f} MB", "-", ""),
        (f"CPU per request at {goal_users:,} users", f"{goal_cpr * 1000:.2f} ms", "-", ""),
        (
            f"users one core holds under 90% CPU (sized at {goal_users:,})",
            f"{goal_upc:,.0f}",
            f"{http_upc:,.0f} (at {think_users:,})",
            f"{goal_upc / http_upc:.1f}x",
        ),
        (f"worker cores for {TARGET_USERS:,} users", str(goal_cores), str(http_cores), f"{http_cores / goal_cores:.1f}x fewer"),
        ("stand-in CPU during the throughput run", f"{runs['fast-throughput']['standin_cpu']:.0%}", f"{runs['http-throughput']['standin_cpu']:.0%}", ""),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"\n{'':{width}}  {'FastHttpUser (ours)':>24}  {'HttpUser, same flows':>24}  ratio")
    for label, a, b, ratio in rows:
        print(f"{label:{width}}  {a:>24}  {b:>24}  {ratio}")
    held = at_nominal <= CPU_CEILING
    print(
        f"measured: {goal_users:,} users on one core cost {at_nominal:.0%} CPU at a learner's nominal request rate "
        f"(ceiling {CPU_CEILING:.0%}): {'held' if held else 'NOT held'}; extrapolated to the ceiling: {goal_upc:,.0f} users, {goal_cores} cores"
    )
    # The verdict rests on the density actually run, not on the extrapolation past it.
    verdict_cores = math.ceil(TARGET_USERS / goal_users) if held else goal_cores
    goal = "PASS" if verdict_cores <= GOAL_CORES else "FAIL"
    print(f"goal: <= {GOAL_CORES} worker cores for {TARGET_USERS:,} users -> {verdict_cores} cores (measured): {goal}")
    return rc | _print_fifty(fifty)


if __name__ == "__main__":
    sys.exit(main())
