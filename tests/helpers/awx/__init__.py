"""The real AWX 24.6.1, from its source, without containers: API, dispatcher, callback receiver, receptor.

`build()` (started early by `make test --prebuild`, tests/helpers/prebuild.py) makes, under one cache lock in
AWX_FIXTURE_CACHE (default ~/.cache/openedx-scale-awx), keyed by what goes in:
- AWX's own venv (Python 3.11, as AWX requires) with its pinned requirements from PyPI: the git requirements replaced
  by their PyPI releases (GIT_REPLACEMENTS), installed with --no-build-isolation (AWX and some builds import
  pkg_resources), then AWX itself from ../shared/vendor/awx (or AWX_SOURCE_TARBALL) in release mode (no devonly.py);
- receptor built from its Go module at RECEPTOR_VERSION (a tiny module requires it: the proxy lists no versions);
- a dump of the migrated database with the default instance, queues, execution environments and admin user
  (`awx-manage migrate` takes minutes; restoring the dump takes seconds).
`build-times.json` records what each part cost cold.

`RealAWX` (a context manager) starts a private PostgreSQL 15 cluster on a Unix socket, restores the dump, starts Redis
on a Unix socket, receptor (its config at /etc/receptor/receptor.conf, the path AWX reads, held under a host-wide
lock), the API (`awx-manage runserver` on a free loopback port), the dispatcher and the callback receiver, and makes
an OAuth2 token for the admin. Jobs run through receptor's `local` work type (`ansible-runner worker`), which starts
the job's container with the `podman` stand-in of tests/sandbox/podman (the EE image cannot be pulled here).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers.go import build_lock, go_binary, module_build_env
from tests.helpers.net import free_port
from tests.helpers.process import terminate

REPO = Path(__file__).resolve().parents[3]
HERE = Path(__file__).resolve().parent
VERSION = "24.6.1"
TARBALL_SHA256 = "96872d3ef4c319a771fe9ee8547357c3ba8bbabef05b203bbf5d6d48704de38e"
# requirements_git.txt points at branches; these are the PyPI releases of the same projects AWX 24.6.1 ran with.
# django-ansible-base 2024.12.4 needs django 4.2.16 and sqlparse 0.5.0 (AWX pins 4.2.10 and 0.4.4).
GIT_REPLACEMENTS = [
    "ansible-runner==2.4.0",
    "python3-saml==1.16.0",
    "certifi==2024.8.30",
    "django-ansible-base[rest_filters,jwt_consumer,resource_registry,rbac]==2024.12.4",
]
PIN_OVERRIDES = {"django": "4.2.16", "sqlparse": "0.5.0"}
# Build-time requirements installed first, at AWX's pins: with --no-build-isolation every build finds them
# (xmlsec's setup imports lxml; pip and setuptools stay at versions that still ship pkg_resources).
BUILD_FIRST = ["pip==24.0", "setuptools==69.0.2", "wheel==0.42.0", "cython==0.29.37", "setuptools-scm==8.0.4",
               "pkgconfig==1.5.5", "setuptools-rust==1.8.1", "maturin==1.5.0", "lxml==4.9.4"]
RECEPTOR_MODULE = "github.com/ansible/receptor"
RECEPTOR_VERSION = "v1.4.4"
PG_BIN = Path(os.environ.get("AWX_FIXTURE_PG_BIN", "/usr/lib/postgresql/15/bin"))
# CLUSTER_HOST_ID and the receptor node id: the same name makes AWX submit its jobs to receptor's `local` work type.
NODE = "awx-fixture"
ADMIN = "admin"
# /etc/receptor/receptor.conf is one per host: one AWX fixture at a time holds it.
HOST_LOCK = Path("/tmp/osm-awx.lock")
RECEPTOR_CONF = Path("/etc/receptor/receptor.conf")


class AWXFixtureError(RuntimeError):
    """AWX could not be built or started; the message names the command and its output."""


def cache_dir() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "openedx-scale-awx"
    return Path(os.environ.get("AWX_FIXTURE_CACHE", default)).resolve()


def source_tarball() -> Path:
    return Path(os.environ.get("AWX_SOURCE_TARBALL", REPO.parent / "shared" / "vendor" / "awx" / f"awx-{VERSION}-src.tar.gz"))


def python311() -> str:
    found = os.environ.get("AWX_PYTHON") or shutil.which("python3.11")
    if not found:
        raise AWXFixtureError("AWX 24.6.1 needs Python 3.11: install it (Debian 12's python3) or set AWX_PYTHON")
    return found


def _run(cmd: list[str], log: Path | None = None, **kw) -> str:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, check=False, **kw)
    if log is not None:
        with log.open("a") as fh:
            fh.write(f"$ {' '.join(map(str, cmd))}\n{proc.stdout}{proc.stderr}\n")
    if proc.returncode != 0:
        raise AWXFixtureError(f"{' '.join(map(str, cmd))} failed (rc={proc.returncode}):\n{(proc.stdout + proc.stderr)[-4000:]}")
    return proc.stdout


def _requirements(src: Path) -> str:
    lines = []
    for line in (src / "requirements" / "requirements.txt").read_text().splitlines():
        name = line.split("==")[0].split("[")[0].strip().lower()
        if not line.strip() or line.lstrip().startswith("#") or name in ("pip", "setuptools"):
            continue
        lines.append(f"{name}=={PIN_OVERRIDES[name]}" if name in PIN_OVERRIDES else line.split("#")[0].strip())
    return "\n".join(lines + GIT_REPLACEMENTS) + "\n"


def _key() -> str:
    """What the venv and the database dump depend on: the AWX source, the Python, the requirement changes."""
    parts = [TARBALL_SHA256, _run([python311(), "-c", "import sys; print(sys.version)"]).strip(), *GIT_REPLACEMENTS,
             json.dumps(PIN_OVERRIDES), *BUILD_FIRST]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]


def _build_venv(root: Path, log: Path) -> None:
    tarball = source_tarball()
    if not tarball.is_file():
        raise AWXFixtureError(f"AWX source not found at {tarball}: set AWX_SOURCE_TARBALL to awx-{VERSION}-src.tar.gz")
    digest = hashlib.sha256(tarball.read_bytes()).hexdigest()
    if digest != TARBALL_SHA256:
        raise AWXFixtureError(f"{tarball}: sha256 {digest}, expected {TARBALL_SHA256} (AWX {VERSION})")
    # Built in place (a venv's scripts name their interpreter by absolute path); `.complete` is written last.
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    with tarfile.open(tarball) as tar:
        tar.extractall(root / "src-tmp", filter="data")
    (src,) = (root / "src-tmp").iterdir()
    # AWX's Makefile writes VERSION before building; without git, setuptools-scm has nothing else to read.
    (src / "VERSION").write_text(VERSION + "\n")
    (root / "requirements.txt").write_text(_requirements(src))
    _run([python311(), "-m", "venv", root / "venv"], log)
    pip = [root / "venv" / "bin" / "python", "-m", "pip", "--disable-pip-version-check"]
    _run([*pip, "install", "-q", *BUILD_FIRST], log)
    _run([*pip, "install", "-q", "--no-build-isolation", "-r", root / "requirements.txt"], log)
    _run([*pip, "install", "-q", "--no-build-isolation", "--no-deps", src], log)
    site = Path(_run([root / "venv" / "bin" / "python", "-c", "import awx, os; print(os.path.dirname(awx.__file__))"]).strip())
    (site / "devonly.py").unlink(missing_ok=True)  # release mode: awx/__init__.py picks settings/production.py
    shutil.rmtree(root / "src-tmp")
    (root / ".complete").write_text(VERSION + "\n")


def _build_receptor(cache: Path, log: Path) -> Path:
    binary = cache / f"receptor-{RECEPTOR_VERSION}" / "receptor"
    if binary.is_file():
        return binary
    mod = binary.parent / "mod"
    mod.mkdir(parents=True, exist_ok=True)
    (mod / "go.mod").write_text(f"module openedxscale.local/receptorbuild\n\ngo 1.21\n\nrequire {RECEPTOR_MODULE} {RECEPTOR_VERSION}\n")
    (mod / "tools.go").write_text(f'//go:build tools\n\npackage tools\n\nimport _ "{RECEPTOR_MODULE}/cmd/receptor-cl"\n')
    env = module_build_env(cache)
    env["GOFLAGS"] = "-buildvcs=false"  # go mod tidy writes this module's go.sum
    go = go_binary()
    _run([go, "mod", "tidy"], log, cwd=mod, env=env)
    _run([go, "build", "-trimpath", "-ldflags", f"-X {RECEPTOR_MODULE}/internal/version.Version={RECEPTOR_VERSION.lstrip('v')}",
          "-o", binary.with_suffix(".tmp"), f"{RECEPTOR_MODULE}/cmd/receptor-cl"], log, cwd=mod, env=env)
    binary.with_suffix(".tmp").rename(binary)
    return binary


def _awx_env(venv: Path, run: Path, pg_port: int, secret: str) -> dict[str, str]:
    for sub in ("projects", "job_status", "static", "jobs", "log"):
        (run / sub).mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("VIRTUAL_ENV", "PYTHON", "DJANGO", "ANSIBLE_"))}
    env.update(
        PATH=f"{venv / 'bin'}:{env.get('PATH', '/usr/bin:/bin')}",
        AWX_SETTINGS_FILE=str(HERE / "settings.py"),
        AWX_SETTINGS_DIR=str(run / "conf.d"),
        AWX_FIXTURE_RUN=str(run),
        AWX_FIXTURE_PG_PORT=str(pg_port),
        AWX_FIXTURE_SECRET_KEY=secret,
        AWX_FIXTURE_NODE=NODE,
    )
    return env


class _Cluster:
    """A private PostgreSQL 15 cluster owned by the `postgres` user (initdb refuses root), on a Unix socket only."""

    def __init__(self, run: Path):
        self.run, self.data, self.port = run, run / "pg", free_port()

    def _as_postgres(self, cmd: list) -> list:
        return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd

    def start(self, log: Path) -> None:
        for path in (self.run, self.run / "log"):
            path.mkdir(parents=True, exist_ok=True)
            os.chmod(path, 0o777)
        self.data.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        _run(self._as_postgres([PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "-A", "trust", "-E", "UTF8", "--no-locale"]), log)
        # A throwaway test database: durability settings off (faster migrate and restore).
        opts = f"-p {self.port} -k {self.run} -c listen_addresses='' -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        _run(self._as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "-l", self.run / "log" / "postgresql.log", "-o", opts, "-w", "start"]), log)
        self.psql("create role awx login superuser", "create database awx owner awx")

    def psql(self, *sql: str) -> str:
        args = [PG_BIN / "psql", "-h", self.run, "-p", self.port, "-U", "postgres", "-v", "ON_ERROR_STOP=1", "-qAt"]
        for stmt in sql:
            args += ["-c", stmt]
        return _run(args)

    def stop(self) -> None:
        if (self.data / "postmaster.pid").exists():
            subprocess.run(self._as_postgres([PG_BIN / "pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop"]),
                           capture_output=True, check=False)


def _start_redis(run: Path) -> subprocess.Popen:
    proc = subprocess.Popen(["redis-server", "--port", "0", "--unixsocket", str(run / "redis.sock"), "--unixsocketperm", "700",
                             "--save", "", "--appendonly", "no", "--logfile", str(run / "log" / "redis.log")],
                            start_new_session=True)
    _wait((run / "redis.sock").exists, 20, "redis-server socket", proc)
    return proc


def _wait(ready, timeout: float, what: str, proc: subprocess.Popen | None = None, log: Path | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-3000:] if log and log.exists() else ""
            raise AWXFixtureError(f"{what}: the process exited (rc={proc.returncode})\n{tail}")
        with contextlib.suppress(Exception):
            if ready():
                return
        time.sleep(0.5)
    tail = log.read_text()[-3000:] if log and log.exists() else ""
    raise AWXFixtureError(f"{what} not ready after {timeout:.0f}s\n{tail}")


def _manage(env: dict, *args: str, log: Path | None = None) -> str:
    return _run([Path(env["PATH"].split(":")[0]) / "awx-manage", *args], log, env=env)


def _build_dump(root: Path, log: Path) -> Path:
    """Migrate a fresh database and register what an installer registers, then keep a dump of it."""
    dump = root / "awx.dump"
    if dump.is_file():
        return dump
    with tempfile.TemporaryDirectory(prefix="osm-awx-build-") as tmp:
        run = Path(tmp)
        os.chmod(run, 0o755)
        cluster = _Cluster(run)
        redis = None
        try:
            cluster.start(log)
            redis = _start_redis(run)
            env = _awx_env(root / "venv", run, cluster.port, "build-only-secret")
            _manage(env, "migrate", "--noinput", log=log)
            _manage(env, "provision_instance", f"--hostname={NODE}", "--node_type=hybrid", log=log)
            _manage(env, "register_queue", "--queuename=controlplane", "--instance_percent=100", log=log)
            _manage(env, "register_queue", "--queuename=default", "--instance_percent=100", log=log)
            _manage(env, "register_default_execution_environments", log=log)
            env_admin = {**env, "DJANGO_SUPERUSER_PASSWORD": "fixture-admin-password"}
            _manage(env_admin, "createsuperuser", "--noinput", f"--username={ADMIN}", "--email=admin@example.invalid", log=log)
            _run([PG_BIN / "pg_dump", "-h", run, "-p", cluster.port, "-U", "awx", "-Fc", "-f", dump.with_suffix(".tmp"), "awx"], log)
            dump.with_suffix(".tmp").rename(dump)
        finally:
            if redis:
                redis.terminate()
                redis.wait(10)
            cluster.stop()
    return dump


def build() -> dict:
    """AWX's venv, receptor and the migrated database dump (each built once per key); paths and what it cost."""
    cache = cache_dir()
    started = time.monotonic()
    with build_lock(cache / ".lock"):
        root = cache / f"awx-{VERSION}-{_key()}"
        times_file = root / "build-times.json"
        if (root / "awx.dump").is_file() and (cache / f"receptor-{RECEPTOR_VERSION}" / "receptor").is_file():
            times = json.loads(times_file.read_text()) if times_file.exists() else {}
            return {"root": root, "receptor": cache / f"receptor-{RECEPTOR_VERSION}" / "receptor", "source": "cache", "cold": times}
        cache.mkdir(parents=True, exist_ok=True)
        log = cache / "build.log"
        times: dict[str, float] = {}
        t0 = time.monotonic()
        receptor = _build_receptor(cache, log)
        times["receptor"] = round(time.monotonic() - t0, 1)
        if not (root / ".complete").exists():
            t0 = time.monotonic()
            _build_venv(root, log)
            times["venv"] = round(time.monotonic() - t0, 1)
        t0 = time.monotonic()
        _build_dump(root, log)
        times["database"] = round(time.monotonic() - t0, 1)
        times["total"] = round(time.monotonic() - started, 1)
        times_file.write_text(json.dumps(times, indent=2) + "\n")
        return {"root": root, "receptor": receptor, "source": "built", "cold": times}


