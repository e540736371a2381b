"""Fixtures for the OCI sandbox's own tests: the sandbox plugin's fixtures plus SDK clients."""

from __future__ import annotations

import pytest

from tests.sandbox.oci import pytest_plugin
from tests.sandbox.oci.testing import make_clients


def pytest_configure(config):
    # A nested conftest may not set pytest_plugins; registering the module does the same
    # (its fixtures, and its pytest_configure registering the oci_scenario marker).
    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "tests.sandbox.oci.pytest_plugin")


@pytest.fixture
def clients(request):
    return make_clients(request.getfixturevalue("oci_sandbox"))
