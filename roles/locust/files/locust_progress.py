"""Progress of the running Locust master, as one JSON line (runs on the master; standard library only).

Waits up to --wait seconds (returning early when the master stops), then reports the unit's state, the latest
aggregated row of <run dir>/run_stats_history.csv and how many workers hold a connection to the master's port.
"""

import argparse
import csv
import json
import subprocess
import sys
import time
from pathlib import Path

UNIT = "locust-master.service"


def unit_state() -> dict:
    out = subprocess.run(
        ["systemctl", "show", UNIT, "-p", "ActiveState", "-p", "ExecMainStatus", "-p", "ActiveEnterTimestampMonotonic", "-p", "ExecMainStartTimestamp"],
        capture_output=True, text=True, check=False,
    ).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def workers_connected(port: int) -> int:
    """Established TCP connections to the master's port (one ZeroMQ connection per worker process)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            rows = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for row in rows:
            fields = row.split()
            if int(fields[1].rsplit(":", 1)[1], 16) == port and fields[3] == "01":
                count += 1
    return count


def latest_row(run_dir: Path) -> dict:
    path = run_dir / "run_stats_history.csv"
    if not path.is_file():
        return {}
    last = {}
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            if row.get("Name") == "Aggregated":
                last = row
    return last


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run-dir", required=True, type=Path)
    ap.add_argument("--wait", type=float, default=0)
    ap.add_argument("--port", type=int, default=5557)
    args = ap.parse_args()
    deadline = time.monotonic() + args.wait
    state = unit_state()
    while time.monotonic() < deadline and state.get("ActiveState") in ("active", "activating"):
        time.sleep(min(1.0, max(0.0, deadline - time.monotonic())))
        state = unit_state()
    active = state.get("ActiveState") in ("active", "activating", "deactivating")
    started_mono = int(state.get("ActiveEnterTimestampMonotonic") or 0) / 1e6
    elapsed = int(time.monotonic() - started_mono) if started_mono else 0
    row = latest_row(args.run_dir)
    requests = int(float(row.get("Total Request Count") or 0))
    failures = int(float(row.get("Total Failure Count") or 0))
    print(json.dumps({
        "active": active,
        "state": state.get("ActiveState", "unknown"),
        "exit_status": state.get("ExecMainStatus"),
        "started": int(time.time() - elapsed),
        "elapsed": elapsed,
        "users": int(float(row.get("User Count") or 0)),
        "rps": round(float(row.get("Requests/s") or 0), 1),
        "requests": requests,
        "failures": failures,
        "failure_percent": round(100.0 * failures / requests, 2) if requests else 0.0,
        "workers": workers_connected(args.port) if active else 0,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
