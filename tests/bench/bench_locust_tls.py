"""What TLS costs the load generator: the project's locustfile over HTTPS side by side with plain HTTP, in one run.

The edge is Debian's real nginx on loopback (tests/helpers/nginx.py): TLS 1.3 / 1.2 with session resumption on or
off, proxying plain HTTP to the LMS stand-in, with a plain-HTTP listener on the same nginx for the comparison.
Each run is one Locust process (the user code of one worker) at the 5-15 s think time:

- CPU per request and per user in a steady window, memory per user (RSS growth over the process's start size);
- the login wave: worker CPU per user from first login to the last, steady-state CPU taken out; its excess over
  plain HTTP is the handshake;
- users one core holds under 90 % CPU at a learner's nominal request rate (as bench_locust).

Keep-alive: with the edge's 75 s idle keep-alive a user keeps its one connection across think times, so TLS costs
one handshake per user. With a 3 s idle timeout (shorter than any think time: a load balancer or edge that closes
idle connections) every page view reconnects: that is where session resumption counts, and where the locustfile's
per-user resumption (fixes.py (d)) is shown before/after against the stock connection pool.

Then the goal density: one process with 50,000 / GOAL_TLS_CORES users over TLS 1.3, and the master with the sized
number of worker processes, and the load-generator sizing table for 50,000 users from the measured density.
"""

import math
import os
import shutil
import sys
import time
import types
from pathlib import Path

import psutil

from tests.bench import bench_locust as base
from tests.helpers import nginx
from tests.sandbox.lms import DEFAULT_COURSES, StandIn, write_users_csv
from tests.sandbox.lms.tls import ensure_self_signed

sys.path.insert(0, str(base.REPO / "build" / "collections"))
from ansible_collections.openedx_scale.oke.plugins.filter import loadgen

