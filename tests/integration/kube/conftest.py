"""Fixtures of the test-bed tests: the session's control plane and API clients on it."""

from __future__ import annotations

import uuid

import pytest

from tests.sandbox.kube.fixtures import kube_testbed, pytest_terminal_summary, wait_for, wait_nodes_free

# Fixtures and the summary hook take effect by being names of this conftest.
__all__ = ["kube_testbed", "pytest_terminal_summary"]


@pytest.fixture(scope="session")
def api(kube_testbed):
    return kube_testbed.client()


@pytest.fixture
def free_nodes(api):
    """Nodes holding no other test's pods (the fit checks count every pod on them)."""
    from kubernetes import client

    wait_nodes_free(client.CoreV1Api(api))


@pytest.fixture
def namespace(api):
    """A fresh namespace per test, deleted afterwards."""
    from kubernetes import client

    core = client.CoreV1Api(api)
    name = f"t-{uuid.uuid4().hex[:8]}"
    core.create_namespace({"metadata": {"name": name}})
    # Pods need the namespace's default ServiceAccount, which the service-account controller creates.
    wait_for(lambda: core.list_namespaced_service_account(name).items, 30, f"default ServiceAccount in {name}")
    yield name
    core.delete_namespace(name)
    # Wait until the namespace controller has emptied it: its pods hold node capacity the next test needs.
    wait_for(lambda: name not in {n.metadata.name for n in core.list_namespace().items}, 180, f"namespace {name} deleted")
