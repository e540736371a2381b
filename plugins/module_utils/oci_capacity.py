# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Capacity reports and the one capacity planner.

The planner turns a capacity report into an ordered list of candidate placements:
  1. fault domains   - the primary shape, spread over every allowed FD that reports capacity, then one FD at a time
  2. alternative shapes - the same for each shape the user allows, in the user's order
  3. extra pools     - partial fills (fewer nodes than needed) in placements that have some capacity;
                       each becomes an additional (sibling) pool / VM group next to the existing ones
  4. capacity reservations - reserve in a placement and launch into the reservation (opt-in)
  5. probe - a report is advisory (OCI says so; oci-cli #748 shows it wrong both ways), so every Nth round in which
     it offers nothing, one placement it calls full is tried anyway (a different one each time)
Placements that just failed are skipped for the rest of the round and the report is fetched again every round.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

try:
    from oci.core.models import (
        CapacityReportInstanceShapeConfig,
        CreateCapacityReportShapeAvailabilityDetails,
        CreateComputeCapacityReportDetails,
    )
except ImportError:  # require_oci() reports it
    pass

AVAILABLE = "AVAILABLE"
OUT_OF_HOST_CAPACITY = "OUT_OF_HOST_CAPACITY"

TIER_FAULT_DOMAIN = "fault_domain"
TIER_ALTERNATIVE_SHAPE = "alternative_shape"
TIER_EXTRA_POOL = "extra_pool"
TIER_RESERVATION = "capacity_reservation"
TIER_PROBE = "probe"
TIER_ORDER = (TIER_FAULT_DOMAIN, TIER_ALTERNATIVE_SHAPE, TIER_EXTRA_POOL, TIER_RESERVATION, TIER_PROBE)


def short_fd(fd):
    return fd.replace("FAULT-DOMAIN-", "FD-")


class Placement(object):
    """Where nodes/VMs go: availability domain, fault domain(s), shape and shape config, optional reservation."""

    __slots__ = ("ad", "fds", "memory_in_gbs", "ocpus", "reservation", "shape")

    def __init__(self, ad, fds, shape, ocpus, memory_in_gbs, reservation=False):
        self.ad = ad
        self.fds = tuple(sorted(fds))
        self.shape = shape
        self.ocpus = float(ocpus)
        self.memory_in_gbs = float(memory_in_gbs)
        self.reservation = reservation

    @property
    def key(self):
        return (self.ad, self.fds, self.shape, self.ocpus, self.memory_in_gbs, bool(self.reservation))

    def __eq__(self, other):
        return isinstance(other, Placement) and self.key == other.key

    def __ne__(self, other):
        return not self.__eq__(other)

    def __hash__(self):
        return hash(self.key)

    def label(self):
        text = "%s %g/%g @ %s" % (self.shape, self.ocpus, self.memory_in_gbs, "+".join(short_fd(f) for f in self.fds))
        return text + (" (reservation)" if self.reservation else "")

    def as_dict(self):
        return {"availability_domain": self.ad, "fault_domains": list(self.fds), "shape": self.shape, "ocpus": self.ocpus,
                "memory_in_gbs": self.memory_in_gbs, "capacity_reservation": bool(self.reservation)}


class Candidate(object):
    """One planner suggestion: a placement, how many nodes to ask for there, and why it is in the list."""

    __slots__ = ("available", "count", "placement", "tier")

    def __init__(self, placement, count, tier, available=None):
        self.placement = placement
        self.count = count
        self.tier = tier
        self.available = available

    def as_dict(self):
        out = self.placement.as_dict()
        out.update({"count": self.count, "tier": self.tier, "available": self.available})
        return out

    def __repr__(self):
        return "Candidate(%s x%d, %s)" % (self.placement.label(), self.count, self.tier)


class Availability(object):
    """One row of a capacity report."""

    __slots__ = ("ad", "count", "fd", "memory_in_gbs", "ocpus", "shape", "status")

    def __init__(self, ad, fd, shape, ocpus, memory_in_gbs, status, count):
        self.ad, self.fd, self.shape = ad, fd, shape
        self.ocpus, self.memory_in_gbs = float(ocpus), float(memory_in_gbs)
        self.status, self.count = status, count

    def as_dict(self):
        return {"availability_domain": self.ad, "fault_domain": self.fd, "shape": self.shape, "ocpus": self.ocpus,
                "memory_in_gbs": self.memory_in_gbs, "status": self.status, "available_count": self.count}


class CapacityReport(object):
    """Rows keyed by (ad, fd, shape, ocpus, memory)."""

    def __init__(self, rows):
        self.rows = list(rows)
        self._by_key = dict(((r.ad, r.fd, r.shape, r.ocpus, r.memory_in_gbs), r) for r in self.rows)

    def get(self, ad, fd, shape_cfg):
        return self._by_key.get((ad, fd, shape_cfg["shape"], float(shape_cfg["ocpus"]), float(shape_cfg["memory_in_gbs"])))

    def summary(self):
        parts = []
        for r in self.rows:
            state = "%s" % r.count if r.status == AVAILABLE and r.count is not None else ("ok" if r.status == AVAILABLE else "none")
            parts.append("%s@%s=%s" % (r.shape.replace("VM.Standard.", ""), short_fd(r.fd), state))
        return ", ".join(parts)


def fetch_report(clients, policy, tenancy_id, ad, shapes, fault_domains):
    """One CreateComputeCapacityReport call for every (shape config, fault domain) we are allowed to use."""
    details = CreateComputeCapacityReportDetails(
        compartment_id=tenancy_id,  # OCI: "This should always be the root compartment."
        availability_domain=ad,
        shape_availabilities=[
            CreateCapacityReportShapeAvailabilityDetails(
                instance_shape=cfg["shape"], fault_domain=fd,
                instance_shape_config=CapacityReportInstanceShapeConfig(ocpus=cfg["ocpus"], memory_in_gbs=cfg["memory_in_gbs"]))
            for cfg in shapes for fd in fault_domains
        ])
    response = policy.call("CreateComputeCapacityReport", clients.compute.create_compute_capacity_report, details)
    rows = []
    for item in response.data.shape_availabilities or []:
        cfg = item.instance_shape_config
        rows.append(Availability(ad, item.fault_domain, item.instance_shape,
                                 getattr(cfg, "ocpus", None) or 0, getattr(cfg, "memory_in_gbs", None) or 0,
                                 item.availability_status, item.available_count))
    return CapacityReport(rows)


class Planner(object):
    """Orders candidate placements for `deficit` nodes from a capacity report (see module docstring)."""

    def __init__(self, ad, shapes, fault_domains, allow_reservation=False, spread=True, probe_rounds=0):
        self.ad = ad
        self.shapes = list(shapes)
        self.fault_domains = list(fault_domains)
        self.allow_reservation = allow_reservation
        self.spread = spread
        self.probe_rounds = int(probe_rounds or 0)

    def _probe(self, deficit, report, skip, rnd):
        """One placement the report calls full, rotating over them round after round (primary shape first)."""
        reported_full = []
        for cfg in self.shapes:
            for fd in self.fault_domains:
                place = Placement(self.ad, [fd], cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"])
                row = report.get(self.ad, fd, cfg) if report else None
                if place not in skip and row is not None and row.status != "HARDWARE_NOT_SUPPORTED":
                    reported_full.append(place)
        if not reported_full:
            return []
        return [Candidate(reported_full[(rnd // self.probe_rounds - 1) % len(reported_full)], deficit, TIER_PROBE, 0)]

    def _available(self, report, cfg, skip):
        """[(fd, count or None)] with capacity for this shape config, most capacity first; unreported FDs last."""
        known, unknown = [], []
        for fd in self.fault_domains:
            if Placement(self.ad, [fd], cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"]) in skip:
                continue
            row = report.get(self.ad, fd, cfg) if report else None
            if row is None or row.status not in (AVAILABLE, OUT_OF_HOST_CAPACITY, "HARDWARE_NOT_SUPPORTED"):
                unknown.append((fd, None))  # not reported: worth a try, after the reported ones
            elif row.status == AVAILABLE and (row.count is None or row.count > 0):
                known.append((fd, row.count))
        known.sort(key=lambda item: -(item[1] if item[1] is not None else 10 ** 6))
        return known + unknown

    def plan(self, deficit, report, skip=(), prefer=(), rnd=0, probe=True):
        """Candidates in tier order. `skip`: placements that failed this round; `prefer`: placements of existing
        pools/VMs (growing those never recycles anything, so they go first within a tier); `rnd`: the caller's round
        number, for the probe tier; `probe`: false when the caller has no time left for one."""
        if deficit <= 0:
            return []
        skip = set(skip)
        full, partial = [], []
        for idx, cfg in enumerate(self.shapes):
            tier = TIER_FAULT_DOMAIN if idx == 0 else TIER_ALTERNATIVE_SHAPE
            avail = self._available(report, cfg, skip)
            share = -(-deficit // max(1, len(avail)))
            spread_fds = [fd for fd, count in avail if count is None or count >= share]
            if self.spread and len(avail) > 1 and len(spread_fds) == len(avail):
                place = Placement(self.ad, [fd for fd, _count in avail], cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"])
                if place not in skip:
                    known = [count for _fd, count in avail if count is not None]
                    full.append(Candidate(place, deficit, tier, sum(known) if len(known) == len(avail) else None))
            for fd, count in avail:
                place = Placement(self.ad, [fd], cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"])
                if count is None or count >= deficit:
                    full.append(Candidate(place, deficit, tier, count))
                else:
                    partial.append(Candidate(place, count, TIER_EXTRA_POOL, count))
        reservations = []
        if self.allow_reservation:
            for cfg in self.shapes:
                for fd in self.fault_domains:
                    place = Placement(self.ad, [fd], cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"], reservation=True)
                    if place not in skip:
                        reservations.append(Candidate(place, deficit, TIER_RESERVATION))
        prefer = set(p.key for p in prefer)

        def ordered(cands):
            # stable: preferred (existing) placements first inside each tier, original order otherwise
            return sorted(cands, key=lambda c: (TIER_ORDER.index(c.tier), c.placement.key not in prefer))

        probes = []
        if probe and self.probe_rounds and rnd and rnd % self.probe_rounds == 0 and not full and not partial:
            probes = self._probe(deficit, report, skip, rnd)
        return ordered(full) + ordered(partial) + reservations + probes
