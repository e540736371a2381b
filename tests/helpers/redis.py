"""Debian's real redis-server loading a rendered redis.conf on loopback, queried over RESP."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.net import free_port

REDIS_SERVER = shutil.which("redis-server") or "/usr/bin/redis-server"


def _encode(*args: str) -> bytes:
    return (f"*{len(args)}\r\n" + "".join(f"${len(a.encode())}\r\n{a}\r\n" for a in args)).encode()


def command(port: int, *args: str, password: str | None = None) -> list | str | int:
    """One RESP command on a fresh connection (after AUTH when a password is given); arrays come back as lists."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        reader = sock.makefile("rb")
        if password is not None:
            sock.sendall(_encode("AUTH", password))
            if _read(reader) != "OK":
                raise RuntimeError("AUTH refused")
        sock.sendall(_encode(*args))
        return _read(reader)


def _read(reader):
    line = reader.readline().rstrip(b"\r\n")
    kind, rest = line[:1], line[1:].decode()
    if kind == b"+":
        return rest
    if kind == b"-":
        raise RuntimeError(rest)
    if kind == b":":
        return int(rest)
    if kind == b"$":
        size = int(rest)
        return None if size < 0 else reader.read(size + 2)[:-2].decode()
    if kind == b"*":
        return [_read(reader) for _item in range(int(rest))]
    raise RuntimeError(f"unexpected RESP line {line!r}")


@contextmanager
def serve(conf: str, root: Path, timeout: float = 20.0, password: str | None = None):
    """redis-server on the conf as rendered; only where it listens and writes comes from the command line.

    password: the one the conf requires (requirepass), used to see that the server is up.
    """
    conf_path = root / "redis.conf"
    conf_path.write_text(conf)
    port = free_port()
    log = root / "redis.log"
    proc = subprocess.Popen([REDIS_SERVER, str(conf_path), "--port", str(port), "--bind", "127.0.0.1",
                             "--dir", str(root), "--daemonize", "no", "--logfile", str(log)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"redis-server refused the conf (exit {proc.returncode}):\n"
                                     f"{log.read_text() if log.exists() else ''}")
            try:
                if command(port, "PING", password=password) == "PONG":
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("redis-server did not answer PING")
            time.sleep(0.1)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=20)
