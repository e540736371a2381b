"""A fleet's room before launches (module_utils/oci_limits.py): subnet addresses and compute limits, on the SDK's
own models (Subnet, PrivateIp, LimitDefinitionSummary, ResourceAvailability)."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest
from oci.core.models import PrivateIp, Subnet
from oci.limits.models import LimitDefinitionSummary, ResourceAvailability

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.openedx_scale.oke.plugins.module_utils import oci_limits  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError, Failure, InputError  # noqa: E402

AD = "hxIl:ME-JEDDAH-1-AD-1"
SUBNET = "ocid1.subnet.oc1.me-jeddah-1.aaaaaaaaworkers"


def core_limit(family, scope="AD"):
    return LimitDefinitionSummary(name=f"{family}-core-count", service_name="compute", scope_type=scope, is_deprecated=False,
                                  is_resource_availability_supported=True)


class Progress:
    def __init__(self):
        self.warnings, self.lines = [], []

    def warn(self, text):
        self.warnings.append(text)

    def line(self, text):
        self.lines.append(text)


class Policy:
    def __init__(self):
        self.calls, self.progress = [], Progress()

    def call(self, operation, func, *args, **kwargs):
        self.calls.append((operation, kwargs))
        return func(*args, **kwargs)


class Fake:
    """network + limits clients answering from a subnet CIDR, addresses in use and per-limit availability."""

    def __init__(self, cidr="10.0.10.0/24", in_use=0, available=None, denied=()):
        self.cidr, self.in_use, self.available, self.denied = cidr, in_use, available or {}, denied
        self.network = self.limits = self

    def _answer(self, operation, data):
        if operation in self.denied:
            raise ApiError(operation, Failure("fatal", status=404, code="NotAuthorizedOrNotFound", message="Authorization failed"))
        return SimpleNamespace(data=data, next_page=None)

    def get_subnet(self, subnet_id):
        return self._answer("GetSubnet", Subnet(id=subnet_id, cidr_block=self.cidr))

    def list_private_ips(self, subnet_id, **kwargs):
        return self._answer("ListPrivateIps", [PrivateIp(id=f"ip{i}", subnet_id=subnet_id) for i in range(self.in_use)])

    def list_limit_definitions(self, compartment_id, **kwargs):
        return self._answer("ListLimitDefinitions", [core_limit(name[: -len("-core-count")]) for name in self.available] + [core_limit("standard2")])

    def get_resource_availability(self, service_name, limit_name, compartment_id, **kwargs):
        assert kwargs["availability_domain"] == AD  # AD-scoped limits are read for the fleet's AD
        return self._answer("GetResourceAvailability", ResourceAvailability(used=100, available=self.available[limit_name]))


def cfg(shape, ocpus, memory):
    return {"shape": shape, "ocpus": ocpus, "memory_in_gbs": memory}


E4, E5 = cfg("VM.Standard.E4.Flex", 2, 16), cfg("VM.Standard.E5.Flex", 2, 16)


def check(fake, *demands):
    policy = Policy()
    oci_limits.check_fleet_room(fake, policy, "ocid1.tenancy.oc1..t", "ocid1.compartment.oc1..c", AD, list(demands))
    return policy


def workers(count, configs=(E4,), field="loadgen_vms_worker_count"):
    return {"field": field, "count": count, "subnet_id": SUBNET, "configs": list(configs)}


def test_limit_names_follow_the_shape_family():
    assert oci_limits.limit_family("VM.Standard.E4.Flex") == "standard-e4"
    assert oci_limits.limit_family("VM.Standard3.Flex") == "standard3"
    assert oci_limits.limit_family("BM.Standard.A1.160") == "standard-a1-160"


def test_a_fleet_larger_than_the_subnet_is_refused_with_the_numbers():
    with pytest.raises(InputError) as err:
        check(Fake(in_use=12), workers(300), {"field": "loadgen_vms_master_count", "count": 1, "subnet_id": SUBNET, "configs": [E4]})
    text = str(err.value)
    assert err.value.field == "loadgen_vms_worker_count"
    # OCI reserves 3 addresses of a /24: 253 usable, 12 in use, 241 free; the master and the workers share it.
    assert "300 (loadgen_vms_worker_count) + 1 (loadgen_vms_master_count) need 301 addresses" in text
    assert "241 free (10.0.10.0/24: 253 usable, 12 in use)" in text and "nothing was launched" in text


def test_a_fleet_that_fits_passes_and_reads_only():
    policy = check(Fake(in_use=12, available={"standard-e4-core-count": 600}), workers(241))
    assert {op for op, _kw in policy.calls} == {"GetSubnet", "ListPrivateIps", "ListLimitDefinitions", "GetResourceAvailability"}


def test_compute_limits_count_the_cores_still_to_launch():
    with pytest.raises(InputError) as err:
        check(Fake(available={"standard-e4-core-count": 40}), workers(50))
    text = str(err.value)
    assert "50 instances of 2 OCPUs / 16 GB (VM.Standard.E4.Flex) do not fit the compute limits" in text and "room for 20" in text
    assert "standard-e4-core-count 40 available (100 used)" in text and "service limit increase" in text


def test_an_alternative_shape_of_another_family_adds_room():
    check(Fake(available={"standard-e4-core-count": 40, "standard-e5-core-count": 60}), workers(50, (E4, E5)))
    with pytest.raises(InputError, match="room for 45"):
        check(Fake(available={"standard-e4-core-count": 40, "standard-e5-core-count": 50}), workers(50, (E4, E5)))


def test_demands_share_a_family_limit_in_their_order():
    with pytest.raises(InputError) as err:
        master = {"field": "loadgen_vms_master_count", "count": 1, "subnet_id": SUBNET, "configs": [cfg("VM.Standard.E4.Flex", 30, 128)]}
        check(Fake(available={"standard-e4-core-count": 100}), workers(40), master)
    assert err.value.field == "loadgen_vms_master_count" and "room for 0" in str(err.value)


def test_a_null_count_is_not_checked_and_said_so():
    policy = check(Fake(available={"standard-e4-core-count": None}), workers(5000 // 20))
    assert any("no available count" in line for line in policy.progress.lines)


def test_denied_reads_warn_and_leave_it_to_the_launches():
    policy = check(Fake(denied=("GetSubnet", "ListLimitDefinitions")), workers(10000))
    assert len(policy.progress.warnings) == 2
    assert "GetSubnet was denied (404 NotAuthorizedOrNotFound)" in policy.progress.warnings[0]


def test_nothing_to_launch_reads_nothing():
    assert check(Fake(denied=("GetSubnet",)), workers(0)).calls == []


def test_other_failures_are_not_swallowed():
    class Broken(Fake):
        def get_subnet(self, subnet_id):
            raise ApiError("GetSubnet", Failure("transient", status=500, code="InternalError", message="boom"))

    with pytest.raises(ApiError):
        check(Broken(), workers(3))


def test_missing_nodes_counts_only_this_deployments_live_pools_of_the_role():
    """A node-pool fleet's room is checked for what its pools still lack: the sizes of this deployment's live pools of
    the role (any cluster) are subtracted; a deleted pool, another role's and another deployment's are not."""
    from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import ownership_tags
    from ansible_collections.openedx_scale.oke.plugins.module_utils.oke_node_pools import missing_nodes
    from oci.container_engine.models import NodePoolNodeConfigDetails, NodePoolSummary

    def pool(size, state="ACTIVE", deployment="jeddah", role="lms"):
        return NodePoolSummary(name=f"pool-{size}", lifecycle_state=state, node_config_details=NodePoolNodeConfigDetails(size=size),
                               freeform_tags=ownership_tags(deployment, "node_pool", role))

    pools = [pool(3), pool(1, state="DELETED"), pool(7, role="services"), pool(5, deployment="other"), pool(2, state="UPDATING")]
    clients = SimpleNamespace(ce=SimpleNamespace(list_node_pools=lambda **kw: SimpleNamespace(data=pools, next_page=None)))
    policy = Policy()
    fleet = {"role": "lms", "count": 8, "compartment_id": "ocid1.compartment.oc1..aaaa", "deployment": "jeddah"}
    assert missing_nodes(clients, policy, fleet) == 3
    assert missing_nodes(clients, policy, dict(fleet, count=4)) == 0
    assert [op for op, _kw in policy.calls] == ["ListNodePools", "ListNodePools"]
    assert "cluster_id" not in policy.calls[0][1]  # before the cluster exists, too