def _receptor_config(run: Path) -> str:
    return "\n".join([
        "---",
        "- node:",
        f"    id: {NODE}",
        f"    datadir: {run / 'receptor'}",
        "- log-level: info",
        "- tcp-listener:",
        "    bindaddr: 127.0.0.1",
        f"    port: {free_port()}",
        "- control-service:",
        "    service: control",
        f"    filename: {run / 'receptor.sock'}",
        "    permissions: '0600'",
        "- work-command:",
        "    worktype: local",
        "    command: ansible-runner",
        "    params: worker",
        "    allowruntimeparams: true",
        "",
    ])


class RealAWX:
    """AWX 24.6.1 running on loopback: `url`, `token` (OAuth2, admin, write scope), `api()` for reads and launches."""

    def __init__(self):
        self.url = ""
        self.token = ""
        self._procs: list[tuple[str, subprocess.Popen]] = []
        self._stack = contextlib.ExitStack()

    def __enter__(self) -> RealAWX:
        try:
            self._start()
        except BaseException:
            self._stack.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self._stack.close()

    def _spawn(self, name: str, cmd: list, env: dict) -> subprocess.Popen:
        logf = (self.run / "log" / f"{name}.log").open("ab")
        proc = subprocess.Popen([str(c) for c in cmd], env=env, stdout=logf, stderr=subprocess.STDOUT, start_new_session=True)
        logf.close()
        self._procs.append((name, proc))
        self._stack.callback(terminate, proc, 15, group=True)
        return proc

    def _start(self) -> None:
        built = build()
        self.root, venv = built["root"], built["root"] / "venv"
        lock = self._stack.enter_context(HOST_LOCK.open("a+"))
        fcntl.flock(lock, fcntl.LOCK_EX)
        self._stack.callback(fcntl.flock, lock, fcntl.LOCK_UN)
        self.run = Path(tempfile.mkdtemp(prefix="osm-awx-"))
        os.chmod(self.run, 0o755)
        self._stack.callback(shutil.rmtree, self.run, True)
        cluster = _Cluster(self.run)
        self._stack.callback(cluster.stop)
        cluster.start(self.run / "log" / "setup.log")
        _run([PG_BIN / "pg_restore", "-h", self.run, "-p", cluster.port, "-U", "awx", "-d", "awx", "--no-owner", built["root"] / "awx.dump"],
             self.run / "log" / "setup.log")
        redis = _start_redis(self.run)
        self._stack.callback(terminate, redis, 15, group=True)
        (self.run / "conf.d").mkdir()
        self.env = _awx_env(venv, self.run, cluster.port, hashlib.sha256(os.urandom(32)).hexdigest())
        # Jobs: receptor runs `ansible-runner worker` (AWX's venv) with the podman stand-in first on its PATH.
        bin_dir = self.run / "bin"
        bin_dir.mkdir()
        podman = bin_dir / "podman"
        podman.write_text("#!/bin/sh\n"
                          f"exec {shutil.which('python3') or '/usr/bin/python3'} {REPO / 'tests' / 'sandbox' / 'podman' / 'podman.py'} "
                          f"--ee-bin {REPO / '.venv' / 'bin'} --ee-collections {REPO / 'build' / 'collections'} "
                          f"--log {self.run / 'log' / 'podman.log'} \"$@\"\n")
        podman.chmod(0o755)
        RECEPTOR_CONF.parent.mkdir(parents=True, exist_ok=True)
        previous = RECEPTOR_CONF.read_text() if RECEPTOR_CONF.exists() else None
        RECEPTOR_CONF.write_text(_receptor_config(self.run))
        self._stack.callback(_restore, RECEPTOR_CONF, previous)
        receptor_env = {**self.env, "PATH": f"{bin_dir}:{self.env['PATH']}"}
        receptor = self._spawn("receptor", [built["receptor"], "--config", RECEPTOR_CONF], receptor_env)
        _wait((self.run / "receptor.sock").exists, 30, "receptor control socket", receptor, self.run / "log" / "receptor.log")
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        web = self._spawn("web", [venv / "bin" / "awx-manage", "runserver", f"127.0.0.1:{port}", "--noreload"], self.env)
        dispatcher = self._spawn("dispatcher", [venv / "bin" / "awx-manage", "run_dispatcher"], receptor_env)
        callback = self._spawn("callback_receiver", [venv / "bin" / "awx-manage", "run_callback_receiver"], self.env)
        _wait(lambda: self.api("GET", "/api/v2/ping/", auth=False)[0] == 200, 180, "AWX API /api/v2/ping/", web,
              self.run / "log" / "web.log")
        for name, proc in (("dispatcher", dispatcher), ("callback_receiver", callback)):
            if proc.poll() is not None:
                raise AWXFixtureError(f"{name} exited: {(self.run / 'log' / f'{name}.log').read_text()[-3000:]}")
        out = _manage(self.env, "create_oauth2_token", f"--user={ADMIN}")
        self.token = out.strip().splitlines()[-1].strip()
        _wait(lambda: self.api("GET", "/api/v2/me/")[0] == 200, 30, "the admin token")

    def api(self, method: str, path: str, body: dict | None = None, auth: bool = True, timeout: float = 30) -> tuple[int, dict]:
        headers = {"Content-Type": "application/json"}
        if auth:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.url + path, data=json.dumps(body).encode() if body is not None else None,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else {}
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                return err.code, json.loads(raw)
            except ValueError:
                return err.code, {"body": raw.decode(errors="replace")[:2000]}

    def get(self, path: str) -> dict:
        status, body = self.api("GET", path)
        if status != 200:
            raise AWXFixtureError(f"GET {path}: HTTP {status} {body}")
        return body

    def named(self, collection: str, name: str) -> dict:
        """The one object of `collection` (job_templates, projects, ...) with that name."""
        found = self.get(f"/api/v2/{collection}/?name={urllib.request.quote(name)}")["results"]
        if len(found) != 1:
            raise AWXFixtureError(f"{collection} named {name!r}: {len(found)} found")
        return found[0]

    def wait_job(self, path: str, timeout: float = 900) -> dict:
        """Poll a unified job (e.g. /api/v2/jobs/7/) until it finishes and its events are stored; its final record."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            job = self.get(path)
            # The callback receiver stores a job's events after its status is final: wait for those too.
            if job.get("status") in ("successful", "failed", "error", "canceled") and job.get("event_processing_finished", True):
                return job
            time.sleep(2)
        raise AWXFixtureError(f"{path} not finished after {timeout:.0f}s: {self.get(path).get('status')}\n{self.logs()}")

    def logs(self, lines: int = 60) -> str:
        out = []
        for path in sorted((self.run / "log").glob("*.log")):
            text = path.read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {path.name}\n" + "\n".join(text))
        return "\n".join(out)


def _restore(path: Path, previous: str | None) -> None:
    if previous is None:
        path.unlink(missing_ok=True)
    else:
        path.write_text(previous)
