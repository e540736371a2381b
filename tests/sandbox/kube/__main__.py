"""CLI of the test bed: python -m tests.sandbox.kube {build,up,down,status,env,nodes} (or testbed.sh)."""

from __future__ import annotations

import argparse
import json
import sys

from tests.sandbox.kube.build import TestbedError, build
from tests.sandbox.kube.testbed import Testbed, load_nodeset


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="testbed.sh", description="Kubernetes control-plane test bed (docs/testbed.md)")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="build (or take from the cache) the binaries into build/kube/bin")
    b.add_argument("--force", action="store_true", help="rebuild even if cached")
    u = sub.add_parser("up", help="start the control plane and register a node set")
    u.add_argument("--nodeset", default="sandbox", help="nodesets/<name>.yml or a path (default: sandbox)")
    u.add_argument("--reuse", action="store_true", help="keep a healthy running test bed, only apply the node set")
    sub.add_parser("down", help="stop every component this test bed started")
    s = sub.add_parser("status", help="health of each component; exit 1 unless all are healthy")
    s.add_argument("--json", action="store_true")
    sub.add_parser("env", help="print `export KUBECONFIG=...` for eval")
    n = sub.add_parser("nodes", help="replace the simulated nodes of a running test bed by a node set")
    n.add_argument("nodeset")
    args = parser.parse_args(argv)

    tb = Testbed()
    try:
        if args.cmd == "build":
            print(json.dumps(build(force=args.force)))
        elif args.cmd == "up":
            result = tb.up(args.nodeset, reuse=args.reuse)
            print(json.dumps(result))
            print(f"export KUBECONFIG={tb.kubeconfig}")
        elif args.cmd == "down":
            tb.down()
        elif args.cmd == "status":
            health = tb.health()
            if args.json:
                print(json.dumps({"components": health, **tb.state()}, indent=2))
            else:
                for comp, ok in health.items():
                    print(f"{comp:26} {'healthy' if ok else 'DOWN'}")
                print(f"{'nodeset':26} {tb.state().get('nodeset', '-')}")
            return 0 if all(health.values()) else 1
        elif args.cmd == "env":
            print(f"export KUBECONFIG={tb.kubeconfig}")
        elif args.cmd == "nodes":
            print("\n".join(tb.apply_nodeset(load_nodeset(args.nodeset))))
    except TestbedError as exc:
        print(f"testbed: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
