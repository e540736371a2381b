"""Helpers for tests that drive the sandbox with the real SDK: clients, work-request polling, models."""

from __future__ import annotations

import contextlib
import functools
import json
import time
import urllib.request

import oci

SUBNET = "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaasubnet"
VCN = "ocid1.vcn.oc1.me-jeddah-1.aaaaaaaavcn"


class Clients:
    """Real SDK clients on the sandbox, built on first use (building one costs ~0.1 s)."""

    def __init__(self, sandbox, retry=None):
        self.config = oci.config.from_file(sandbox.config_file)
        self.tenancy = self.config["tenancy"]
        # One signer for all clients: each client would otherwise parse the RSA key again (~0.1 s).
        signer = oci.signer.Signer(self.tenancy, self.config["user"], self.config["fingerprint"], self.config["key_file"])
        self.kwargs = {
            "signer": signer,
            "service_endpoint": sandbox.url,
            "circuit_breaker_strategy": oci.circuit_breaker.NoCircuitBreakerStrategy(),
            "retry_strategy": retry if retry is not None else oci.retry.NoneRetryStrategy(),
        }

    @functools.cached_property
    def identity(self):
        return oci.identity.IdentityClient(self.config, **self.kwargs)

    @functools.cached_property
    def compute(self):
        return oci.core.ComputeClient(self.config, **self.kwargs)

    @functools.cached_property
    def network(self):
        return oci.core.VirtualNetworkClient(self.config, **self.kwargs)

    @functools.cached_property
    def work_requests(self):
        return oci.work_requests.WorkRequestClient(self.config, **self.kwargs)

    @functools.cached_property
    def ce(self):
        return oci.container_engine.ContainerEngineClient(self.config, **self.kwargs)


def make_clients(sandbox, retry=None) -> Clients:
    """Clients with no circuit breaker and no SDK retries unless `retry` (a retry strategy) is given."""
    return Clients(sandbox, retry)


def wait_work_request(client, wr_id: str, limit: int = 20):
    """Poll a work request to its end. The fast sandbox clock jumps to the next transition on each
    poll, so no sleeping is needed; `limit` guards against a work request that never finishes."""
    seen = []
    for _attempt in range(limit):
        wr = client.get_work_request(wr_id).data
        seen.append(wr.status)
        if wr.status in ("SUCCEEDED", "FAILED", "CANCELED"):
            return wr, seen
    raise AssertionError(f"work request {wr_id} still {seen[-1]} after {limit} polls: {seen}")


def launch_details(ad: str, tenancy: str, **overrides):
    values = {
        "compartment_id": tenancy,
        "availability_domain": ad,
        "shape": "VM.Standard.E4.Flex",
        "shape_config": oci.core.models.LaunchInstanceShapeConfigDetails(ocpus=2, memory_in_gbs=16),
        "display_name": "loadgen-1",
        "create_vnic_details": oci.core.models.CreateVnicDetails(subnet_id=SUBNET),
        "freeform_tags": {"openedx-scale/owner": "test"},
    }
    values.update(overrides)
    return oci.core.models.LaunchInstanceDetails(**values)


def create_cluster(clients) -> str:
    response = clients.ce.create_cluster(
        oci.container_engine.models.CreateClusterDetails(
            name="openedx", compartment_id=clients.tenancy, vcn_id=VCN, kubernetes_version="v1.35.4", freeform_tags={"owner": "t"}
        )
    )
    wr, _seen = wait_work_request(clients.ce, response.headers["opc-work-request-id"])
    assert wr.status == "SUCCEEDED"
    return wr.resources[0].identifier


def node_pool_details(clients, cluster_id: str, ad: str, *, size: int, fault_domains=None, shape="VM.Standard.E4.Flex", name="lms"):
    models = oci.container_engine.models
    return models.CreateNodePoolDetails(
        compartment_id=clients.tenancy,
        cluster_id=cluster_id,
        name=name,
        kubernetes_version="v1.35.4",
        node_shape=shape,
        node_shape_config=models.CreateNodeShapeConfigDetails(ocpus=30, memory_in_gbs=128),
        initial_node_labels=[models.KeyValue(key="openedx-scale/pool", value=name)],
        freeform_tags={"openedx-scale/owner": "test"},
        node_config_details=models.CreateNodePoolNodeConfigDetails(
            size=size,
            placement_configs=[models.NodePoolPlacementConfigDetails(availability_domain=ad, subnet_id=SUBNET, fault_domains=fault_domains)],
        ),
    )


class SandboxTime:
    """A stand-in for the `time` module whose clock is the sandbox clock: sleep(N) advances it.

    `sdk_on_sandbox_clock(sandbox)` installs it in the SDK's retry and waiter modules, so the SDK's
    own back-off (e.g. the default retry strategy's up-to-30-s sleeps) and `oci.wait_until` cost
    sandbox time instead of real time, and their time limits follow the same clock.
    """

    def __init__(self, sandbox):
        self.sandbox = sandbox
        self.slept = 0.0

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            self.slept += seconds
            self.sandbox.advance(seconds)

    def time(self) -> float:
        return self._now()

    def monotonic(self) -> float:
        return self._now()

    def _now(self) -> float:
        if hasattr(self.sandbox, "store"):
            return self.sandbox.store.clock.now()
        with urllib.request.urlopen(f"{self.sandbox.url}/_sandbox/clock", timeout=10) as response:
            return json.load(response)["now"]

    def __getattr__(self, name):
        return getattr(time, name)


@contextlib.contextmanager
def sdk_on_sandbox_clock(sandbox):
    """Within the block, the oci SDK's retry sleeps and waiters run on the sandbox clock."""
    import oci.retry.retry as sdk_retry
    import oci.waiter as sdk_waiter

    shim = SandboxTime(sandbox)
    saved = (sdk_retry.time, sdk_waiter.time)
    sdk_retry.time = sdk_waiter.time = shim
    try:
        yield shim
    finally:
        sdk_retry.time, sdk_waiter.time = saved


_BOOTS_SEEN: set[str] = set()


def boot_fails_first_time(event: dict) -> str:
    """Boot hook for tests: the first boot of each display name fails (its host dies), later ones get the default IP."""
    name = event["resource"].get("displayName", "")
    if name not in _BOOTS_SEEN:
        _BOOTS_SEEN.add(name)
        raise RuntimeError(f"host of {name} failed while the instance was provisioning")
    return event["default_ip"]
