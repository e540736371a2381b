"""The OCI sandbox fixtures (oci_sandbox, oci_sandbox_factory) for the inventory plugin's tests."""

from __future__ import annotations

from tests.sandbox.oci import pytest_plugin


def pytest_configure(config):
    if not config.pluginmanager.is_registered(pytest_plugin):
        config.pluginmanager.register(pytest_plugin, "tests.sandbox.oci.pytest_plugin")
