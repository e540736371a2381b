"""The realistic mix (issue #26: every request a Verawood browser makes) beside the old mix, in one run.

Both run in one Locust process (the user code of one worker) over HTTPS against the LMS stand-in, same accounts,
same flow weights, FastHttpUser with the package's fixes:

1. Counting run, short think time (0.2-0.6 s), 40 users: requests and bytes per learner step (a step = one
   think-time interval = one flow step), and for the realistic mix the per-page table (requests, bytes, wait).
2. Cost run, the default think time (5-15 s), USERS users: worker CPU per user in a steady window, RSS per user,
   and the users one core holds under 90 % CPU.

Printed side by side with ratios, then the figure the sizing reads: requests per learner step and per user-second.
The old mix is the locustfile package as it was before #26 (OLD_MIX), run from a `git archive` of that commit.
"""

import csv
import importlib.util
import json
import os
import shutil
import sys
import time
from pathlib import Path

import psutil

from tests.bench import baseline
from tests.bench import bench_locust as base
from tests.sandbox.lms import DEFAULT_COURSES, StandIn, write_users_csv

WORK = base.REPO / "build" / "bench" / "locust_mix"
# The last commit of roles/locust/files/openedx_locust before #26 (its flows: one request per page plus one JSON call).
OLD_MIX = "b0696045ed7872f5c655207a7ffe3702a42be758"
USERS = int(os.environ.get("BENCH_MIX_USERS", "600"))
COUNT_USERS, COUNT_SECONDS = 40, 25
SETTLE, WINDOW = 10, 30
CPU_CEILING = 0.90
MEAN_THINK_S = 10.0  # the default 5-15 s

LOCUSTFILE = '''"""Bench only ({mix} mix): the package's plugin, shape and user class from {pkg}, counters for the bench."""
import sys
sys.path[:0] = [{pkg!r}, {repo!r}]
from openedx_locust import fixes
fixes.apply()
from openedx_locust import plugin  # noqa: F401
from openedx_locust.shape import StagedRamp  # noqa: F401
from openedx_locust.users import LmsUser, FlowBase  # noqa: F401
from tests.bench import locust_probe
locust_probe.install({counters!r}, FlowBase, page_weight={page_weight!r})
'''


def _package_parent(mix: str) -> Path:
    """The directory holding the mix's openedx_locust package: this tree's, or OLD_MIX's extracted from git."""
    if mix == "realistic":
        return base.PKG_PARENT
    root = baseline.tree(OLD_MIX, "roles/locust/files/openedx_locust")
    if root is None:
        raise RuntimeError(f"this clone lacks {OLD_MIX[:12]} (a shallow clone?): the old mix cannot be run")
    return root / "roles" / "locust" / "files"


def _page_weight(mix: str) -> frozenset:
    """Stats names of the page-weight requests (routes.PAGE_WEIGHT). The old mix predates the route table: the sizing
    took every one of its requests as page weight (one page request plus one JSON call per page view)."""
    if mix == "old":
        return frozenset()
    spec = importlib.util.spec_from_file_location("openedx_locust_routes", base.PKG_PARENT / "openedx_locust" / "routes.py")
    routes = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(routes)
    return frozenset(routes.ROUTES[key].name for key in routes.PAGE_WEIGHT)


def _locustfile(mix: str, think: tuple[float, float], counters: Path) -> Path:
    path = WORK / f"{mix}_{think[0]}_{think[1]}.py"
    path.write_text(LOCUSTFILE.format(mix=mix, pkg=str(_package_parent(mix)), repo=str(base.REPO), counters=str(counters), page_weight=_page_weight(mix)))
    return path


