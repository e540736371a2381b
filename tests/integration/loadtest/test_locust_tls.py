"""The project's locustfile over HTTPS through a real TLS terminator: Debian's nginx on loopback in front of the
LMS stand-in (plain HTTP behind it, X-Forwarded-Proto https, as behind ingress-nginx).

Every flow must succeed over TLS 1.3 and 1.2; with an idle keep-alive shorter than the think time the users
reconnect, and nginx's access log must show them resuming their TLS sessions (the locustfile's per-user
resumption) where the stock connection pool never does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.bench_locust_tls import BEFORE_LOCUSTFILE
from tests.helpers import nginx
from tests.integration.loadtest.conftest import require
from tests.sandbox.lms import DEFAULT_COURSES, StandIn, write_users_csv
from tests.sandbox.lms.tls import ensure_self_signed

REPO = Path(__file__).resolve().parents[3]
LOCUSTFILE = REPO / "roles" / "locust" / "files" / "openedx_locust" / "locustfile.py"
USERS = 10


@pytest.fixture(scope="module")
def backend(tmp_path_factory):
    require(nginx.available(), f"{nginx.NGINX} missing: make bootstrap (tools/apt-packages.txt: nginx)")
    work = tmp_path_factory.mktemp("tls")
    users_csv = write_users_csv(work / "users.csv", 40)
    cert, key = ensure_self_signed(work / "cert.pem", work / "key.pem", ["127.0.0.1"])
    with StandIn(work / "lms", users_csv, enroll=DEFAULT_COURSES) as lms:
        yield {"lms": lms, "csv": users_csv, "cert": cert, "key": key, "work": work}


def _run(backend, locustfile: Path, protocols: str, keepalive: float, name: str) -> dict:
    lms = backend["lms"]
    edge_dir = backend["work"] / name
    with nginx.TlsTerminator(
        edge_dir, lms.url.removeprefix("http://"), backend["cert"], backend["key"], protocols=protocols, keepalive_timeout=keepalive, access_log=True
    ) as edge:
        before = lms.stats()
        env = {k: v for k, v in os.environ.items() if k != "OPENEDX_LOCUST_USERS_CSV"}
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "locust",
                "-f",
                str(locustfile),
                "--headless",
                "--host",
                edge.https_url,
                "--users-csv",
                str(backend["csv"]),
                "-u",
                str(USERS),
                "-r",
                str(USERS),
                "-t",
                "8s",
                "--think-time",
                "0.4,0.8",
                "--json-file",
                str(edge_dir / "run"),
                "--only-summary",
            ],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        after = lms.stats()
    stats = json.loads((edge_dir / "run.json").read_text())
    return {"proc": proc, "stats": stats, "log": edge.requests(), "before": before, "after": after}


@pytest.mark.parametrize("protocol", ["TLSv1.3", "TLSv1.2"])
def test_locustfile_succeeds_over_https_and_resumes_sessions(backend, protocol):
    # idle keep-alive 0.3 s < think time 0.4-0.8 s: every page view after a think time reconnects
    run = _run(backend, LOCUSTFILE, protocol, 0.3, f"ours-{protocol}")
    assert run["proc"].returncode == 0, run["proc"].stdout[-2000:] + run["proc"].stderr[-3000:]
    requests = sum(e["num_requests"] for e in run["stats"])
    assert requests > 100 and sum(e["num_failures"] for e in run["stats"]) == 0
    logins = run["after"]["logins"].get("ok", 0) - run["before"]["logins"].get("ok", 0)
    assert logins == USERS
    log = run["log"]
    assert {r["protocol"] for r in log} == {protocol}, "every request went over the TLS version nginx allows"
    # 499: nginx's word for a request the client gave up on - what stopping the run does to the requests then in
    # flight (at most one per user); Locust counted no failure.
    closed = [r for r in log if r["status"] == 499]
    assert {r["status"] for r in log} <= {200, 302, 499} and len(closed) <= USERS, sorted({r["status"] for r in log})
    connections = {r["connection"] for r in log}
    reused = {r["connection"] for r in log if r["reused"]}
    assert len(connections) > USERS, "the short idle keep-alive made the users reconnect"
    # every reconnect after a user's first connection offers its session: nearly all but the first USERS resume
    assert len(reused) >= (len(connections) - USERS) * 0.9, (len(reused), len(connections))
    assert max(r["nth"] for r in log) > 1, "requests within a page view share one keep-alive connection"


def test_stock_connection_pool_never_resumes(backend):
    """The defect (d) fixes: the same run on geventhttpclient's stock pool does a full handshake on every reconnect."""
    before = backend["work"] / "before_locustfile.py"
    before.write_text(BEFORE_LOCUSTFILE)
    run = _run(backend, before, "TLSv1.3", 0.3, "stock")
    assert run["proc"].returncode == 0, run["proc"].stdout[-2000:] + run["proc"].stderr[-3000:]
    connections = {r["connection"] for r in run["log"]}
    assert len(connections) > USERS
    assert not any(r["reused"] for r in run["log"])
