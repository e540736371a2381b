# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The base every reconciler (cluster, node pools, instances, DB system) builds on, and the one capacity-round driver.

A capacity round: list the candidates (by default: fetch the capacity report and let the planner order the placements),
try them until nothing is missing; if something still is, back off and start the next round, unless the next one would
pass the deadline. The rounds are written once, here (`capacity_rounds`); a reconciler says what they mean by
overriding the hooks: `missing()`, `attempt(candidate)`, `exhausted(wait)` and, for the planned rounds,
`preferred_placements()`. What is still missing, what landed and the round number live on the reconciler.
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

    # --- the capacity rounds ---------------------------------------------------------------------------------
    UNIT = None  # what missing() counts, for the progress lines ("node(s)")
    PROBE_MIN_REMAINING = 0  # seconds a probe placement needs; none is planned with less left

    planner = None  # the round's planner (new_planner()), set by a reconciler before its first round
    report = None  # the capacity report of the current round
    round = 0  # the last round started; rounds (backoff, probes) continue across calls of capacity_rounds

    def missing(self):
        """Hook: how many units are still missing (0 ends the rounds)."""
        raise NotImplementedError

    def attempt(self, candidate):
        """Hook: try one candidate and log its outcome (self.round, self.report); record what landed on self. A
        capacity failure is the hook's to absorb; anything it raises ends the run."""
        raise NotImplementedError

    def exhausted(self, wait):
        """Hook: the error raised when the next round (in `wait` seconds) would pass the deadline."""
        raise NotImplementedError

    def preferred_placements(self):
        """Hook: placements of what exists now (growing those never recycles anything, so they go first in a tier)."""
        return []

    def candidates(self):
        """The candidates of this round: the capacity report's placements in the planner's order, each once, none
        the planner dropped. A reconciler whose placements take no report (the DB system) overrides it."""
        self.report = fetch_report(self.clients, self.policy, self.p["tenancy_id"], self.p["availability_domain"], self.p["shapes"],
                                   self.p["fault_domains"], memo=self._report_memo)
        probe = self.PROBE_MIN_REMAINING <= 0 or self.policy.remaining() >= self.PROBE_MIN_REMAINING
        seen = set()
        for cand in self.planner.plan(self.missing(), self.report, prefer=self.preferred_placements(), rnd=self.round, probe=probe):
            if cand.placement in seen or (cand.tier != TIER_PROBE and self.planner.dropped(cand.placement)):
                continue
            seen.add(cand.placement)
            yield cand

    def nothing_tried(self):
        """(placement, reason) of the "no capacity" attempt logged for a round that had no candidate."""
        summary = self.report.summary() if self.report is not None else ""
        return ("(%d placement(s) allowed)" % (len(self.p["shapes"]) * len(self.p["fault_domains"])), "capacity report: %s" % (summary or "empty"))

    def capacity_rounds(self):
        """Run capacity rounds until missing() is 0, or raise exhausted(wait) before a round that would pass the deadline."""
        while self.missing() > 0:
            self.round += 1
            tried = False
            for cand in self.candidates():
                if self.missing() <= 0:
                    break
                tried = True
                self.attempt(cand)
            if self.missing() <= 0:
                break
            self._next_round(None if tried else self.nothing_tried())

    def _next_round(self, nothing_tried=None):
        """Back off before the next round, or raise exhausted(wait) when that wait would pass the deadline.
        nothing_tried: (placement, reason) logged as a "no capacity" attempt when the round tried nothing."""
        wait = self.policy.backoff(self.round)
        if nothing_tried is not None:
            self.progress.attempt(nothing_tried[0], "no capacity", nothing_tried[1], next_wait=wait, round=self.round)
        if not self.policy.fits(wait):
            raise self.exhausted(wait)
        self.progress.line("round %d: %d %s still missing; next capacity check in %.0fs" % (self.round, self.missing(), self.UNIT, wait))
        self.policy.sleep(wait)
