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

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import ApiError

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

    def __init__(self, rows, denied=None):
        self.rows = list(rows)
        self.denied = denied
        self._by_key = dict(((r.ad, r.fd, r.shape, r.ocpus, r.memory_in_gbs), r) for r in self.rows)

    def get(self, ad, fd, shape_cfg):
        return self._by_key.get((ad, fd, shape_cfg["shape"], float(shape_cfg["ocpus"]), float(shape_cfg["memory_in_gbs"])))

    def summary(self):
        if self.denied:
            return "denied (%s)" % self.denied
        parts = []
        for r in self.rows:
            state = "%s" % r.count if r.status == AVAILABLE and r.count is not None else ("unknown" if r.status == AVAILABLE else "none")
            parts.append("%s@%s=%s" % (r.shape.replace("VM.Standard.", ""), short_fd(r.fd), state))
        return ", ".join(parts)


# The report is made in the root compartment, so it needs a tenancy-level statement (its one permission,
# COMPUTE_CAPACITY_REPORT_CREATE, comes with `manage`); docs/provision.md lists every statement the stage needs.
REPORT_POLICY = "Allow group <your-group> to manage compute-capacity-reports in tenancy"
DENIED_STATUSES = (401, 403, 404)


def fetch_report(clients, policy, tenancy_id, ad, shapes, fault_domains, memo=None):
    """One CreateComputeCapacityReport call for every (shape config, fault domain) we are allowed to use.

    The report is advisory: when it is denied (404 NotAuthorizedOrNotFound for a missing policy) an empty report is
    returned and one warning names the missing statement; every placement is then unreported, so the planner probes
    them. `memo` (a dict the caller keeps) remembers the denial, so later rounds do not ask again.
    """
    if memo is not None and memo.get("denied"):
        return CapacityReport([], denied=memo["denied"])
    details = CreateComputeCapacityReportDetails(
        compartment_id=tenancy_id,  # OCI: "This should always be the root compartment."
        availability_domain=ad,
        shape_availabilities=[
            CreateCapacityReportShapeAvailabilityDetails(
                instance_shape=cfg["shape"], fault_domain=fd,
                instance_shape_config=CapacityReportInstanceShapeConfig(ocpus=cfg["ocpus"], memory_in_gbs=cfg["memory_in_gbs"]))
            for cfg in shapes for fd in fault_domains
        ])
    try:
        response = policy.call("CreateComputeCapacityReport", clients.compute.create_compute_capacity_report, details)
    except ApiError as exc:
        if exc.failure.status not in DENIED_STATUSES:
            raise
        denied = "%s %s" % (exc.failure.status, exc.failure.code or "")
        policy.progress.warn(
            "The compute capacity report was denied (%s) in the root compartment %s; it is advisory, so placements are probed "
            "without it (slower). To use it, add the IAM policy statement: %s" % (denied.strip(), tenancy_id, REPORT_POLICY))
        if memo is not None:
            memo["denied"] = denied.strip()
        return CapacityReport([], denied=denied.strip())
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
        # (fd, shape, ocpus, memory) the report called AVAILABLE where launches then failed: read as full for the rest
        # of the run (only a probe tries them again)
        self.overstated = set()

    def note_overstated(self, report, fd, cfg):
        """A launch failed for lack of capacity in `fd`; remember it if the report had claimed room there."""
        key = (fd, cfg["shape"], float(cfg["ocpus"]), float(cfg["memory_in_gbs"]))
        row = report.get(self.ad, fd, cfg) if report else None
        if row is not None and row.status == AVAILABLE and key not in self.overstated:
            self.overstated.add(key)
            return True
        return False

    def dropped(self, placement):
        """True when the placement includes a fault domain the report overstated (a candidate planned before it was)."""
        return any((fd, placement.shape, placement.ocpus, placement.memory_in_gbs) in self.overstated for fd in placement.fds)

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
        """[(fd, count or None)] with capacity for this shape config: reported counts first (most first), then FDs
        reported AVAILABLE with a null count (unknown, not unlimited), then FDs the report does not cover."""
        known, unknown, unreported = [], [], []
        for fd in self.fault_domains:
            if Placement(self.ad, [fd], cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"]) in skip:
                continue
            if (fd, cfg["shape"], float(cfg["ocpus"]), float(cfg["memory_in_gbs"])) in self.overstated:
                continue
            row = report.get(self.ad, fd, cfg) if report else None
            if row is None or row.status not in (AVAILABLE, OUT_OF_HOST_CAPACITY, "HARDWARE_NOT_SUPPORTED"):
                unreported.append((fd, None))  # not reported: worth a try, after the reported ones
            elif row.status == AVAILABLE and row.count is None:
                unknown.append((fd, None))
            elif row.status == AVAILABLE and row.count > 0:
                known.append((fd, row.count))
        known.sort(key=lambda item: -item[1])
        return known + unknown + unreported

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
            # Spread over the FDs with a reported count; only when none has one (report denied or all null) over all.
            counted = [item for item in avail if item[1] is not None] or avail
            share = -(-deficit // max(1, len(counted)))
            if self.spread and len(counted) > 1 and all(count is None or count >= share for _fd, count in counted):
                place = Placement(self.ad, [fd for fd, _count in counted], cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"])
                if place not in skip:
                    known = [count for _fd, count in counted if count is not None]
                    full.append(Candidate(place, deficit, tier, sum(known) if len(known) == len(counted) else None))
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
