"""Fixtures for the OCI sandbox's own tests: the sandbox fixtures plus SDK clients aimed at it."""

from __future__ import annotations

import pytest

from tests.sandbox.oci.pytest_plugin import oci_sandbox, oci_sandbox_factory, oci_sandbox_key  # noqa: F401 - fixtures
from tests.sandbox.oci.pytest_plugin import pytest_configure as _register_marker
from tests.sandbox.oci.testing import make_clients


def pytest_configure(config):
    _register_marker(config)


@pytest.fixture
def clients(request):
    return make_clients(request.getfixturevalue("oci_sandbox"))
