# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling of work requests and resource states on the retry policy's clock, inside its deadline."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import CONFLICT, DeadlineExceeded, WorkRequestFailed
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry import RESEND, Call

DONE = ("SUCCEEDED", "FAILED", "CANCELED")
PENDING = ("ACCEPTED", "IN_PROGRESS", "CANCELING")
# Container Engine work requests (clusters, node pools) run for minutes while nodes boot and join, so their polling
# starts at oci-cli's 30-s wait interval and stretches to 2 min: a handful of calls per operation, not one every
# few seconds that only feeds the tenancy's throttle.
CE_POLL_FIRST = 30.0
CE_POLL_CAP = 120.0


def poll_delays(first=2.0, factor=1.5, cap=30.0):
    delay = first
    while True:
        yield delay
        delay = min(cap, delay * factor)


def wait_until(policy, what, fetch, done, first=2.0, cap=30.0, describe=None):
    """Call fetch() until done(value) is true; each wait goes through the policy clock and must fit the deadline.
    With `describe(value)`, every poll interval prints one progress line saying what is awaited and its state."""
    delays = poll_delays(first, cap=cap)
    started = policy.elapsed()
    while True:
        value = fetch()
        if done(value):
            return value
        delay = next(delays)
        if describe is not None:
            policy.progress.line("waiting for %s: %s after %.0fs; next poll in %.0fs" % (what, describe(value), policy.elapsed() - started, delay))
        if not policy.fits(delay):
            raise DeadlineExceeded("timed out waiting for %s (deadline %ss reached)" % (what, int(policy.deadline_seconds)),
                                   attempts_table=policy.progress.table() if policy.progress.attempts else None)
        policy.sleep(delay)


def _short_id(ocid):
    return "..." + (ocid or "")[-8:]


def wait_work_request(policy, fetch, list_errors, work_request_id, raise_on_failure=True, first=2.0, cap=30.0):
    """Wait for a work request of any service (fetch() reads it, list_errors() its errors), one progress line per poll;
    FAILED/CANCELED raise WorkRequestFailed with every error message (or, with raise_on_failure=False, are returned)."""
    def describe(wr):
        return "%s %s" % (wr.operation_type, wr.status)

    wr = wait_until(policy, "work request %s" % _short_id(work_request_id), fetch, lambda w: w.status in DONE,
                    first=first, cap=cap, describe=describe)
    if wr.status != "SUCCEEDED" and raise_on_failure:
        raise WorkRequestFailed(work_request_id, wr.status, [e.message for e in list_errors() or []])
    return wr


def wait_ce_work_request(clients, policy, compartment_id, work_request_id, raise_on_failure=True):
    """A Container Engine work request (polled at the Container Engine cadence)."""
    return wait_work_request(
        policy, lambda: policy.call("GetWorkRequest", clients.ce.get_work_request, work_request_id).data,
        lambda: policy.call("ListWorkRequestErrors", clients.ce.list_work_request_errors, compartment_id, work_request_id).data,
        work_request_id, raise_on_failure, first=CE_POLL_FIRST, cap=CE_POLL_CAP)


def ce_work_requests(clients, policy, compartment_id, resource_id, in_flight=False):
    """The Container Engine work requests of one resource (cluster or node pool), oldest first; only the pending ones
    with in_flight=True. OKE runs its own (NODEPOOL_RECONCILE, cycling) next to ours."""
    kwargs = dict(compartment_id=compartment_id, resource_id=resource_id)
    if in_flight:
        kwargs["status"] = list(PENDING)
    items = list_all(policy, "ListWorkRequests", clients.ce.list_work_requests, **kwargs)
    return sorted(items, key=lambda w: (w.time_accepted is None, w.time_accepted))


def wait_in_flight(clients, policy, compartment_id, resource_id, why, pending=None):
    """Wait for every pending work request on a resource (OKE refuses a second one with 409 Conflict) instead of
    racing it, or for the `pending` ones already listed. Their outcome is OKE's business; returns the ones waited for."""
    waited = []
    if pending is None:
        pending = ce_work_requests(clients, policy, compartment_id, resource_id, in_flight=True)
    for wr in pending:
        policy.progress.line("%s: %s %s is in progress; waiting for it instead of racing it" % (why, wr.operation_type, _short_id(wr.id)))
        waited.append(wait_ce_work_request(clients, policy, compartment_id, wr.id, raise_on_failure=False))
    return waited


def call_when_idle(clients, policy, compartment_id, resource_id, operation, fn, *args, **kwargs):
    """A Container Engine call on one resource, through IdleCall."""
    return policy.run(IdleCall(clients, policy, compartment_id, resource_id, operation, fn, args, kwargs))


class IdleCall(Call):
    """A Container Engine call on one resource. A 409 Conflict is waited out only while the resource's work requests
    show one in flight (each wait charged to one budget); with none it is OCI's verdict on the request and raised."""

    def __init__(self, clients, policy, compartment_id, resource_id, name, fn, args, kwargs):
        super(IdleCall, self).__init__(name, fn, args, kwargs)
        self.clients = clients
        self.policy = policy
        self.compartment_id = compartment_id
        self.resource_id = resource_id
        self.budget = policy.budget("%s on %s" % (name, _short_id(resource_id)))

    def recover(self, error):
        if error.failure.kind != CONFLICT:
            raise error
        busy = ce_work_requests(self.clients, self.policy, self.compartment_id, self.resource_id, in_flight=True)
        if not busy:
            raise error
        self.budget.charge(error.failure, error)
        wait_in_flight(self.clients, self.policy, self.compartment_id, self.resource_id, "%s busy (409)" % self.name, busy)
        return RESEND


def work_request_resource(wr, entity_type):
    for res in wr.resources or []:
        if (res.entity_type or "").lower() == entity_type:
            return res.identifier
    return None
