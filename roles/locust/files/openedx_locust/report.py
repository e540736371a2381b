"""Turn a Locust run into charts and a verdict against SLOs (runs on the controller).

    python -m openedx_locust.report --csv-prefix RUN/run --out RUN/report [--json RUN/run.json] [--health RUN/run_health.json]
        [--max-failure-ratio 0.01] [--max-p95-ms 1000] [--max-generator-cpu 90] [--target-users N] [--max-lost-workers 0]

Inputs: Locust's ``--csv PREFIX --csv-full-history`` files (``PREFIX_stats.csv``, ``PREFIX_stats_history.csv``,
``PREFIX_failures.csv``), optionally its ``--json-file`` output and our ``PREFIX_health.json``.
Outputs in --out: users.png, rps.png, latency.png, failures.png, generator_cpu.png, verdict.md, verdict.html,
verdict.json. Exit code: 0 all SLOs met, 1 an SLO failed, 2 unusable input.
"""

import argparse
import csv
import html
import json
import math
import sys
from dataclasses import dataclass
from pathlib import Path

EXIT_PASS, EXIT_FAIL, EXIT_BAD_INPUT = 0, 1, 2


class ReportError(ValueError):
    pass


@dataclass
class Check:
    name: str
    measured: str
    limit: str
    ok: bool


