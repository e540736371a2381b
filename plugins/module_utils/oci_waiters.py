# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Polling of work requests and resource states on the retry policy's clock, inside its deadline."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import DeadlineExceeded, WorkRequestFailed

DONE = ("SUCCEEDED", "FAILED", "CANCELED")
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


def wait_until(policy, what, fetch, done, first=2.0, cap=30.0):
    """Call fetch() until done(value) is true; each wait goes through the policy clock and must fit the deadline."""
    delays = poll_delays(first, cap=cap)
    while True:
        value = fetch()
        if done(value):
            return value
        delay = next(delays)
        if not policy.fits(delay):
            raise DeadlineExceeded("timed out waiting for %s (deadline %ss reached)" % (what, int(policy.deadline_seconds)),
                                   attempts_table=policy.progress.table() if policy.progress.attempts else None)
        policy.sleep(delay)


def wait_ce_work_request(clients, policy, compartment_id, work_request_id):
    """Wait for a Container Engine work request; FAILED/CANCELED raise WorkRequestFailed with every error message."""
    def fetch():
        return policy.call("GetWorkRequest", clients.ce.get_work_request, work_request_id).data

    wr = wait_until(policy, "work request %s" % work_request_id, fetch, lambda w: w.status in DONE, first=CE_POLL_FIRST, cap=CE_POLL_CAP)
    if wr.status != "SUCCEEDED":
        errors = policy.call("ListWorkRequestErrors", clients.ce.list_work_request_errors, compartment_id, work_request_id).data or []
        raise WorkRequestFailed(work_request_id, wr.status, [e.message for e in errors])
    return wr


def work_request_resource(wr, entity_type):
    for res in wr.resources or []:
        if (res.entity_type or "").lower() == entity_type:
            return res.identifier
    return None
