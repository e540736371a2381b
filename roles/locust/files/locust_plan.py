"""Validate the load test's users CSV and split it into one file per worker process (run on the controller).

Usage: locust_plan.py --csv F --users N --slots '{"worker1": 2, "worker2": 1}' --out DIR [--package-dir D]
Writes DIR/<host>/users-<i>.csv (i = 1..processes, the systemd instance of locust-worker@i) and prints a JSON
summary. Rows are dealt round-robin over all worker processes, so every process gets a disjoint, equal share.
The CSV rules are the locustfile's own (openedx_locust/config.py load_accounts), loaded by file path so that
nothing of Locust is needed on the controller. Errors go to stderr, prefixed with the role variable to fix.
"""

import argparse
import csv
import importlib.util
import json
import math
import os
import sys
from pathlib import Path

# The locustfile's option names in its messages, and the role variables that set them.
VARIABLES = {
    "--ramp-users": "locust_users",
    "--ramp-steps": "locust_ramp_steps",
    "--ramp-step-hold": "locust_ramp_step_hold",
    "--ramp-hold": "locust_ramp_hold",
    "--ramp-down": "locust_ramp_down",
    "--ramp-spawn-rate": "locust_ramp_spawn_rate",
    "--source-ips": "locust_worker_group",
    "--login-rate-limit-ip": "locust_login_rate_limit_ip",
    "--login-rate-limit-email": "locust_login_rate_limit_email",
}


def fail(msg: str) -> int:
    sys.stderr.write(msg + "\n")
    return 2


def load_rules(package_dir: Path):
    path = package_dir / "config.py"
    spec = importlib.util.spec_from_file_location("_openedx_locust_config", path)
    if spec is None or not path.is_file():
        raise FileNotFoundError(f"locust_package_dir: {package_dir} has no config.py (the openedx_locust package)")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


class PlanError(Exception):
    """A problem with the inputs, its message prefixed with the role variable to fix."""


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, required=True)
    ap.add_argument("--slots", required=True)
    ap.add_argument("--package-dir", required=True)
    ap.add_argument("--csv", default="")
    ap.add_argument("--out", default="")
    ap.add_argument("--require-csv", action="store_true")
    ap.add_argument("--ramp", default="{}", help="JSON: steps, step_hold, hold, ramp_down, spawn_rate, ip_rate, email_rate, limits_raised")
    args = ap.parse_args()
    try:
        print(json.dumps(plan(args)))
    except PlanError as exc:
        return fail(str(exc))
    return 0


def plan(args) -> dict:
    """The ramp plan's summary; with --csv the accounts checked and, with --out, written one file per worker process."""
    slots = json.loads(args.slots)
    try:
        rules = load_rules(Path(args.package_dir))
    except (OSError, SyntaxError) as exc:
        raise PlanError(str(exc)) from exc
    order = [(host, i) for host in slots for i in range(1, int(slots[host]) + 1)]
    if not order:
        raise PlanError("locust_worker_group: no worker processes to give accounts to")
    try:
        ramp = rules.plan_ramp(args.users, source_ips=len(slots), workers=len(order), **json.loads(args.ramp))
    except rules.ConfigError as exc:
        raise PlanError(VARIABLES.get(str(exc).split(":", 1)[0], "locust_users") + ": " + str(exc)) from exc
    summary = {"duration": ramp.duration, "spawn_rate": ramp.spawn_rate, "plan": ramp.describe(), "processes": len(order)}
    if not args.csv:
        if args.require_csv:
            raise PlanError("locust_users_csv: empty; set it to a CSV of username,email,password rows (one account per virtual user)")
        return summary
    try:
        # The stage's users CSV is the shared openedx_scale_users_csv unless the role's own option is set.
        accounts = rules.load_accounts(Path(args.csv), option="locust_users_csv (openedx_scale_users_csv)")
    except rules.ConfigError as exc:
        raise PlanError(str(exc)) from exc
    summary["accounts"] = len(accounts)
    per_process = math.ceil(args.users / len(order))
    shares = deal(args, accounts, order, per_process)
    if args.out:
        write_shares(Path(args.out), shares)
        summary.update(per_process=per_process, smallest_share=min(len(s) for s in shares.values()))
    return summary


def deal(args, accounts, order, per_process) -> dict:
    """Accounts dealt round-robin over the worker processes; refused when a process would get fewer than its
    `per_process` users."""
    shares = {slot: accounts[k :: len(order)] for k, slot in enumerate(order)}
    if min(len(s) for s in shares.values()) < per_process:
        need = per_process * len(order)
        raise PlanError(
            f"locust_users_csv: {args.csv} has {len(accounts)} accounts; {args.users} users over {len(order)} worker "
            f"processes need {per_process} distinct accounts per process, so at least {need} rows. Add accounts "
            f"(playbooks/loadtest.yml --tags seed creates them) or lower locust_users."
        )
    return shares


def write_shares(out: Path, shares: dict) -> None:
    for (host, i), share in shares.items():
        d = out / host
        d.mkdir(parents=True, exist_ok=True)
        path = d / f"users-{i}.csv"
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(["username", "email", "password"])
            w.writerows([a.username, a.email, a.password] for a in share)


if __name__ == "__main__":
    sys.exit(main())
