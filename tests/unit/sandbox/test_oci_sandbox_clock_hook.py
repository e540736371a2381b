"""The virtual-clock hook (tests/sandbox/oci/pyhook): a fresh interpreter with it on PYTHONPATH, as Ansible starts
our modules, waits on the sandbox's clock; without it, or for a non-loopback URL, the product's wall clock stays."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from tests.rehearsal import REPO
from tests.sandbox.oci.pyhook import oci_sandbox_clock
from tests.sandbox.oci.server import PYHOOK_DIR

# What a module does: build the policy's clock from oci_retry, sleep 600 s on it, report both clocks.
PROBE = """
import json, time
from ansible_collections.openedx_scale.oke.plugins.module_utils import oci_module
policy = oci_module.make_policy({"progress_log": None, "wait_timeout": 3600, "retry_base_seconds": 1,
                                 "retry_max_wait_seconds": 2, "throttle_cooldown_seconds": 1}, "probe")
clock = policy.clock
t0, wall0 = clock.now(), time.monotonic()
clock.sleep(600)
print(json.dumps({"clock": type(clock).__module__, "virtual": clock.now() - t0, "wall": time.monotonic() - wall0}))
"""


def _probe(env_extra: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENEDX_SCALE_OCI_SANDBOX_CLOCK")}
    env.update({"PYTHONPATH": f"{PYHOOK_DIR}{os.pathsep}{REPO / 'build' / 'collections'}", **env_extra})
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    return json.loads(out)


def test_url_from_env_only_for_loopback(tmp_path):
    assert oci_sandbox_clock.url_from_env({oci_sandbox_clock.URL_ENV: "http://127.0.0.1:1"}) == "http://127.0.0.1:1"
    assert oci_sandbox_clock.url_from_env({oci_sandbox_clock.URL_ENV: "http://example.org"}) is None
    assert oci_sandbox_clock.url_from_env({}) is None
    endpoint = tmp_path / "endpoint"
    assert oci_sandbox_clock.url_from_env({oci_sandbox_clock.FILE_ENV: str(endpoint)}) is None  # not started yet
    endpoint.write_text("http://127.0.0.1:8\n")
    assert oci_sandbox_clock.url_from_env({oci_sandbox_clock.FILE_ENV: str(endpoint)}) == "http://127.0.0.1:8"


def test_module_waits_advance_the_sandbox_clock(oci_sandbox, tmp_path):
    before = oci_sandbox.state()["clock"]["elapsed_seconds"]
    started = time.monotonic()
    got = _probe({oci_sandbox_clock.URL_ENV: oci_sandbox.url})
    assert got["clock"] == "oci_sandbox_clock" and got["virtual"] >= 600 and got["wall"] < 5, got
    assert oci_sandbox.state()["clock"]["elapsed_seconds"] - before >= 600
    assert time.monotonic() - started < 30
    # The file variant (tools/rehearsal.sh): the URL is read when the module loads.
    (tmp_path / "endpoint").write_text(oci_sandbox.url + "\n")
    assert _probe({oci_sandbox_clock.FILE_ENV: str(tmp_path / "endpoint")})["clock"] == "oci_sandbox_clock"


def test_without_the_hook_the_product_sleeps_on_the_wall_clock(oci_sandbox):
    probe = PROBE.replace("clock.sleep(600)", "clock.sleep(0.2)")
    env = {**os.environ, "PYTHONPATH": str(REPO / "build" / "collections"), oci_sandbox_clock.URL_ENV: oci_sandbox.url}
    got = json.loads(subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=60, check=True).stdout)
    assert got["clock"].endswith("module_utils.oci_retry") and 0.2 <= got["wall"] < 5, got
