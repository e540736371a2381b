"""Helpers for the locustfile package tests (imported by conftest.py and the tests).

Locust monkey-patches the whole process with gevent on import, so everything that imports locust runs in a
subprocess; only the pure-Python modules (config, report) are imported here.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PKG_PARENT = REPO / "roles" / "locust" / "files"
LOCUSTFILE = PKG_PARENT / "openedx_locust" / "locustfile.py"
if str(PKG_PARENT) not in sys.path:
    sys.path.insert(0, str(PKG_PARENT))

from openedx_locust import routes  # noqa: E402  # pure Python: importable without Locust's monkey-patching

# Every request of the route table (login, the four flows, the unit with its static files and completion posts,
# the programs pages, the enrollment of a course the accounts are not in), as the locustfile names them.
EXPECTED_REQUESTS = {(r.method, r.name) for r in routes.ROUTES.values()}
DEMO_COURSE = "course-v1:OpenedX+DemoX+DemoCourse"
# A second course the accounts are not enrolled in: the enrollment flow enrolls there.
SECOND_COURSE = "course-v1:OpenedX+Second+2026"


def run_locust(args: list[str], timeout: float = 60, env: dict | None = None) -> subprocess.CompletedProcess:
    """Run the locust CLI of this venv on our locustfile; stdout and stderr together in .stdout."""
    full_env = {k: v for k, v in os.environ.items() if k != "OPENEDX_LOCUST_USERS_CSV"}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    cmd = [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), *args]
    return subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, timeout=timeout, cwd=REPO, env=full_env, check=False)


def run_python(code: str, timeout: float = 60) -> dict:
    """Run ``code`` in a fresh interpreter (package importable); it must print one JSON object last."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(PKG_PARENT), str(REPO)])}
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])
