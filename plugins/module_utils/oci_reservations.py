# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity reservations, the planner's last tier: reserve in one placement, launch into it, release on teardown.

What a reservation holds is read from its documented fields only (oci/core/models/compute_capacity_reservation.py,
instance_reservation_config.py): `reserved_instance_count` is the sum of the configs' `reserved_count`, "the number of
instances for which capacity will be held" -- what was asked, not a promise of what is free now -- and `used_count`
what runs in it. The conservative reading: the room is, for the config of our shape and fault domain, reserved_count
less used_count, never more than we asked, and only while the reservation is ACTIVE; the launches into it are still
checked node by node (a node that fails is shrunk away like any out-of-capacity node). A reservation with no room
is deleted at once (no leak).
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
    created = policy.call_create("CreateComputeCapacityReservation", clients.compute.create_compute_capacity_reservation, details, token).data
    res = wait_until(policy, "capacity reservation %s" % created.id,
                     lambda: policy.call("GetComputeCapacityReservation", clients.compute.get_compute_capacity_reservation, created.id).data,
                     lambda r: r.lifecycle_state not in ("CREATING",))
    reserved = room(res, placement, count)
    if reserved <= 0:
        release_reservation(clients, policy, res.id, params["deployment"])
        return None, 0
    return res.id, reserved


def room(reservation, placement, asked):
    """Instances the reservation can still take for `placement` (see the module docstring): 0 unless ACTIVE."""
    if reservation.lifecycle_state != "ACTIVE":
        return 0
    free = 0
    for config in reservation.instance_reservation_configs or []:
        if config.instance_shape == placement.shape and (config.fault_domain in (None, placement.fds[0])):
            free += max(0, (config.reserved_count or 0) - (config.used_count or 0))
    return min(asked, free)


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
