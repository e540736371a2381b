"""`podman run` as ansible-runner calls it for an AWX job, without an image: the command runs on this host in a private
mount namespace (`unshare --mount`) where the `-v` volumes are bound at their container paths (/runner is the job's
private data dir), with the environment the --env-file and -e options give and the execution environment's content
taken from this checkout: ansible-core and the Python packages from .venv (--ee-bin), the collection and its
dependencies from build/collections (--ee-collections, at the EE's /usr/share/ansible/collections).

Options taken from ansible-runner 2.4's wrap_args_for_containerization and AWX 24.6.1's
build_execution_environment_params; network, IPC, user and pull options have no effect here (one host, root).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

# Options that take a value (`--opt value` or `--opt=value`) and flags, as ansible-runner and AWX pass them.
VALUED = {"--workdir", "-w", "-v", "--volume", "--env-file", "-e", "--env", "--name", "--network", "--pull", "--user",
          "-u", "--group-add", "--ipc", "--authfile", "--security-opt", "--cap-add", "--device", "--userns"}
FLAGS = {"--rm", "--tty", "-t", "--interactive", "-i", "--quiet", "-q", "--privileged", "--init"}
EE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def parse_run(args: list[str]) -> dict:
    spec = {"workdir": "/", "volumes": [], "env_files": [], "env": [], "name": None}
    i = 0
    while i < len(args):
        arg = args[i]
        opt, eq, value = arg.partition("=")
        if arg in FLAGS:
            i += 1
            continue
        if opt in VALUED:
            if not eq:
                value = args[i + 1]
                i += 1
            i += 1
            if opt in ("--workdir", "-w"):
                spec["workdir"] = value
            elif opt in ("-v", "--volume"):
                spec["volumes"].append(value)
            elif opt == "--env-file":
                spec["env_files"].append(value)
            elif opt in ("-e", "--env"):
                spec["env"].append(value)
            elif opt == "--name":
                spec["name"] = value
            continue
        if arg.startswith("-"):
            raise SystemExit(f"podman stand-in: unsupported option {arg!r} (add it from the caller's source)")
        spec["image"], spec["command"] = arg, args[i + 1:]
        return spec
    raise SystemExit("podman stand-in: `run` without an image")


def container_env(spec: dict, ee_bin: str) -> dict[str, str]:
    """podman's rules: `KEY` takes the caller's value (absent: skipped), `KEY=value` sets it; -e after --env-file."""
    env = {"PATH": f"{ee_bin}:{EE_PATH}", "HOME": "/runner", "LANG": "C.UTF-8", "container": "podman"}
    lines = []
    for path in spec["env_files"]:
        with open(path) as fh:
            lines += [ln.rstrip("\n") for ln in fh if ln.strip() and not ln.startswith("#")]
    for line in lines + spec["env"]:
        key, eq, value = line.partition("=")
        if eq:
            env[key] = value
        elif key in os.environ:
            env[key] = os.environ[key]
    return env


def main(argv: list[str]) -> int:
    opts = {}
    while argv and argv[0] in ("--ee-bin", "--ee-collections", "--log"):
        opts[argv[0][2:]] = argv[1]
        argv = argv[2:]
    if not argv:
        raise SystemExit("podman stand-in: no command")
    if argv[0] == "--inner":
        return inner(json.loads(argv[1]))
    with open(opts["log"], "a") as log:
        log.write(f"{time.strftime('%H:%M:%S')} podman {json.dumps(argv)}\n")
    if argv[0] == "--version":  # ansible-runner's check_isolation_executable_installed
        print("podman version 4.9.4 (stand-in: tests/sandbox/podman)")
        return 0
    if argv[0] in ("rm", "kill", "stop"):
        return 0  # `run --rm` leaves no container behind to remove or stop
    if argv[0] != "run":
        raise SystemExit(f"podman stand-in: only `run` is supported (got {argv[0]!r})")
    spec = parse_run(argv[1:])
    mounts = []
    for vol in spec["volumes"]:
        src, dst, *mode = vol.split(":")
        if os.path.exists(src):
            mounts.append((os.path.realpath(src), dst, "ro" in mode or "O" in mode))
    mounts.append((os.path.join(opts["ee-collections"], "ansible_collections"), "/usr/share/ansible/collections/ansible_collections", True))
    payload = {"mounts": mounts, "workdir": spec["workdir"], "env": container_env(spec, opts["ee-bin"]), "command": spec["command"]}
    cmd = ["unshare", "--mount", "--propagation", "private", "--", sys.executable, os.path.abspath(__file__), "--inner", json.dumps(payload)]
    os.execvp(cmd[0], cmd)
    return 1


def inner(payload: dict) -> int:
    # Longest container path last, so /runner/artifacts is bound over /runner and not hidden by it.
    for src, dst, readonly in sorted(payload["mounts"], key=lambda m: m[1].rstrip("/").count("/")):
        os.makedirs(dst, exist_ok=True)
        subprocess.run(["mount", "--rbind", src, dst], check=True)
        if readonly:
            subprocess.run(["mount", "-o", "remount,bind,ro", dst], check=True)
    os.chdir(payload["workdir"])
    command = payload["command"]
    os.execvpe(command[0], command, payload["env"])
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
