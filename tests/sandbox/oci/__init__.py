"""OCI sandbox: an HTTP emulator of the OCI endpoints openedx_scale.oke calls.

The real `oci` SDK talks to it unchanged: sign with DIR/config, pass the URL as
`service_endpoint`. See docs/sandbox-oci.md.

    from tests.sandbox.oci import OciSandbox
    with OciSandbox("jeddah-tight", tmp_path) as sandbox:
        config = oci.config.from_file(sandbox.config_file)
        ce = oci.container_engine.ContainerEngineClient(config, service_endpoint=sandbox.url)
        ...
        state = sandbox.state()
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from .scenario import Scenario, ScenarioError, load, parse, shipped
from .server import SLEPT_HEADER, SandboxServer, start_in_thread

ENDPOINT_ENV = "OCI_SANDBOX_ENDPOINT"
# Where the sandbox inventory (tests/rehearsal/inventory) looks for the config and endpoint files.
DEFAULT_STATE_DIR = Path(__file__).resolve().parents[3] / "build" / "sandbox" / "oci"

__all__ = ["DEFAULT_STATE_DIR", "ENDPOINT_ENV", "SLEPT_HEADER", "OciSandbox", "OciSandboxProcess", "Scenario", "ScenarioError", "load", "parse", "shipped"]


class OciSandbox:
    """The sandbox served from a thread of this process (fast to start, state read directly).

    `scenario`: a shipped name, a YAML path, a dict or a Scenario. `boot_hook`: optional Python
    callable overriding the scenario's boot hook (see hooks.py).
    """

    def __init__(self, scenario="ample", state_dir=None, *, clock: str | None = None, port: int = 0, host: str = "127.0.0.1", boot_hook=None):
        if isinstance(scenario, Scenario):
            self.scenario = scenario
        elif isinstance(scenario, dict):
            self.scenario = parse(scenario, scenario.get("name", "inline"))
        else:
            self.scenario = load(scenario)
        self.state_dir = Path(state_dir or DEFAULT_STATE_DIR).resolve()
        self._args = {"host": host, "port": port, "clock_mode": clock, "boot_hook": boot_hook}
        self.server: SandboxServer | None = None

    def start(self) -> OciSandbox:
        self.server = SandboxServer(self.scenario, self.state_dir, **self._args)
        self.server.write_files()
        start_in_thread(self.server)
        return self

    def __enter__(self) -> OciSandbox:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def config_file(self) -> str:
        return str(self.state_dir / "config")

    profile = "DEFAULT"

    @property
    def tenancy(self) -> str:
        return self.server.creds.tenancy

    @property
    def store(self):
        return self.server.store

    def env(self) -> dict:
        """Environment for a client process (ansible-runner): endpoint, config file, no breaker."""
        return json.loads((self.state_dir / "sandbox.json").read_text(encoding="utf-8"))["env"]

    def oci_config(self) -> dict:
        import oci

        return oci.config.from_file(self.config_file, self.profile)

    def state(self) -> dict:
        """The full state dump (also written to DIR/state.json)."""
        return self.server.dump_state()

    def advance(self, seconds: float) -> float:
        """Move the sandbox clock forward, as POST /_sandbox/clock/advance does."""
        with self.server.store.lock:
            self.server.store.clock.advance(seconds, by_client=True)
            self.server.store.tick()
            return self.server.store.clock.now()

    def settings(self, **values) -> dict:
        if values:
            self.server.override_settings(values)
        return self.server.settings()

    def stop(self) -> None:
        if self.server is not None:
            self.server.dump_state()
            self.server.shutdown()
            self.server.server_close()
            self.server = None


class OciSandboxProcess:
    """The sandbox as a separate `python -m tests.sandbox.oci serve` process (state over HTTP)."""

    def __init__(self, scenario="ample", state_dir=None, *, clock: str | None = None, timeout: float = 30):
        self.scenario = str(scenario)
        self.state_dir = Path(state_dir or DEFAULT_STATE_DIR).resolve()
        self.clock = clock
        self.timeout = timeout
        self.proc: subprocess.Popen | None = None
        self._log = None
        self.url = ""

    def start(self) -> OciSandboxProcess:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        endpoint = self.state_dir / "endpoint"
        endpoint.unlink(missing_ok=True)
        cmd = [sys.executable, "-m", "tests.sandbox.oci", "serve", "--scenario", self.scenario, "--port", "0", "--state-dir", str(self.state_dir)]
        if self.clock:
            cmd += ["--clock", self.clock]
        root = Path(__file__).resolve().parents[3]
        self._log = open(self.state_dir / "server.log", "w", encoding="utf-8")
        self.proc = subprocess.Popen(cmd, cwd=root, stdout=subprocess.DEVNULL, stderr=self._log)
        deadline = time.monotonic() + self.timeout
        while not endpoint.exists():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"OCI sandbox did not start: {(self.state_dir / 'server.log').read_text()[-2000:]}")
            time.sleep(0.05)
        self.url = endpoint.read_text(encoding="utf-8").strip()
        return self

    def __enter__(self) -> OciSandboxProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def config_file(self) -> str:
        return str(self.state_dir / "config")

    def env(self) -> dict:
        return json.loads((self.state_dir / "sandbox.json").read_text(encoding="utf-8"))["env"]

    def state(self) -> dict:
        with urllib.request.urlopen(f"{self.url}/_sandbox/state", timeout=30) as response:
            return json.load(response)

    def advance(self, seconds: float) -> float:
        request = urllib.request.Request(f"{self.url}/_sandbox/clock/advance?seconds={seconds}", method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.load(response)["now"]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
        if self._log is not None:
            self._log.close()
            self._log = None


def environ_endpoint() -> str | None:
    """The endpoint a client should use, from OCI_SANDBOX_ENDPOINT (None: talk to real OCI)."""
    return os.environ.get(ENDPOINT_ENV) or None
