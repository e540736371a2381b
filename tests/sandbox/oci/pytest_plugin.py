"""pytest fixtures for the OCI sandbox.

Enable with ``pytest_plugins = ["tests.sandbox.oci.pytest_plugin"]`` in a conftest.py, then:

    @pytest.mark.oci_scenario("jeddah-tight")
    def test_x(oci_sandbox):             # started before, stopped (state.json written) after
        config = oci_sandbox.oci_config()
        ... oci.container_engine.ContainerEngineClient(config, service_endpoint=oci_sandbox.url,
                **oci_test_client_kwargs()) ...
        assert oci_sandbox.state()["live_counts"]["node_pools"] == 1

    def test_y(oci_sandbox_factory):      # several sandboxes / custom scenarios
        sandbox = oci_sandbox_factory({"name": "mine", "capacity": [...]})
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from . import OciSandbox
from .signing import ensure_credentials


def pytest_configure(config):
    config.addinivalue_line("markers", "oci_scenario(name): the OCI sandbox scenario the oci_sandbox fixture serves (default: ample)")


def oci_test_client_kwargs() -> dict:
    """Client kwargs for tests: no circuit breaker, fast SDK retries (oci.md section 7.2)."""
    import oci

    strategy = oci.retry.RetryStrategyBuilder(
        max_attempts_check=True,
        max_attempts=4,
        total_elapsed_time_check=True,
        total_elapsed_time_seconds=20,
        retry_base_sleep_time_seconds=0.01,
        retry_max_wait_between_calls_seconds=0.05,
        service_error_check=True,
        service_error_retry_on_any_5xx=True,
        service_error_retry_config=oci.retry.retry_checkers.RETRYABLE_STATUSES_AND_CODES,
    ).get_retry_strategy()
    return {"circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(), "retry_strategy": strategy}


@pytest.fixture(scope="session")
def oci_sandbox_key(tmp_path_factory) -> Path:
    """One API key for the whole session: generating an RSA key per sandbox costs ~0.1-0.5 s."""
    state_dir = tmp_path_factory.mktemp("oci-key")
    ensure_credentials(state_dir, "me-jeddah-1")
    return state_dir / "key.pem"


@pytest.fixture
def oci_sandbox_factory(tmp_path, oci_sandbox_key):
    started: list[OciSandbox] = []

    def start(scenario="ample", **kwargs) -> OciSandbox:
        name = scenario if isinstance(scenario, str) else "inline"
        state_dir = tmp_path / f"oci-{len(started)}-{Path(str(name)).stem}"
        state_dir.mkdir(parents=True)
        shutil.copy2(oci_sandbox_key, state_dir / "key.pem")
        sandbox = OciSandbox(scenario, state_dir, **kwargs).start()
        started.append(sandbox)
        return sandbox

    yield start
    for sandbox in started:
        sandbox.stop()


@pytest.fixture
def oci_sandbox(request, oci_sandbox_factory) -> OciSandbox:
    marker = request.node.get_closest_marker("oci_scenario")
    return oci_sandbox_factory(marker.args[0] if marker else "ample")
