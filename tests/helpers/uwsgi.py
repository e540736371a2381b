"""The real uWSGI (PyPI `uwsgi`, the .venv's) serving a rendered Tutor ini on loopback.

Only two lines of the rendered ini change: the HTTP router binds 127.0.0.1:<free port> instead of 0.0.0.0:8000,
and the static maps point into the run directory. `wsgi-file = $(SERVICE_VARIANT)/wsgi.py` loads a trivial app
in place of Open edX that reports what uWSGI itself parsed (`uwsgi.opt`, `uwsgi.numproc`).
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

from tests.helpers.net import free_port

# Installed next to the test interpreter (requirements-dev.txt), like tutor and kubectl.
UWSGI = Path(sys.executable).parent / "uwsgi"

# Sleeps when asked (?sleep=0.2) so a burst really occupies the worker slots; answers with uWSGI's own view.
APP = '''
import json, time, uwsgi
from urllib.parse import parse_qs

def _text(value):
    if isinstance(value, list):
        return [_text(v) for v in value]
    return value.decode() if isinstance(value, bytes) else value

def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    if "sleep" in query:
        time.sleep(float(query["sleep"][0]))
    body = environ["wsgi.input"].read()
    report = {
        "numproc": uwsgi.numproc,
        "opt": {k: _text(v) for k, v in uwsgi.opt.items() if k in (
            "threads", "processes", "workers", "listen", "buffer-size", "post-buffering",
            "post-buffering-bufsize", "harakiri", "http-keepalive")},
        "body": len(body),
    }
    payload = json.dumps(report).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
    return [payload]
'''


def loopback_ini(ini: str, port: int, root: Path) -> str:
    """The rendered ini with the router on loopback and the static maps under `root`."""
    out, bound = [], False
    for line in ini.splitlines():
        key = line.split("=", 1)[0].strip()
        if key == "http":
            out.append(f"http = 127.0.0.1:{port}")
            bound = True
        elif key == "static-map":
            mount = line.split("=", 1)[1].strip().split("=", 1)[0]
            out.append(f"static-map = {mount}={root / 'static'}")
        else:
            out.append(line)
    assert bound, "the rendered ini has no `http =` line (Tutor's HTTP router)"
    return "\n".join(out) + "\n"


@contextmanager
def serve(ini: str, env: dict, root: Path, timeout: float = 60.0):
    """Start uWSGI on the ini with the Deployment's environment; yield (port, log path); stop it."""
    port = free_port()
    variant = env["SERVICE_VARIANT"]
    (root / variant).mkdir(parents=True, exist_ok=True)
    (root / "static").mkdir(exist_ok=True)
    (root / variant / "wsgi.py").write_text(APP)
    ini_path = root / "uwsgi.ini"
    ini_path.write_text(loopback_ini(ini, port, root))
    log = root / "uwsgi.log"
    # Only the Deployment's variables and a PATH: no UWSGI_* from the test's own environment leaks in.
    proc_env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **{k: str(v) for k, v in env.items()}}
    with open(log, "wb") as sink:
        proc = subprocess.Popen([str(UWSGI), "--ini", str(ini_path)], cwd=root, env=proc_env,
                                stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + timeout
        want = int(env["UWSGI_WORKERS"])
        while time.monotonic() < deadline:
            text = log.read_text(errors="replace")
            if proc.poll() is not None:
                raise AssertionError(f"uWSGI exited with {proc.returncode}:\n{text[-4000:]}")
            if len(re.findall(r"spawned uWSGI worker \d+", text)) >= want and "spawned uWSGI http" in text:
                break
            time.sleep(0.2)
        else:
            raise AssertionError(f"uWSGI did not spawn {want} workers in {timeout} s:\n{log.read_text()[-4000:]}")
        yield port, log
    finally:
        proc.terminate()  # die-on-term: SIGTERM stops the master and its workers
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def request(port: int, path: str = "/", header_bytes: int = 0, body: bytes = b"", timeout: float = 30.0):
    """One HTTP/1.1 request on a fresh connection; returns (status or None if closed without one, body)."""
    filler = f"X-Filler: {'a' * header_bytes}\r\n" if header_bytes else ""
    head = (f"{'POST' if body else 'GET'} {path} HTTP/1.1\r\nHost: lms.test\r\n{filler}"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(head + body)
        chunks = []
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        return None, b""
    status = int(raw.split(b" ", 2)[1])
    return status, raw.split(b"\r\n\r\n", 1)[-1]


def report(port: int) -> dict:
    status, body = request(port)
    assert status == 200, f"uWSGI answered {status}"
    return json.loads(body)


def listen_backlog(port: int) -> int:
    """The kernel's backlog for the listening socket on 127.0.0.1:port (ss's Send-Q column)."""
    out = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()]
    assert rows, f"nothing listens on 127.0.0.1:{port}"
    return int(rows[0][2])