def _num(value: str | None) -> float | None:
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def read_csv(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        raise ReportError(f"{path} is missing (run Locust with --csv {str(path).rsplit('_', 2)[0]} --csv-full-history)")
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def load_run(prefix: str, health_path: Path | None, json_path: Path | None) -> dict:
    stats = read_csv(Path(f"{prefix}_stats.csv"))
    history = read_csv(Path(f"{prefix}_stats_history.csv"))
    failures_path = Path(f"{prefix}_failures.csv")
    failures = read_csv(failures_path) if failures_path.is_file() else []
    pages_path = Path(f"{prefix}_pages.csv")
    pages = read_csv(pages_path) if pages_path.is_file() else []
    aggregated = next((r for r in stats if r.get("Name") == "Aggregated"), None)
    if aggregated is None:
        raise ReportError(f"{prefix}_stats.csv has no Aggregated row; is it a Locust stats file?")
    agg_history = [r for r in history if r.get("Name") == "Aggregated"]
    if not agg_history:
        raise ReportError(f"{prefix}_stats_history.csv has no Aggregated rows; the run wrote no history")
    health = None
    if health_path is None and Path(f"{prefix}_health.json").is_file():
        health_path = Path(f"{prefix}_health.json")
    if health_path is not None:
        if not health_path.is_file():
            raise ReportError(f"--health: {health_path} is missing")
        health = json.loads(health_path.read_text())
    final = None
    if json_path is not None:
        if not json_path.is_file():
            raise ReportError(f"--json: {json_path} is missing")
        final = json.loads(json_path.read_text())
    return {"stats": stats, "aggregated": aggregated, "history": agg_history, "failures": failures, "pages": pages, "health": health, "final": final}


def series(history: list[dict[str, str]], column: str) -> tuple[list[float], list[float | None]]:
    t0 = float(history[0]["Timestamp"])
    return [float(r["Timestamp"]) - t0 for r in history], [_num(r.get(column)) for r in history]


def charts(run: dict, out: Path) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    hist = run["history"]

    def save(fig, name):
        for axis in fig.axes:
            axis.set_ylim(bottom=0, top=max(axis.get_ylim()[1], 1))  # counts and times: 0 at the bottom, even when all zero
        fig.tight_layout()
        fig.savefig(out / name, dpi=100)
        plt.close(fig)
        made.append(name)

    t, users = series(hist, "User Count")
    fig, ax = plt.subplots(figsize=(9, 3.2))
    ax.plot(t, users, color="tab:blue", label="running users")
    target = (run["health"] or {}).get("ramp", {}).get("target")
    if target:
        ax.axhline(target, color="tab:gray", linestyle="--", linewidth=1, label=f"target {target}")
    ax.set(title="Users", xlabel="seconds", ylabel="users")
    ax.legend(loc="lower right")
    save(fig, "users.png")

    fig, ax = plt.subplots(figsize=(9, 3.2))
    rps = series(hist, "Requests/s")[1]
    fps = series(hist, "Failures/s")[1]
    ax.plot(t, [v or 0 for v in rps], label="requests/s", color="tab:green")
    ax.plot(t, [v or 0 for v in fps], label="failures/s", color="tab:red")
    ax.set(title="Throughput", xlabel="seconds", ylabel="per second")
    ax.legend(loc="upper left")
    save(fig, "rps.png")

    fig, ax = plt.subplots(figsize=(9, 3.2))
    for col, color in (("50%", "tab:blue"), ("95%", "tab:orange"), ("99%", "tab:red")):
        values = series(hist, col)[1]
        ax.plot(t, values, label=f"p{col.rstrip('%')}", color=color)
    ax.set(title="Response time percentiles (10 s window)", xlabel="seconds", ylabel="ms")
    ax.legend(loc="upper left")
    save(fig, "latency.png")

    fig, ax = plt.subplots(figsize=(9, 3.2))
    total = series(hist, "Total Request Count")[1]
    failed = series(hist, "Total Failure Count")[1]
    ratio = [(f or 0) / r * 100 if r else 0 for f, r in zip(failed, total, strict=True)]
    ax.plot(t, [f or 0 for f in failed], color="tab:red", label="failures (cumulative)")
    ax.set(title="Failures", xlabel="seconds", ylabel="failed requests")
    ax2 = ax.twinx()
    ax2.plot(t, ratio, color="tab:purple", linestyle=":", label="failure ratio %")
    ax2.set_ylabel("% of requests")
    lines = ax.get_legend_handles_labels()[0] + ax2.get_legend_handles_labels()[0]
    ax.legend(lines, [line.get_label() for line in lines], loc="upper left")
    save(fig, "failures.png")

    health = run["health"]
    if health and health.get("workers"):
        save(_generator_cpu_figure(plt, health), "generator_cpu.png")
    return made


def _generator_cpu_figure(plt, health: dict):
    """Each worker process's CPU over the run, against the limit, with the times workers were lost."""
    fig, ax = plt.subplots(figsize=(9, 3.2))
    shown = sorted(health["workers"].items(), key=lambda kv: (kv[1].get("index") is None, kv[1].get("index") or 0))
    for cid, w in shown[:60]:
        samples = w.get("samples") or []
        ax.plot([s[0] for s in samples], [s[1] for s in samples], linewidth=0.8, label=f"#{w.get('index')} {w.get('host') or cid}"[:28])
    ax.axhline(health.get("max_generator_cpu_allowed", 90), color="tab:red", linestyle="--", linewidth=1, label="limit")
    for lost in health.get("lost_workers", []):
        ax.axvline(lost["t"], color="black", linestyle=":", linewidth=1)
    ax.set(title="Load-generator CPU per worker process", xlabel="seconds", ylabel="% of one core", ylim=(0, 105))
    if len(shown) <= 10:
        ax.legend(loc="upper right", fontsize=7)
    return fig


def evaluate(run: dict, args) -> tuple[list[Check], dict]:
    agg = run["aggregated"]
    requests = int(float(agg["Request Count"]))
    failures = int(float(agg["Failure Count"]))
    ratio = failures / requests if requests else 1.0
    p95 = _num(agg.get("95%"))
    checks = [
        Check("requests made", f"{requests}", "> 0", requests > 0),
        Check("failure ratio", f"{ratio:.4%} ({failures}/{requests})", f"<= {args.max_failure_ratio:.2%}", requests > 0 and ratio <= args.max_failure_ratio),
        Check("p95 response time", f"{p95:.0f} ms" if p95 is not None else "n/a", f"<= {args.max_p95_ms:g} ms", p95 is not None and p95 <= args.max_p95_ms),
    ]
    health = run["health"]
    facts = {"requests": requests, "failures": failures, "failure_ratio": ratio, "p95_ms": p95}
    max_users = max((_num(r["User Count"]) or 0 for r in run["history"]), default=0)
    target = args.target_users or ((health or {}).get("ramp") or {}).get("target")
    if health is not None:
        ramp = health.get("ramp") or {}
        at_check = ramp.get("users_at_check")
        ok = bool(target) and at_check == target and (ramp.get("max_users") or 0) <= target
        checks.append(Check("users at end of ramp == target", f"{at_check} (max {ramp.get('max_users')})", f"== {target}", ok))
        cpu = health.get("generator_cpu_peak")
        checks.append(
            Check("load-generator CPU (peak ~6 s average)", f"{cpu}%", f"<= {args.max_generator_cpu:g}%", cpu is not None and cpu <= args.max_generator_cpu)
        )
        events = health.get("lost_workers", [])
        lost = [w for w in events if "recovered_t" not in w]  # a worker back after missed heartbeats is not lost
        measured = f"{len(lost)}" + (f" ({len(events) - len(lost)} more missed heartbeats and came back)" if len(events) > len(lost) else "")
        checks.append(Check("workers lost mid-run", measured, f"<= {args.max_lost_workers}", len(lost) <= args.max_lost_workers))
        errors = health.get("worker_errors", [])
        checks.append(Check("worker input errors", str(len(errors)), "== 0", not errors))
        facts.update({"generator_cpu_peak": cpu, "lost_workers": lost, "worker_errors": errors, "ramp": ramp, "workers": health.get("worker_count")})
        facts["master_cpu_max"] = health.get("master_cpu_max")
    elif target:
        checks.append(Check("users reached target", f"{max_users:.0f}", f"== {target}", max_users == target))
    else:
        checks.append(Check("load-generator health data", "missing", f"{args.csv_prefix}_health.json", False))
    facts["max_users"] = max_users
    facts["target_users"] = target
    facts["pages"] = run.get("pages") or []
    return checks, facts


def endpoint_rows(run: dict) -> list[list[str]]:
    rows = []
    for r in run["stats"]:
        if r.get("Name") == "Aggregated":
            continue
        name = f"{r.get('Type', '')} {r['Name']}".strip()
        rps = f"{_num(r.get('Requests/s')) or 0:.2f}"
        rows.append([name, r["Request Count"], r["Failure Count"], r.get("50%", ""), r.get("95%", ""), r.get("99%", ""), rps])
    return rows


PAGE_COLUMNS = ("Page", "Views", "Failed views", "Requests per view", "Bytes per view", "Median wait ms", "95% wait ms", "99% wait ms")


def page_rows(run: dict) -> list[list[str]]:
    """What the learner waits per page (<prefix>_pages.csv, written by the locustfile): one row per page."""
    return [[str(r.get(c, "")) for c in PAGE_COLUMNS] for r in run.get("pages") or []]


def write_verdict(run: dict, checks: list[Check], facts: dict, charts_made: list[str], out: Path, title: str) -> bool:
    ok = all(c.ok for c in checks)
    verdict = "PASS" if ok else "FAIL"
    md = [f"# {title}: {verdict}", ""]
    md += ["| check | measured | limit | result |", "|---|---|---|---|"]
    md += [f"| {c.name} | {c.measured} | {c.limit} | {'pass' if c.ok else '**FAIL**'} |" for c in checks]
    health = run["health"] or {}
    if health.get("lost_workers"):
        md += ["", "## Workers lost or missing mid-run", ""]
        md += [
            f"- worker #{w.get('index')} on {w.get('host') or '?'} ({w['client_id']}): {w['reason']} at t={w['t']:.0f}s"
            + (f", back at t={w['recovered_t']:.0f}s" if "recovered_t" in w else "")
            for w in health["lost_workers"]
        ]
    if health.get("worker_errors"):
        md += ["", "## Worker errors", ""] + [f"- worker #{e.get('index')} on {e.get('host')}: {e['error']}" for e in health["worker_errors"]]
    if health.get("plan"):
        md += ["", "## Ramp plan", "", "```", health["plan"], "```"]
    if page_rows(run):
        md += ["", "## Pages (the learner's wait: a page's requests, concurrent ones overlapping)", ""]
        md += ["| " + " | ".join(PAGE_COLUMNS) + " |", "|" + "---|" * len(PAGE_COLUMNS)]
        md += ["| " + " | ".join(row) + " |" for row in page_rows(run)]
    md += ["", "## Requests by route", "", "| route | requests | failures | p50 ms | p95 ms | p99 ms | req/s |", "|---|---|---|---|---|---|---|"]
    md += ["| " + " | ".join(row) + " |" for row in endpoint_rows(run)]
    if run["failures"]:
        md += ["", "## Failures", "", "| method | name | error | occurrences |", "|---|---|---|---|"]
        top = sorted(run["failures"], key=lambda r: -int(r.get("Occurrences", 0) or 0))[:15]
        md += [f"| {r.get('Method')} | {r.get('Name')} | {r.get('Error', '').replace('|', '/')[:160]} | {r.get('Occurrences')} |" for r in top]
    if health.get("workers"):
        md += ["", "## Load generators", "", "| worker | host | CPU peak avg % | CPU mean % | RSS max MB | accounts |", "|---|---|---|---|---|---|"]
        for w in sorted(health["workers"].values(), key=lambda w: w.get("index") or 0):
            cells = [f"#{w.get('index')}", w.get("host"), w.get("cpu_peak_avg"), w.get("cpu_mean"), w.get("rss_mb_max"), w.get("accounts") or "-"]
            md.append("| " + " | ".join(str(c) for c in cells) + " |")
        if health.get("master_cpu_max") is not None:
            md += ["", f"Master CPU: max {health['master_cpu_max']}%, mean {health.get('master_cpu_mean')}%."]
    md += ["", "## Charts", ""] + [f"![{name}]({name})" for name in charts_made]
    (out / "verdict.md").write_text("\n".join(md) + "\n")

    color = "#1a7f37" if ok else "#cf222e"
    rows = "".join(
        f"<tr><td>{html.escape(c.name)}</td><td>{html.escape(c.measured)}</td><td>{html.escape(c.limit)}</td>"
        f"<td style='color:{'#1a7f37' if c.ok else '#cf222e'}'><b>{'pass' if c.ok else 'FAIL'}</b></td></tr>"
        for c in checks
    )
    routes = "".join("<tr>" + "".join(f"<td>{html.escape(str(v))}</td>" for v in row) + "</tr>" for row in endpoint_rows(run))
    page_table = "".join("<tr>" + "".join(f"<td>{html.escape(v)}</td>" for v in row) + "</tr>" for row in page_rows(run))
    if page_table:
        head = "".join(f"<th>{html.escape(c)}</th>" for c in PAGE_COLUMNS)
        page_table = f"<h2>Pages (the learner's wait)</h2><table><tr>{head}</tr>{page_table}</table>"
    lost = "".join(
        f"<li>worker #{w.get('index')} on {html.escape(str(w.get('host')))}: {html.escape(w['reason'])} at t={w['t']:.0f}s</li>"
        for w in health.get("lost_workers", [])
    )
    imgs = "".join(f'<p><img src="{name}" alt="{name}"></p>' for name in charts_made)
    page = (
        f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{html.escape(title)}: {verdict}</title>"
        "<style>body{font-family:sans-serif;max-width:980px;margin:2em auto}td,th{border:1px solid #ccc;padding:3px 8px}"
        "table{border-collapse:collapse;margin:1em 0}</style></head><body>"
        f"<h1>{html.escape(title)}: <span style='color:{color}'>{verdict}</span></h1>"
        f"<table><tr><th>check</th><th>measured</th><th>limit</th><th>result</th></tr>{rows}</table>"
        + (f"<h2>Workers lost mid-run</h2><ul>{lost}</ul>" if lost else "")
        + page_table
        + "<h2>Requests by route</h2><table><tr><th>route</th><th>requests</th><th>failures</th><th>p50</th><th>p95</th><th>p99</th><th>req/s</th></tr>"
        + routes
        + f"</table><h2>Charts</h2>{imgs}</body></html>"
    )
    (out / "verdict.html").write_text(page)
    (out / "verdict.json").write_text(
        json.dumps({"verdict": verdict, "checks": [c.__dict__ for c in checks], "facts": facts, "charts": charts_made}, indent=1, default=str)
    )
    return ok


def parse_args(argv=None):
    p = argparse.ArgumentParser(prog="python -m openedx_locust.report", description="Charts and SLO verdict for a Locust run.")
    p.add_argument("--csv-prefix", required=True, help="the PREFIX given to locust --csv")
    p.add_argument("--out", required=True, type=Path, help="directory for the charts and verdict files")
    p.add_argument("--json", type=Path, help="locust --json-file output (optional)")
    p.add_argument("--health", type=Path, help="generator-health JSON (default PREFIX_health.json if present)")
    p.add_argument("--max-failure-ratio", type=float, default=0.01, help="failed/total requests (default %(default)s)")
    p.add_argument("--max-p95-ms", type=float, default=1000.0, help="whole-run p95 in ms (default %(default)s)")
    p.add_argument("--max-generator-cpu", type=float, default=90.0, help="peak CPU %% of any generator process (default %(default)s)")
    p.add_argument("--max-lost-workers", type=int, default=0, help="workers allowed to drop out mid-run (default %(default)s)")
    p.add_argument("--target-users", type=int, default=0, help="expected users (default: the ramp target in the health file)")
    p.add_argument("--title", default="Open edX load test", help="report title")
    args = p.parse_args(argv)
    if not 0 <= args.max_failure_ratio <= 1:
        p.error("--max-failure-ratio must be between 0 and 1")
    if args.max_p95_ms <= 0 or args.max_generator_cpu <= 0:
        p.error("--max-p95-ms and --max-generator-cpu must be > 0")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    try:
        run = load_run(args.csv_prefix, args.health, args.json)
    except (ReportError, ValueError, KeyError) as exc:
        sys.stderr.write(f"report: {exc}\n")
        return EXIT_BAD_INPUT
    args.out.mkdir(parents=True, exist_ok=True)
    made = charts(run, args.out)
    checks, facts = evaluate(run, args)
    ok = write_verdict(run, checks, facts, made, args.out, args.title)
    for c in checks:
        sys.stdout.write(f"{'PASS' if c.ok else 'FAIL'}  {c.name}: {c.measured} (limit {c.limit})\n")
    sys.stdout.write(f"verdict: {'PASS' if ok else 'FAIL'} -> {args.out / 'verdict.md'}\n")
    return EXIT_PASS if ok else EXIT_FAIL


if __name__ == "__main__":
    if not __package__:  # run by path: make the package importable like `python -m openedx_locust.report`
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    sys.exit(main())
