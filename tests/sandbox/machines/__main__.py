"""Command line: python -m tests.sandbox.machines {up,down,list,inventory,ssh} ..."""

from __future__ import annotations

import argparse
import json
import sys

import yaml

from tests.sandbox.machines.core import MachineError, Machines


def _groups(specs: list[str]) -> dict[str, list[str]]:
    out = {}
    for spec in specs:
        group, sep, members = spec.partition("=")
        if not sep or not group or not members:
            raise MachineError(f"--group {spec!r}: use GROUP=name1,name2")
        out[group] = [m for m in members.split(",") if m]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m tests.sandbox.machines", description="systemd-nspawn machines standing in for VMs")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p_up = sub.add_parser("up", help="boot machines (idempotent); prints name and IP of each")
    p_up.add_argument("names", nargs="+")
    p_up.add_argument("--cpus", type=int, help="CPUs each machine may use (pinned; default: all of the host's)")
    p_up.add_argument("--timeout", type=float, default=90.0)
    p_down = sub.add_parser("down", help="power off and remove machines")
    p_down.add_argument("names", nargs="*")
    p_down.add_argument("--all", action="store_true")
    sub.add_parser("list", help="machines with IP, CPUs and state")
    p_inv = sub.add_parser("inventory", help="Ansible inventory (YAML) of the running machines")
    p_inv.add_argument("--group", action="append", default=[], metavar="GROUP=a,b", help="also put these machines in GROUP")
    sub.add_parser("rootfs", help="build the cached root fs now")
    p_net = sub.add_parser("network", help="this set's bridge, /24 and host address (JSON); --ensure creates the bridge")
    p_net.add_argument("--ensure", action="store_true")
    p_ssh = sub.add_parser("ssh", help="run a command on a machine over SSH")
    p_ssh.add_argument("name")
    p_ssh.add_argument("command", nargs=argparse.REMAINDER)
    args = ap.parse_args(argv)
    mgr = Machines()
    try:
        if args.cmd == "up":
            for m in mgr.up(args.names, cpus=args.cpus, timeout=args.timeout, log=lambda s: print(s, file=sys.stderr)):
                print(f"{m.name} {m.ip}")
        elif args.cmd == "down":
            if not args.names and not args.all:
                ap.error("down: name machines or pass --all")
            for name in mgr.down(None if args.all else args.names):
                print(f"removed {name}")
        elif args.cmd == "list":
            for m in mgr.list():
                print(f"{m.name:20} {m.ip:15} cpus={m.cpus} pid={m.pid} {m.state}")
        elif args.cmd == "inventory":
            print(yaml.safe_dump(mgr.inventory(_groups(args.group)), sort_keys=False), end="")
        elif args.cmd == "network":
            print(json.dumps(mgr.ensure_network() if args.ensure else mgr.network()))
        elif args.cmd == "rootfs":
            print(mgr.ensure_rootfs(log=lambda s: print(s, file=sys.stderr)))
        elif args.cmd == "ssh":
            m = mgr.get(args.name)
            if not m:
                raise MachineError(f"no machine named {args.name}")
            res = mgr.ssh(m, *args.command)
            sys.stdout.write(res.stdout)
            sys.stderr.write(res.stderr)
            return res.returncode
    except MachineError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
