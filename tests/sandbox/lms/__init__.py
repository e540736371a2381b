"""LMS stand-in: the Open edX endpoints the load test uses, spoken strictly (see app.py), for tests and the rehearsal.

Run it with ``python -m tests.sandbox.lms --port N [--tls] --users-csv F --courses ID...``, or from Python with
``StandIn`` (a subprocess, so the server never shares a GIL with the load generator under test).
"""

import json
import os
import ssl
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.helpers.process import terminate

from .app import DEFAULT_COURSES, Lms, load_users, write_users_csv

__all__ = ["DEFAULT_COURSES", "Lms", "StandIn", "load_users", "write_users_csv"]

REPO = Path(__file__).resolve().parents[3]


class StandIn:
    """Start ``python -m tests.sandbox.lms`` on a free loopback port; ``with StandIn(...) as lms: lms.url``."""

    def __init__(
        self,
        workdir: Path,
        users_csv: Path,
        *,
        courses=DEFAULT_COURSES,
        tls: bool = False,
        extra_args=(),
        cpu: int | None = None,
        programs: bool = True,
        enroll=None,
        state: Path | None = None,
    ):
        """A platform as seeding leaves it by default: programs: a program holding the courses is cached (course
        discovery on, as in example-jeddah); enroll: the courses every account starts enrolled in (default: all, as
        create_test_users --course does; () for accounts never enrolled); state: the manage.py stand-in's file."""
        self.workdir = Path(workdir)
        self.users_csv = Path(users_csv)
        self.courses = list(courses)
        self.tls = tls
        self.extra_args = list(extra_args)
        if programs:
            self.extra_args += ["--program-courses", *self.courses]
        enroll = self.courses if enroll is None else list(enroll)
        if enroll:
            self.extra_args += ["--enroll", *enroll]
        if state is not None:
            self.extra_args += ["--state", str(state)]
        self.cpu = cpu
        self.proc: subprocess.Popen | None = None
        self.url = ""
        self.port = 0
        self.cert: str | None = None

    def start(self, timeout: float = 20.0) -> "StandIn":
        self.workdir.mkdir(parents=True, exist_ok=True)
        ready = self.workdir / "lms-ready.json"
        ready.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "tests.sandbox.lms", "--port", "0", "--users-csv", str(self.users_csv), "--ready-file", str(ready)]
        cmd += ["--courses", *self.courses]
        if self.tls:
            cmd += ["--tls-cert", str(self.workdir / "tls" / "cert.pem"), "--tls-key", str(self.workdir / "tls" / "key.pem")]
        cmd += self.extra_args
        if self.cpu is not None:
            cmd = ["taskset", "-c", str(self.cpu), *cmd]
        self.log = open(self.workdir / "lms.log", "wb")
        self.proc = subprocess.Popen(cmd, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONPATH": str(REPO)})
        deadline = time.monotonic() + timeout
        while not ready.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"LMS stand-in did not start: {(self.workdir / 'lms.log').read_text()}")
            time.sleep(0.05)
        info = json.loads(ready.read_text())
        self.url, self.port, self.cert = info["url"], info["port"], info["cert"]
        return self

    def stats(self) -> dict:
        ctx = ssl._create_unverified_context() if self.tls else None
        with urllib.request.urlopen(f"{self.url}/_standin/stats", context=ctx, timeout=30) as resp:
            return json.load(resp)

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def stop(self) -> None:
        terminate(self.proc)
        if getattr(self, "log", None):
            self.log.close()

    def __enter__(self) -> "StandIn":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