WORK = base.REPO / "build" / "bench" / "locust_tls"
TARGET_USERS = 50_000
GOAL_TLS_CORES, GOAL_HTTP_CORES = 4, 3
USERS, SPAWN_RATE, SETTLE, WINDOW = 1000, 100, 5, 12
# BENCH_GOAL_FRACTION < 1 runs the goal densities scaled down, for a machine that cannot host them (the verdict
# then rests on the extrapolation and says so).
GOAL_FRACTION = float(os.environ.get("BENCH_GOAL_FRACTION", "1"))
GOAL_USERS = int(TARGET_USERS // GOAL_TLS_CORES * GOAL_FRACTION)
GOAL_HTTP_USERS = int(-(-TARGET_USERS // GOAL_HTTP_CORES) * GOAL_FRACTION)
GOAL_SPAWN_RATE = 100
MASTER_USERS_PER_WORKER = 500

BEFORE_LOCUSTFILE = f'''"""Bench only: the locustfile before the TLS changes (no per-user session resumption, OpenSSL's cipher order)."""
import sys
sys.path.insert(0, {str(base.PKG_PARENT)!r})
from openedx_locust import fixes
fixes.TLS12_CIPHERS = ""
fixes.apply()
from geventhttpclient import connectionpool
connectionpool.SSLConnectionPool._connect_socket = fixes._stock_connect_socket
connectionpool.SSLConnectionPool.return_socket = fixes._stock_return_socket
from openedx_locust import plugin  # noqa: F401
from openedx_locust.shape import StagedRamp  # noqa: F401
from openedx_locust.users import LmsUser  # noqa: F401
'''

# label, scheme, nginx ssl_protocols, session resumption, idle keep-alive seconds, locustfile ("after" / "before")
SCENARIOS = (
    ("http", "http", "TLSv1.3", True, 75, "after"),
    ("tls1.3", "https", "TLSv1.3", True, 75, "after"),
    ("tls1.2", "https", "TLSv1.2", True, 75, "after"),
    ("tls1.3 idle-close no-resume", "https", "TLSv1.3", False, 3, "after"),
    ("tls1.3 idle-close resume", "https", "TLSv1.3", True, 3, "after"),
    ("tls1.3 idle-close BEFORE", "https", "TLSv1.3", True, 3, "before"),
    ("tls1.2 idle-close no-resume", "https", "TLSv1.2", False, 3, "after"),
    ("tls1.2 idle-close resume", "https", "TLSv1.2", True, 3, "after"),
    ("tls1.2 idle-close BEFORE", "https", "TLSv1.2", True, 3, "before"),
)


def _edge_cpu(pids: list[int]) -> float:
    total = 0.0
    for pid in pids:
        try:
            total += base._cpu_seconds(psutil.Process(pid))
        except psutil.NoSuchProcess:
            pass
    return total


def run(
    name: str,
    lms: StandIn,
    edge: nginx.TlsTerminator,
    url: str,
    locustfile: Path,
    users_csv: Path,
    *,
    users: int,
    spawn_rate: float,
    settle: float,
    window: float,
    partial_ok: bool = False,
) -> dict:
    """One Locust process, all users at the 5-15 s think time: login wave, then a steady window.

    ``partial_ok``: a machine too busy to log every user in by the deadline is measured at the users it reached (at
    least half), and the result says so ("users" is that count, "target" the one asked for).
    """
    args = [
        "--headless",
        "-u",
        str(users),
        "-r",
        str(spawn_rate),
        "-t",
        "900s",
        "--host",
        url,
        "--only-summary",
        "--login-limits-raised",
        "--users-csv",
        str(users_csv),
        "--think-time",
        "5,15",
    ]
    log = WORK / f"{name.replace(' ', '_')}.log"
    proc = base._locust(locustfile, args, log, cpu=0)
    try:
        wproc = psutil.Process(proc.pid)
        logins0 = base._stats(lms)["logins"].get("ok", 0)
        deadline = time.monotonic() + 120 + users / spawn_rate
        logged_in = 0
        while logged_in == 0:  # the process has imported and started spawning: the wave begins
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name}: no login; see {log}")
            time.sleep(0.2)
            logged_in = base._stats(lms)["logins"].get("ok", 0) - logins0
        n0, c0, t0, rss0 = logged_in, base._cpu_seconds(wproc), time.monotonic(), wproc.memory_info().rss
        while logged_in < users:
            if proc.poll() is not None:
                raise RuntimeError(f"{name}: locust exited early; see {log}")
            if time.monotonic() > deadline:
                if partial_ok and logged_in >= users // 2:
                    print(f"  ({name}: {logged_in:,}/{users:,} users logged in by the deadline on this machine; measuring those)", flush=True)
                    break
                raise RuntimeError(f"{name}: only {logged_in}/{users} users logged in; see {log}")
            time.sleep(0.2)
            logged_in = base._stats(lms)["logins"].get("ok", 0) - logins0
        n1, c1, t1 = logged_in, base._cpu_seconds(wproc), time.monotonic()
        if n1 < users:  # stop spawning more: the window measures the users that are in
            time.sleep(2)
            n1 = base._stats(lms)["logins"].get("ok", 0) - logins0
        time.sleep(settle)
        pids = edge.pids
        s0, w0, e0, ts0, at0 = base._stats(lms), base._cpu_seconds(wproc), _edge_cpu(pids), time.monotonic(), time.time()
        time.sleep(window)
        s1, w1, e1, ts1, at1 = base._stats(lms), base._cpu_seconds(wproc), _edge_cpu(pids), time.monotonic(), time.time()
        rss1 = wproc.memory_info().rss
    finally:
        base._stop(proc)
    (h0, b0), (h1, b1) = base._hits(s0), base._hits(s1)
    wall = ts1 - ts0
    logged = [r for r in edge.requests() if at0 <= r["at"] < at1]
    opened = [r for r in logged if r["nth"] == 1]  # a connection's first request: a new TCP (+TLS) connection
    rps = (h1 - h0) / wall
    cpu = (w1 - w0) / wall
    target, users = users, min(users, n1)
    per_user_s = cpu / users  # steady CPU per logged-in user and second
    wave_users = n1 - n0
    # CPU of the wave minus what the users already logged in spent meanwhile (on average half of them, linear ramp).
    wave_cpu = (c1 - c0) - per_user_s * (n0 + n1) / 2.0 * (t1 - t0)
    return {
        "users": users,
        "target": target,
        "rps": rps,
        "bad": b1 - b0,
        "worker_cpu": cpu,
        "cpu_per_request_ms": cpu / max(rps, 1e-9) * 1000,
        "cpu_per_user_ms_s": per_user_s * 1000,
        "rss_per_user_kb": (rss1 - rss0) / max(users - n0, 1) / 1024,
        "rss_mb": rss1 / 1e6,
        "login_cpu_ms": wave_cpu / max(wave_users, 1) * 1000,
        "edge_cpu_per_request_ms": (e1 - e0) / max(h1 - h0, 1) * 1000,
        "new_connections_per_request": len(opened) / max(len(logged), 1),
        "resumed_share": sum(r["reused"] for r in opened) / max(len(opened), 1),
        "users_per_core": base._users_per_core(cpu / max(rps, 1e-9)),
    }


def _row(label: str, r: dict) -> str:
    return (
        f"  {label:30} {r['rps']:6.0f} {r['cpu_per_request_ms']:8.3f} {r['cpu_per_user_ms_s']:9.3f} {r['rss_per_user_kb']:7.1f}"
        f" {r['login_cpu_ms']:8.2f} {r['edge_cpu_per_request_ms']:8.3f} {r['new_connections_per_request']:6.2f} {r['resumed_share']:6.0%}"
        f" {r['users_per_core']:9,.0f} {r['bad']:4}"
    )


def main() -> int:
    if not nginx.available():
        print(f"nginx not installed ({nginx.NGINX}): apt-get install nginx (tools/apt-packages.txt)")
        return 1
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    base.WORK.mkdir(parents=True, exist_ok=True)  # the master check writes there
    before = WORK / "before_locustfile.py"
    before.write_text(BEFORE_LOCUSTFILE)
    locustfiles = {"after": base.FAST_LOCUSTFILE, "before": before}
    users_csv = write_users_csv(WORK / "users.csv", max(GOAL_USERS, GOAL_HTTP_USERS) + 2000)
    cert, key = ensure_self_signed(WORK / "tls" / "cert.pem", WORK / "tls" / "key.pem", ["127.0.0.1"])
    rc = 0
    results: dict[str, dict] = {}
    started = time.monotonic()
    with StandIn(WORK / "lms", users_csv, enroll=DEFAULT_COURSES) as lms:  # unpinned: on a shared box a pinned stand-in starves the logins
        backend = lms.url.removeprefix("http://")
        print(
            f"stand-in {lms.url} behind nginx {nginx.NGINX}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores;"
            f" {USERS:,} users per run, think 5-15 s",
            flush=True,
        )
        print(
            f"  {'run':30} {'req/s':>6} {'CPU/req':>8} {'CPU/user':>9} {'RSS/u':>7} {'login':>8} {'nginx':>8} {'conn/':>6} {'resu-':>6}"
            f" {'users/core':>9} {'bad':>4}"
        )
        print(f"  {'':30} {'':>6} {'ms':>8} {'ms/s':>9} {'KB':>7} {'CPU ms':>8} {'ms/req':>8} {'req':>6} {'med':>6} {'(90%)':>9}")
        for label, scheme, protocols, resume, idle, variant in SCENARIOS:
            edge_dir = WORK / "nginx" / label.replace(" ", "_")
            try:
                with nginx.TlsTerminator(edge_dir, backend, cert, key, protocols=protocols, resumption=resume, keepalive_timeout=idle, access_log=True) as edge:
                    url = edge.https_url if scheme == "https" else edge.http_url
                    results[label] = r = run(
                        label, lms, edge, url, locustfiles[variant], users_csv, users=USERS, spawn_rate=SPAWN_RATE, settle=SETTLE, window=WINDOW
                    )
            except RuntimeError as exc:
                print(f"  {label:30} not measured: {exc}", flush=True)
                rc = 1
                continue
            print(_row(label, r), flush=True)
            rc |= int(r["bad"] > 0)
        goals: dict[str, dict] = {}
        master = None
        with nginx.TlsTerminator(WORK / "nginx" / "goal", backend, cert, key, protocols="TLSv1.3", access_log=True) as edge:
            for label, url, users in (("tls1.3", edge.https_url, GOAL_USERS), ("http", edge.http_url, GOAL_HTTP_USERS)):
                try:
                    goals[label] = r = run(
                        f"goal {label}",
                        lms,
                        edge,
                        url,
                        base.FAST_LOCUSTFILE,
                        users_csv,
                        users=users,
                        spawn_rate=GOAL_SPAWN_RATE,
                        settle=10,
                        window=25,
                        partial_ok=True,
                    )
                except RuntimeError as exc:
                    print(f"  {label} at {users:,} users not measured: {exc}", flush=True)
                    rc = 1
                    continue
                print(_row(f"{label} at {r['users']:,} users", r), flush=True)
                rc |= int(r["bad"] > 0)
            master = base.fifty_workers(types.SimpleNamespace(url=edge.https_url), users_csv, workers=GOAL_TLS_CORES, per_worker=MASTER_USERS_PER_WORKER)
    print(f"(runs took {time.monotonic() - started:.0f} s)")
    return rc | _summary(results, goals, master)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def _summary(results: dict, goals: dict, master: dict | None) -> int:
    rc = 0
    http = results.get("http")
    if http:
        print("\nHTTPS vs plain HTTP (same nginx, same flows):")
        for label in ("tls1.3", "tls1.2"):
            r = results.get(label)
            if r:
                print(
                    f"  {label}: CPU/request {_ratio(r['cpu_per_request_ms'], http['cpu_per_request_ms'])}, CPU/user "
                    f"{_ratio(r['cpu_per_user_ms_s'], http['cpu_per_user_ms_s'])}, memory/user {_ratio(r['rss_per_user_kb'], http['rss_per_user_kb'])}, "
                    f"login wave +{r['login_cpu_ms'] - http['login_cpu_ms']:.2f} ms CPU per user (the handshake), "
                    f"users/core {r['users_per_core']:,.0f} vs {http['users_per_core']:,.0f}"
                )
    print("\nSession resumption when the edge closes idle connections (3 s, every page view reconnects):")
    for proto in ("tls1.3", "tls1.2"):
        off, on, old = (results.get(f"{proto} idle-close {k}") for k in ("no-resume", "resume", "BEFORE"))
        if off and on and old:
            print(
                f"  {proto}: reconnects resumed before (stock pool) {old['resumed_share']:.0%} -> after (per-user resumption) "
                f"{on['resumed_share']:.0%} ({on['new_connections_per_request']:.2f} new connections per request); worker CPU/user "
                f"{old['cpu_per_user_ms_s']:.3f} -> {on['cpu_per_user_ms_s']:.3f} ms/s ({_ratio(old['cpu_per_user_ms_s'], on['cpu_per_user_ms_s'])}), "
                f"CPU/request {old['cpu_per_request_ms']:.3f} -> {on['cpu_per_request_ms']:.3f} ms; nginx CPU/request "
                f"{old['edge_cpu_per_request_ms']:.3f} -> {on['edge_cpu_per_request_ms']:.3f} ms; edge with resumption off: worker "
                f"{off['cpu_per_user_ms_s']:.3f} ms/s per user"
            )
    print(
        "  (keep-alive at the edge's 75 s: "
        + ", ".join(f"{k} {results[k]['new_connections_per_request']:.3f} new connections per request" for k in ("http", "tls1.3", "tls1.2") if k in results)
        + ")"
    )
    tls_upc = None
    for label, goal_cores in (("tls1.3", GOAL_TLS_CORES), ("http", GOAL_HTTP_CORES)):
        goal = goals.get(label)
        if not goal:
            continue
        users = goal["users"]
        at_nominal = goal["cpu_per_request_ms"] / 1000 * base.NOMINAL_RPS_PER_USER * users
        held = at_nominal <= base.CPU_CEILING
        if label != "http":
            tls_upc = goal["users_per_core"]
        print(
            f"\nmeasured: {users:,} users over {label} in one process (target density {goal['target']:,}): {goal['worker_cpu']:.0%} CPU at "
            f"{goal['rps']:.0f} req/s ({goal['rps'] / users:.3f} req/s per user; nominal {base.NOMINAL_RPS_PER_USER}), {at_nominal:.0%} of a core "
            f"at the nominal rate (ceiling {base.CPU_CEILING:.0%}): {'held' if held else 'NOT held'}; RSS {goal['rss_mb']:.0f} MB; "
            f"extrapolated {goal['users_per_core']:,.0f} users/core"
        )
        extrapolated = math.ceil(TARGET_USERS / goal["users_per_core"])
        if held and users >= goal["target"]:
            cores, how = math.ceil(TARGET_USERS / users), "measured at that density"
        else:
            cores, how = extrapolated, f"extrapolated from {users:,} users: the machine could not host the full density"
        verdict = "PASS" if cores <= goal_cores else "FAIL"
        print(f"goal: {TARGET_USERS:,} users over {label} on <= {goal_cores} worker cores -> {cores} ({how}): {verdict}")
        rc |= int(verdict != "PASS")
    if master:
        rc |= base._print_fifty(master)
        print(
            f"  (the master with the sized {GOAL_TLS_CORES} worker processes, {MASTER_USERS_PER_WORKER} users each over TLS:"
            f" master CPU goal < 10% of a core: {'PASS' if master['master_cpu_mean'] < 10 else 'FAIL'})"
        )
        rc |= int(master["master_cpu_mean"] >= 10)
    sizing = loadgen.loadgen_sizing(
        TARGET_USERS, [5, 15], users_per_core=tls_upc or loadgen.MEASURED_USERS_PER_CORE_TLS, max_connections_per_ip=5000, login_limits_raised=True
    )
    print(f"\n(sizing from {'this run' if tls_upc else 'the filter default'}: {sizing['users_per_core']:,} users/core)")
    print("\n".join(loadgen.loadgen_sizing_table(sizing)))
    return rc


if __name__ == "__main__":
    sys.exit(main())
