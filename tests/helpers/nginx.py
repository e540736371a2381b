"""Debian's real nginx as the TLS terminator on loopback in front of a plain-HTTP backend (the LMS stand-in).

The edge the load test meets in production is ingress-nginx: TLS (1.3 and 1.2) and client keep-alive at nginx,
HTTP to the application behind it. ``TlsTerminator`` runs that edge unprivileged on free loopback ports: one
HTTPS listener (protocols, session resumption and idle keep-alive as asked) and one plain-HTTP listener with the
same proxying, so a bench can put TLS and plain HTTP side by side through the same server.
"""

from __future__ import annotations

import resource
import shutil
import socket
import subprocess
import time
from pathlib import Path

from tests.helpers.net import free_port
from tests.helpers.process import terminate

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"

CONF = """\
daemon off;
master_process on;
worker_processes {workers};
pid {dir}/nginx.pid;
error_log {dir}/error.log warn;
worker_rlimit_nofile {nofile};
events {{ worker_connections 65536; multi_accept on; }}
http {{
  log_format tls '$msec $ssl_protocol $ssl_session_reused $connection $connection_requests $status';
  access_log {access_log};
  client_body_temp_path {dir}/body;
  proxy_temp_path {dir}/proxy;
  fastcgi_temp_path {dir}/fastcgi;
  uwsgi_temp_path {dir}/uwsgi;
  scgi_temp_path {dir}/scgi;
  # the ingress's client side: keep-alive per client connection (ingress-nginx keep-alive / keep-alive-requests)
  keepalive_timeout {keepalive_ms}ms;
  keepalive_requests 5000;
  large_client_header_buffers 8 16k;
  proxy_buffer_size 128k;
  proxy_buffers 4 256k;
  upstream lms {{ server {backend}; keepalive 512; keepalive_requests 10000; }}
  server {{
    listen 127.0.0.1:{https_port} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_protocols {protocols};
    ssl_prefer_server_ciphers off;
    {resumption}
    location / {{
      proxy_pass http://lms;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto https;
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
  server {{
    listen 127.0.0.1:{http_port};
    location / {{
      proxy_pass http://lms;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
}}
"""

RESUMPTION_ON = "ssl_session_cache shared:tls:20m; ssl_session_timeout 1h; ssl_session_tickets on;"
RESUMPTION_OFF = "ssl_session_cache off; ssl_session_tickets off;"


def available() -> bool:
    return Path(NGINX).is_file()


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class TlsTerminator:
    """``with TlsTerminator(dir, "127.0.0.1:8000", cert, key) as edge: edge.https_url, edge.http_url``.

    ``protocols`` is nginx's ssl_protocols ("TLSv1.3", "TLSv1.2" or both); ``resumption`` turns the session
    cache and tickets on or off; ``keepalive_timeout`` is the idle client keep-alive in seconds (a short one makes
    every page view after a think time open a new connection, the case where resumption matters). With
    ``access_log`` each request is logged as "time protocol reused(r/.) connection requests-on-it status" (``requests()``).
    """

    def __init__(self, workdir: Path, backend: str, cert: Path, key: Path, *, protocols: str = "TLSv1.2 TLSv1.3",
                 resumption: bool = True, keepalive_timeout: float = 75, workers: int = 1, access_log: bool = False):
        self.workdir = Path(workdir)
        self.backend = backend
        self.cert, self.key = Path(cert), Path(key)
        self.protocols = protocols
        self.resumption = resumption
        self.keepalive_timeout = keepalive_timeout
        self.workers = workers
        self.access_log = access_log
        self.proc: subprocess.Popen | None = None
        self.https_port = self.http_port = 0

    @property
    def https_url(self) -> str:
        return f"https://127.0.0.1:{self.https_port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pids(self) -> list[int]:
        """The master and its worker processes (CPU of the terminator = their sum)."""
        import psutil

        assert self.proc is not None
        master = psutil.Process(self.proc.pid)
        return [master.pid, *(c.pid for c in master.children())]

    def start(self, timeout: float = 15.0) -> TlsTerminator:
        if not available():
            raise RuntimeError(f"{NGINX} not found: install Debian's nginx (tools/apt-packages.txt)")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.https_port, self.http_port = free_port(), free_port()
        conf = self.workdir / "nginx.conf"
        conf.write_text(CONF.format(
            dir=self.workdir, workers=self.workers, nofile=resource.getrlimit(resource.RLIMIT_NOFILE)[1], backend=self.backend, cert=self.cert, key=self.key,
            https_port=self.https_port, http_port=self.http_port, protocols=self.protocols,
            resumption=RESUMPTION_ON if self.resumption else RESUMPTION_OFF, keepalive_ms=round(self.keepalive_timeout * 1000),
            access_log=f"{self.workdir}/access.log tls" if self.access_log else "off",
        ))
        check = subprocess.run([NGINX, "-t", "-p", str(self.workdir), "-c", str(conf)], capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t rejected {conf}: {check.stderr}")
        self.log = open(self.workdir / "nginx.out", "wb")
        self.proc = subprocess.Popen([NGINX, "-p", str(self.workdir), "-c", str(conf)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while not (_listening(self.https_port) and _listening(self.http_port)):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"nginx did not start: {(self.workdir / 'error.log').read_text(errors='replace')}")
            time.sleep(0.05)
        return self

    def requests(self) -> list[dict]:
        """The access log's requests (``access_log=True``): time, TLS protocol, session reused, connection, its n-th request."""
        rows = []
        for line in (self.workdir / "access.log").read_text().splitlines():
            at, protocol, reused, conn, nth, status = line.split()
            rows.append({"at": float(at), "protocol": protocol, "reused": reused == "r", "connection": int(conn), "nth": int(nth),
                         "status": int(status)})
        return rows

    def stop(self) -> None:
        terminate(self.proc)  # SIGTERM: nginx's fast shutdown of master and workers
        if getattr(self, "log", None):
            self.log.close()

    def __enter__(self) -> TlsTerminator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
