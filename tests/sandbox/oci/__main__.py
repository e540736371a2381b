"""python -m tests.sandbox.oci {serve,validate,list,state,advance} -- see docs/sandbox-oci.md."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import urllib.request
from pathlib import Path

from .scenario import ScenarioError, load, shipped
from .server import SandboxServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.oci", description="OCI API sandbox")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve a scenario until SIGINT/SIGTERM")
    serve.add_argument("--scenario", default="ample", help="shipped scenario name or path to a YAML file")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (see DIR/endpoint)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--state-dir", required=True, type=Path, help="config, key, endpoint and state.json go here")
    serve.add_argument("--clock", choices=("real", "fast"), help="override the scenario's clock mode")
    serve.add_argument("--verbose", action="store_true", help="log every request to stderr")
    validate = sub.add_parser("validate", help="check scenario files and exit")
    validate.add_argument("scenarios", nargs="*", help="names or paths (default: every shipped scenario)")
    sub.add_parser("list", help="list shipped scenarios")
    state = sub.add_parser("state", help="print the state dump of a running sandbox (JSON)")
    state.add_argument("--state-dir", required=True, type=Path)
    state.add_argument("--summary", action="store_true", help="only clock, live counts, capacity and call counters")
    advance = sub.add_parser("advance", help="move a running sandbox's clock forward")
    advance.add_argument("--state-dir", required=True, type=Path)
    advance.add_argument("seconds", type=float)
    args = parser.parse_args(argv)

    if args.command in ("state", "advance"):
        return _control(args)

    if args.command == "list":
        for name in shipped():
            sys.stdout.write(f"{name}: {load(name).description.strip().splitlines()[0] if load(name).description else ''}\n")
        return 0
    if args.command == "validate":
        failed = 0
        for name in args.scenarios or shipped():
            try:
                load(name)
                sys.stdout.write(f"ok   {name}\n")
            except ScenarioError as exc:
                failed += 1
                sys.stdout.write(f"FAIL {exc}\n")
        return 1 if failed else 0

    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, format="%(asctime)s %(message)s")
    try:
        scenario = load(args.scenario)
    except ScenarioError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return 2
    server = SandboxServer(scenario, args.state_dir, host=args.host, port=args.port, clock_mode=args.clock)
    server.write_files()

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    sys.stdout.write(f"{server.url}\n")
    sys.stdout.flush()
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.dump_state()
        server.server_close()
    return 0


def _control(args) -> int:
    """Talk to the sandbox serving args.state_dir through its control endpoints."""
    endpoint = args.state_dir / "endpoint"
    if not endpoint.exists():
        sys.stderr.write(f"error: no sandbox serves {args.state_dir} ({endpoint} is missing; start one with `serve --state-dir`)\n")
        return 2
    url = endpoint.read_text(encoding="utf-8").strip()
    if args.command == "advance":
        request = urllib.request.Request(f"{url}/_sandbox/clock/advance?seconds={args.seconds}", data=b"", method="POST")
    else:
        request = urllib.request.Request(f"{url}/_sandbox/state")
    with urllib.request.urlopen(request, timeout=30) as response:
        body = json.load(response)
    if args.command == "state" and args.summary:
        body = {
            "scenario": body["scenario"],
            "clock": body["clock"],
            "live_counts": body["live_counts"],
            "capacity": [{k: p[k] for k in ("fault_domain", "shape", "free_ocpus", "initial_ocpus", "failures")} for p in body["capacity"]],
            "calls": body["counters"]["by_operation_status"],
        }
    sys.stdout.write(json.dumps(body, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
