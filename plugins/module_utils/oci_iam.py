# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IAM preflight: probe, read-only, the calls the provision stage makes beyond the obvious ones, and name the exact
policy statement for each one that is denied (OCI answers a missing policy with 404 NotAuthorizedOrNotFound).

docs/provision.md lists the same statements. Sources: OKE policy configuration (cluster-work-requests),
compute-capacity-reports in the Core Services policy reference, and the OKE capacity-reservation page (service
statements, which cannot be probed by the caller and are listed whenever reservations are on).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import DENIED_STATUSES, REPORT_POLICY
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reservations import RESERVATIONS_POLICY

WORK_REQUESTS_POLICY = "Allow group <your-group> to read cluster-work-requests in compartment id %s"
OKE_RESERVATION_POLICIES = (
    "Allow service oke to use compute-capacity-reservations in tenancy",
    "Allow any-user to use compute-capacity-reservations in tenancy where request.principal.type = 'nodepool'",
)


def _allowed(policy, operation, fn, **kwargs):
    try:
        policy.call(operation, fn, **kwargs)
    except ApiError as exc:
        if exc.failure.status in DENIED_STATUSES:
            return False
        raise
    return True


def check_policies(clients, policy, compartment_id, report, reservations=False):
    """One entry per need: {need, allowed (None: cannot be probed), required, statement}. `report` is the capacity
    report just fetched (its denial is the probe for the report statement)."""
    needs = [
        {"need": "capacity report (advisory: denied means slower probing)", "allowed": not report.denied, "required": False,
         "statement": REPORT_POLICY},
        {"need": "OKE work requests (wait for OKE's own NODEPOOL_RECONCILE instead of racing it)",
         "allowed": _allowed(policy, "ListWorkRequests", clients.ce.list_work_requests, compartment_id=compartment_id, limit=1),
         "required": True, "statement": WORK_REQUESTS_POLICY % compartment_id},
    ]
    if reservations:
        needs.append({"need": "capacity reservations", "required": True, "statement": RESERVATIONS_POLICY % compartment_id,
                      "allowed": _allowed(policy, "ListComputeCapacityReservations", clients.compute.list_compute_capacity_reservations,
                                          compartment_id=compartment_id, limit=1)})
        needs.extend({"need": "OKE nodes launching into a reservation", "allowed": None, "required": True, "statement": text}
                     for text in OKE_RESERVATION_POLICIES)
    return needs


def missing_statements(needs, required=None):
    """Statements to add: the needs whose probe was denied (all, or only the required / advisory ones)."""
    return [n["statement"] for n in needs if n["allowed"] is False and (required is None or n["required"] == required)]