def _counters(path: Path, timeout: float = 10) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        try:
            return json.loads(path.read_text())
        except (OSError, ValueError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def run(mix: str, lms: StandIn, users_csv: Path, *, users: int, think: tuple[float, float], rate: float, settle: float, window: float) -> dict:
    """One process, ``users`` users; counters and worker CPU over ``window`` s once every user is running and logged in."""
    tag = f"{mix}-{users}"
    counters = WORK / f"{tag}.json"
    prefix = WORK / tag
    args = ["--headless", "-u", str(users), "-r", str(rate), "-t", "900s", "--host", lms.url, "--only-summary", "--login-limits-raised"]
    args += ["--users-csv", str(users_csv), "--think-time", f"{think[0]},{think[1]}", "--csv", str(prefix)]
    proc = base._locust(_locustfile(mix, think, counters), args, WORK / f"{tag}.log", cpu=0)
    try:
        wproc = psutil.Process(proc.pid)
        rss0 = None
        deadline = time.monotonic() + 120 + users / rate
        logins0 = base._stats(lms)["logins"].get("ok", 0)
        while base._stats(lms)["logins"].get("ok", 0) - logins0 < users:
            if proc.poll() is not None:
                raise RuntimeError(f"{tag}: locust exited early; see {WORK}/{tag}.log")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{tag}: not every user logged in; see {WORK}/{tag}.log")
            rss0 = rss0 or wproc.memory_info().rss
            time.sleep(0.5)
        time.sleep(settle)
        c0, w0, t0 = _counters(counters), base._cpu_seconds(wproc), time.monotonic()
        time.sleep(window)
        c1, w1, t1 = _counters(counters), base._cpu_seconds(wproc), time.monotonic()
        rss = wproc.memory_info().rss
    finally:
        base._stop(proc)
    steps = max(c1["steps"] - c0["steps"], 1)
    wall = t1 - t0
    return {
        "users": users,
        "steps": steps,
        "requests_per_step": (c1["requests"] - c0["requests"]) / steps,
        "page_weight_per_step": ((c1["page_weight"] - c0["page_weight"]) if mix == "realistic" else (c1["requests"] - c0["requests"])) / steps,
        "bytes_per_step": (c1["bytes"] - c0["bytes"]) / steps,
        "failures": c1["failures"] - c0["failures"],
        "requests": c1["requests"] - c0["requests"],
        "rps": (c1["requests"] - c0["requests"]) / wall,
        "steps_per_s": steps / wall,
        "worker_cpu": (w1 - w0) / wall,
        "rss_mb_per_user": (rss - (rss0 or rss)) / 1e6 / users,
        "pages": _pages(Path(f"{prefix}_pages.csv")),
    }


def _pages(path: Path) -> list[dict]:
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def main() -> int:
    shutil.rmtree(WORK, ignore_errors=True)
    WORK.mkdir(parents=True)
    users_csv = write_users_csv(WORK / "users.csv", 2 * (USERS + COUNT_USERS) + 50)
    rc = 0
    results: dict[tuple[str, str], dict] = {}
    with StandIn(WORK / "lms", users_csv, tls=True, cpu=1, enroll=DEFAULT_COURSES) as lms:
        print(f"stand-in {lms.url} (TLS); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores", flush=True)
        for mix in ("realistic", "old"):
            for kind, users, think, rate, settle, window in (
                ("count", COUNT_USERS, (0.2, 0.6), 20, 3, COUNT_SECONDS),
                ("cost", USERS, (5, 15), 50, SETTLE, WINDOW),
            ):
                try:
                    results[mix, kind] = r = run(mix, lms, users_csv, users=users, think=think, rate=rate, settle=settle, window=window)
                except RuntimeError as exc:
                    print(f"  {mix} {kind}: not measured: {exc}", flush=True)
                    rc = 1
                    continue
                print(
                    f"  {mix:9} {kind:5} users={users:5} steps={r['steps']:6} requests/step={r['requests_per_step']:5.2f} "
                    f"bytes/step={r['bytes_per_step']:8.0f} worker CPU={r['worker_cpu']:6.1%} failures={r['failures']}",
                    flush=True,
                )
    if len(results) < 4:
        print("comparison skipped: a run could not be measured on this machine (see above)")
        return rc
    new_c, old_c = results["realistic", "count"], results["old", "count"]
    new_k, old_k = results["realistic", "cost"], results["old", "cost"]
    new_cpu_user, old_cpu_user = new_k["worker_cpu"] / new_k["users"], old_k["worker_cpu"] / old_k["users"]
    # A slow (starved) LMS lowers the measured request rate and would flatter the realistic mix: cost a user at the
    # nominal rate of a learner instead, requests per step (counting run) over the 10 s mean think time.
    new_cpr, old_cpr = new_k["worker_cpu"] / max(new_k["rps"], 1e-9), old_k["worker_cpu"] / max(old_k["rps"], 1e-9)
    new_nominal, old_nominal = new_c["requests_per_step"] / MEAN_THINK_S, old_c["requests_per_step"] / MEAN_THINK_S
    new_cpu_nom, old_cpu_nom = new_cpr * new_nominal, old_cpr * old_nominal
    new_upc, old_upc = CPU_CEILING / new_cpu_nom, CPU_CEILING / old_cpu_nom
    rows = [
        ("requests per learner step", f"{new_c['requests_per_step']:.2f}", f"{old_c['requests_per_step']:.2f}",
         f"{new_c['requests_per_step'] / old_c['requests_per_step']:.1f}x"),
        ("page-weight requests per learner step (routes.PAGE_WEIGHT)", f"{new_c['page_weight_per_step']:.2f}",
         f"{old_c['page_weight_per_step']:.2f}", f"{new_c['page_weight_per_step'] / old_c['page_weight_per_step']:.1f}x"),
        ("bytes per learner step", f"{new_c['bytes_per_step']:,.0f}", f"{old_c['bytes_per_step']:,.0f}",
         f"{new_c['bytes_per_step'] / max(old_c['bytes_per_step'], 1):.1f}x"),
        (f"requests/s per user at 5-15 s think time ({USERS} users)", f"{new_k['rps'] / USERS:.3f}", f"{old_k['rps'] / USERS:.3f}",
         f"{new_k['rps'] / max(old_k['rps'], 1e-9):.1f}x"),
        ("generator CPU per user over TLS, as measured", f"{new_cpu_user * 1e3:.3f} ms/s", f"{old_cpu_user * 1e3:.3f} ms/s",
         f"{new_cpu_user / old_cpu_user:.1f}x"),
        ("generator CPU per request over TLS", f"{new_cpr * 1e3:.3f} ms", f"{old_cpr * 1e3:.3f} ms", f"{new_cpr / old_cpr:.2f}x"),
        (f"nominal requests/s per user (requests per step / {MEAN_THINK_S:.0f} s)", f"{new_nominal:.3f}", f"{old_nominal:.3f}",
         f"{new_nominal / old_nominal:.1f}x"),
        ("generator CPU per user over TLS at the nominal rate", f"{new_cpu_nom * 1e3:.3f} ms/s", f"{old_cpu_nom * 1e3:.3f} ms/s",
         f"{new_cpu_nom / old_cpu_nom:.1f}x"),
        (f"users one core holds under 90% CPU (at {USERS} users, nominal rate)", f"{new_upc:,.0f}", f"{old_upc:,.0f}", f"{new_upc / old_upc:.2f}x"),
        ("worker RSS per user", f"{new_k['rss_mb_per_user'] * 1000:.0f} kB", f"{old_k['rss_mb_per_user'] * 1000:.0f} kB", ""),
        ("failed requests (counting + cost runs)", str(new_c["failures"] + new_k["failures"]), str(old_c["failures"] + old_k["failures"]), ""),
    ]  # fmt: skip
    width = max(len(r[0]) for r in rows)
    print(f"\n{'':{width}}  {'realistic mix':>16}  {'old mix':>16}  ratio")
    for label, a, b, ratio in rows:
        print(f"{label:{width}}  {a:>16}  {b:>16}  {ratio}")
    if new_c["pages"]:
        print("\nrealistic mix, per page (counting run):")
        print(f"  {'page':32} {'views':>6} {'requests/view':>14} {'bytes/view':>11} {'median wait ms':>15}")
        for p in new_c["pages"]:
            print(f"  {p['Page']:32} {p['Views']:>6} {p['Requests per view']:>14} {p['Bytes per view']:>11} {p['Median wait ms']:>15}")
    print(
        f"\nsizing input (tutor_sizing_requests_per_step): {new_c['page_weight_per_step']:.2f} page-weight requests per learner step "
        f"(old mix {old_c['page_weight_per_step']:.2f}); all requests {new_c['requests_per_step']:.2f} per step -> "
        f"{new_c['requests_per_step'] / MEAN_THINK_S:.3f} requests/s per user at the {MEAN_THINK_S:.0f} s mean think time (load-generator sizing)"
    )
    if new_c["failures"] or new_k["failures"]:
        print("the realistic mix had failed requests against the stand-in: FAIL")
        rc = 1
    return rc


if __name__ == "__main__":
    sys.exit(main())
