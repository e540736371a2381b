# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base every reconciler (cluster, node pools, instances) builds on, and the one capacity-round driver.

A capacity round: fetch the capacity report, let the planner order the placements, try them until nothing is
missing; if something still is, back off and start the next round, unless the next one would pass the deadline.
What one attempt means (grow a pool, launch a VM) is the reconciler's; the rounds around it are written once, here.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import TIER_PROBE, Planner, fetch_report
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import ownership_tags


class Reconciler(object):
    """Clients, retry policy, validated params and the record of what changed (`changed`, `actions`)."""

    COMPONENT = None  # the ownership tag's component (cluster, node_pool, instance)

    def __init__(self, clients, policy, params, check_mode=False):
        self.clients = clients
        self.policy = policy
        self.p = params
        self.check_mode = check_mode
        self.progress = policy.progress
        self.changed = False
        self.actions = []
        self._report_memo = {}

    def owned_tags(self, role=None):
        """Freeform tags every resource this reconciler creates carries (ownership + the user's own)."""
        return ownership_tags(self.p["deployment"], self.COMPONENT, role, self.p.get("freeform_tags"))

    def _act(self, action, **info):
        self.changed = True
        info["action"] = action
        self.actions.append(info)

    def new_planner(self):
        """The capacity planner for the validated placement options (shapes, fault domains, reservations, probes)."""
        return Planner(self.p["availability_domain"], self.p["shapes"], self.p["fault_domains"],
                       allow_reservation=self.p.get("capacity_reservation", False), probe_rounds=self.p.get("capacity_probe_rounds", 0))

    def capacity_rounds(self, planner, missing, attempt, exhausted, unit, prefer=list, rnd=0, probe_min_remaining=0):
        """Run capacity rounds until missing() is 0; returns the last round number (a caller that starts again
        passes it back as `rnd`, so backoff and probes continue).

        attempt(candidate, report, rnd) tries one candidate and logs its outcome; a capacity failure is its to
        absorb, anything it raises ends the run. exhausted(wait) builds the error raised when the next round would
        pass the deadline. prefer() lists the placements of what exists now (grown first within a tier). A probe is
        planned only while at least `probe_min_remaining` seconds are left.
        """
        while missing() > 0:
            rnd += 1
            report = fetch_report(self.clients, self.policy, self.p["tenancy_id"], self.p["availability_domain"], self.p["shapes"],
                                  self.p["fault_domains"], memo=self._report_memo)
            skip = set()
            tried = False
            probe = probe_min_remaining <= 0 or self.policy.remaining() >= probe_min_remaining
            for cand in planner.plan(missing(), report, skip=skip, prefer=prefer(), rnd=rnd, probe=probe):
                if missing() <= 0:
                    break
                if cand.placement in skip or (cand.tier != TIER_PROBE and planner.dropped(cand.placement)):
                    continue
                tried = True
                attempt(cand, report, rnd)
                skip.add(cand.placement)
            if missing() <= 0:
                break
            nothing = None if tried else ("(%d placement(s) allowed)" % (len(self.p["shapes"]) * len(self.p["fault_domains"])),
                                          "capacity report: %s" % (report.summary() or "empty"))
            self.next_round(rnd, missing(), unit, exhausted, nothing_tried=nothing)
        return rnd

    def next_round(self, rnd, left, unit, exhausted, nothing_tried=None):
        """Back off before capacity round rnd+1, or raise exhausted(wait) when that wait would pass the deadline.
        nothing_tried: (placement, reason) logged as a "no capacity" attempt when the round tried nothing."""
        wait = self.policy.backoff(rnd)
        if nothing_tried is not None:
            self.progress.attempt(nothing_tried[0], "no capacity", nothing_tried[1], next_wait=wait, round=rnd)
        if not self.policy.fits(wait):
            raise exhausted(wait)
        self.progress.line("round %d: %d %s still missing; next capacity check in %.0fs" % (rnd, left, unit, wait))
        self.policy.sleep(wait)
