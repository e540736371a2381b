"""Serve the fake AWX API until interrupted, then print what it holds.

    python -m tests.sandbox.awx --token TOKEN [--port 8052] [--project URL=DIR ...]
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from .server import FakeAWX


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.awx", description=__doc__.splitlines()[0])
    parser.add_argument("--token", required=True, help="bearer token the API accepts")
    parser.add_argument("--port", type=int, default=8052)
    parser.add_argument("--project", action="append", default=[], metavar="URL=DIR", help="serve SCM URL from a local checkout")
    args = parser.parse_args(argv)
    roots = dict(p.split("=", 1) for p in args.project)
    with FakeAWX(args.token, project_roots=roots, port=args.port) as awx:
        sys.stdout.write(f"fake AWX listening on {awx.url} (Ctrl-C to stop)\n")
        sys.stdout.flush()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            sys.stdout.write(json.dumps(awx.state.dump(), indent=2, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
