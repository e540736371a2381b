# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity reservations, the planner's last tier: reserve in one placement, launch into it, release on teardown.

OCI allocates a reservation at creation time and partially ("asked 50, 40 available -> 40"), so the
reserved count is always read back; a reservation that got nothing is deleted at once (no leak).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

try:
    from oci.core.models import (
        CreateComputeCapacityReservationDetails,
        InstanceReservationConfigDetails,
        InstanceReservationShapeConfigDetails,
    )
except ImportError:  # require_oci() reports it
    pass

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import DENIED_STATUSES
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import is_owned, ownership_tags, retry_token
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_waiters import wait_until

COMPONENT = "capacity_reservation"
RESERVATIONS_POLICY = "Allow group <your-group> to manage compute-capacity-reservations in compartment id %s"


def reserve(clients, policy, params, placement, count, role):
    """Create a reservation for `count` instances of the placement; returns (id or None, reserved count)."""
    name = "%s-%s-%s" % (params["deployment"], role, placement.fds[0].lower().replace("fault-domain-", "fd"))
    details = CreateComputeCapacityReservationDetails(
        compartment_id=params["compartment_id"], availability_domain=placement.ad, display_name=name,
        is_default_reservation=False, freeform_tags=ownership_tags(params["deployment"], COMPONENT, role),
        instance_reservation_configs=[InstanceReservationConfigDetails(
            instance_shape=placement.shape, fault_domain=placement.fds[0], reserved_count=count,
            instance_shape_config=InstanceReservationShapeConfigDetails(ocpus=placement.ocpus, memory_in_gbs=placement.memory_in_gbs))])
    token = retry_token(COMPONENT, params["deployment"], name, placement.key, count, policy.calls)
    policy.progress.line("reserve %d x %s" % (count, placement.label()))
    created = policy.call("CreateComputeCapacityReservation", clients.compute.create_compute_capacity_reservation, details,
                          opc_retry_token=token).data
    res = wait_until(policy, "capacity reservation %s" % created.id,
                     lambda: policy.call("GetComputeCapacityReservation", clients.compute.get_compute_capacity_reservation, created.id).data,
                     lambda r: r.lifecycle_state not in ("CREATING",))
    reserved = (res.reserved_instance_count or 0) - (res.used_instance_count or 0)
    if res.lifecycle_state != "ACTIVE" or reserved <= 0:
        release_reservation(clients, policy, res.id, params["deployment"])
        return None, 0
    return res.id, reserved


def release_reservation(clients, policy, reservation_id, deployment):
    """Delete a reservation if it is ours and no longer used."""
    res = policy.call("GetComputeCapacityReservation", clients.compute.get_compute_capacity_reservation, reservation_id).data
    if not is_owned(res, deployment, COMPONENT) or res.lifecycle_state in ("DELETING", "DELETED"):
        return False
    if res.used_instance_count:
        return False
    policy.call("DeleteComputeCapacityReservation", clients.compute.delete_compute_capacity_reservation, reservation_id)
    return True


def release_all(clients, policy, compartment_id, deployment, role=None, check_mode=False):
    """Teardown: every unused reservation carrying our tags (for one role, or all). Returns the deleted ids."""
    try:
        found = list_all(policy, "ListComputeCapacityReservations", clients.compute.list_compute_capacity_reservations,
                         compartment_id=compartment_id)
    except ApiError as exc:
        if exc.failure.status not in DENIED_STATUSES:
            raise
        # a user who may not list reservations cannot have made any; say so rather than fail the teardown
        policy.progress.warn("capacity reservations could not be listed (%s %s) in %s, so none was swept; if this deployment "
                             "used them, add: %s" % (exc.failure.status, exc.failure.code or "", compartment_id, RESERVATIONS_POLICY % compartment_id))
        return []
    deleted = []
    for res in found:
        if res.lifecycle_state in ("DELETING", "DELETED") or not is_owned(res, deployment, COMPONENT, role):
            continue
        if check_mode or release_reservation(clients, policy, res.id, deployment):
            deleted.append(res.id)
    return deleted
