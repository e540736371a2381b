"""The sandbox's world: resources, host capacity, work requests, retry tokens and counters.

Everything happens under one re-entrant lock. Time-driven changes (work request progress,
scheduled capacity changes, OKE reconciliation) are events on a heap keyed by sandbox-clock
time; `tick()` runs the due ones at the start of every request, so nothing needs a background
thread and a fast clock simply makes events due sooner.
"""

from __future__ import annotations

import copy
import heapq
import itertools
import secrets
import threading
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .clock import VirtualClock, iso
from .errors import not_found
from .faults import FaultPlan, Throttler
from .hooks import Hooks
from .scenario import CapacityPool, Scenario

# Resource collections in the store (and in the state dump).
KINDS = ("clusters", "node_pools", "instances", "vnic_attachments", "vnics", "capacity_reservations", "db_systems")
PENDING = ("ACCEPTED", "IN_PROGRESS")
GONE = ("DELETED", "TERMINATED")
# OCI lists deleted/terminated resources for a while (instances: "at least 12 hours",
# https://docs.oracle.com/en-us/iaas/Content/Compute/Tasks/terminatinginstance.htm) and keeps a retry token for
# 24 hours (https://docs.oracle.com/en-us/iaas/Content/API/Concepts/usingapi.htm#retrytoken).
GONE_LISTED_SECONDS = 12 * 3600
RETRY_TOKEN_SECONDS = 24 * 3600


@dataclass
class Pool:
    """Live free capacity of one (AD, FD, shape)."""

    spec: CapacityPool
    free_ocpus: float
    free_memory_gbs: float
    failures: int = 0
    applied_changes: list[int] = field(default_factory=list)

    def count(self, ocpus: float, memory: float) -> int:
        if ocpus <= 0 or memory <= 0:
            return 0
        if (self.spec.max_instance_ocpus is not None and ocpus > self.spec.max_instance_ocpus) or (
            self.spec.max_instance_memory_gbs is not None and memory > self.spec.max_instance_memory_gbs
        ):
            return 0
        return int(min(self.free_ocpus // ocpus, self.free_memory_gbs // memory))

    def dump(self) -> dict:
        return {
            "availability_domain": self.spec.availability_domain,
            "fault_domain": self.spec.fault_domain,
            "shape": self.spec.shape,
            "free_ocpus": self.free_ocpus,
            "free_memory_gbs": self.free_memory_gbs,
            "initial_ocpus": self.spec.ocpus,
            "initial_memory_gbs": self.spec.memory_gbs,
            "failures": self.failures,
            "applied_changes": self.applied_changes,
        }


@dataclass
class Allocation:
    """Capacity held by one instance: from a fault-domain pool or from a reservation config."""

    shape: str
    ocpus: float
    memory_gbs: float
    pool: tuple | None = None
    reservation: tuple | None = None  # (reservation id, config index)


@dataclass
class WorkRequest:
    id: str
    service: str  # "ce" (Container Engine) or "iaas" (compute)
    operation_type: str
    compartment_id: str
    resources: list[dict]
    time_accepted: float
    start_at: float
    finish_at: float
    on_start: Callable | None = None
    on_finish: Callable | None = None
    status: str = "ACCEPTED"
    time_started: float | None = None
    time_finished: float | None = None
    errors: list[dict] = field(default_factory=list)
    logs: list[dict] = field(default_factory=list)
    waiting_on: object = None  # a Future (boot hook) that must finish before the WR can

    @property
    def pending(self) -> bool:
        return self.status in PENDING

    def _resource_view(self, resource: dict) -> dict:
        # Recorded Container Engine work requests (oracle/oci-cli services/container_engine/tests/cassettes/
        # test_oce_fixture_node_pool.yml) show the resource's actionType IN_PROGRESS while ACCEPTED/IN_PROGRESS and
        # CREATED/UPDATED/DELETED once SUCCEEDED; RELATED entries (the pool's cluster) keep theirs. A failed one
        # shows FAILED (the SDK's WorkRequestResource.ACTION_TYPE_FAILED).
        if self.service != "ce" or resource.get("actionType") == "RELATED" or self.status == "SUCCEEDED":
            return dict(resource)
        return dict(resource, actionType="IN_PROGRESS" if self.pending else "FAILED")

    def next_transition(self) -> float:
        return self.start_at if self.status == "ACCEPTED" else self.finish_at

    def api(self) -> dict:
        body = {
            "id": self.id,
            "operationType": self.operation_type,
            "status": self.status,
            "compartmentId": self.compartment_id,
            "resources": [self._resource_view(r) for r in self.resources],
            "timeAccepted": iso(self.time_accepted),
            "timeStarted": iso(self.time_started) if self.time_started else None,
            "timeFinished": iso(self.time_finished) if self.time_finished else None,
        }
        if self.service in ("iaas", "mysql"):
            body["percentComplete"] = 100.0 if not self.pending else (50.0 if self.status == "IN_PROGRESS" else 0.0)
        return body


def public(value):
    """A JSON-able deep copy without the store's private ("_"-prefixed) bookkeeping keys."""
    if isinstance(value, dict):
        return {k: public(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("_"))}
    if isinstance(value, list | tuple):
        return [public(v) for v in value]
    return copy.deepcopy(value)


class Store:
    def __init__(self, scenario: Scenario, clock: VirtualClock, hooks: Hooks, settings: Callable[[], dict]):
        self.sc = scenario
        self.clock = clock
        self.hooks = hooks
        self.settings = settings
        self.lock = threading.RLock()
        self.run_id = secrets.token_hex(3)
        self._seq = itertools.count(1)
        self.resources: dict[str, dict[str, dict]] = {kind: {} for kind in KINDS}
        self.allocations: dict[str, Allocation] = {}  # instance id -> capacity it holds
        self.work_requests: dict[str, WorkRequest] = {}
        self.pending_wr: dict[str, str] = {}  # resource id -> its in-progress work request id
        self.retry_tokens: dict[tuple[str, str], dict] = {}
        self.node_quirks: Counter = Counter()  # stuck/failing nodes made so far
        self.events: list = []
        self.calls = Counter()
        self.statuses: dict[str, Counter] = defaultdict(Counter)
        self.status_totals = Counter()
        self.faults_fired: list[dict] = []
        self.auth_failures: list[dict] = []
        self.iam_denials: list[dict] = []  # calls refused by the scenario's iam_denied
        self.boot_failures: list[dict] = []  # boot hooks that raised: why an instance went TERMINATED
        # The last calls, oldest first: what a failing test or a benchmark prints to explain itself.
        self.request_log: deque = deque(maxlen=500)
        self.start = clock.now()
        self.throttler = Throttler(scenario.throttle, self.start)
        self.faults = FaultPlan(scenario.faults, scenario.seed)
        self.pools: dict[tuple, Pool] = {}
        for spec in scenario.capacity:
            key = (spec.availability_domain, spec.fault_domain, spec.shape)
            self.pools[key] = Pool(spec, spec.ocpus, spec.memory_gbs)
            for index, change in enumerate(spec.changes):
                if change.after_seconds is not None:
                    self.schedule(self.start + change.after_seconds, lambda k=key, i=index: self._apply_change(k, i))

    # -- identifiers, time, events -----------------------------------------------------------
    def ocid(self, kind: str) -> str:
        return f"ocid1.{kind}.oc1.{self.sc.region}.aaaaaaaa{self.run_id}{next(self._seq):07d}"

    def request_id(self) -> str:
        return secrets.token_hex(16).upper()

    def now(self) -> float:
        return self.clock.now()

    def schedule(self, when: float, fn: Callable) -> None:
        heapq.heappush(self.events, (when, next(self._seq), fn))

    def tick(self) -> None:
        """Run every event that is due on the sandbox clock (events may schedule more)."""
        while self.events and self.events[0][0] <= self.now():
            fn = heapq.heappop(self.events)[2]
            fn()

    # -- capacity ------------------------------------------------------------------------------
    def ad_names(self) -> list[str]:
        return [self.sc.ad_full_name(ad.name) for ad in self.sc.availability_domains]

    def short_ad(self, full_name: str) -> str | None:
        """The scenario's AD name for a full AD name from a request, or None if it is not ours."""
        for ad in self.sc.availability_domains:
            if full_name == self.sc.ad_full_name(ad.name):
                return ad.name
        return None

    def fault_domains(self, short_ad: str) -> list[str]:
        return next(ad.fault_domains for ad in self.sc.availability_domains if ad.name == short_ad)

    def available(self, short_ad: str, fault_domain: str, shape: str, ocpus: float, memory: float) -> int:
        pool = self.pools.get((short_ad, fault_domain, shape))
        return pool.count(ocpus, memory) if pool else 0

    def reported(self, short_ad: str, fault_domain: str, shape: str, ocpus: float, memory: float) -> int:
        """What a capacity report claims: the truth unless the scenario scripts a stale answer."""
        pool = self.pools.get((short_ad, fault_domain, shape))
        if pool is not None and pool.spec.reported is not None:
            return pool.spec.reported
        return self.available(short_ad, fault_domain, shape, ocpus, memory)

    def count_hidden(self, short_ad: str, fault_domain: str, shape: str) -> bool:
        """The scenario makes reports answer availableCount null for this pool (the status stays)."""
        pool = self.pools.get((short_ad, fault_domain, shape))
        return pool is not None and pool.spec.reported_null

    def shape_offered(self, short_ad: str, shape: str) -> bool:
        return any(k[0] == short_ad and k[2] == shape for k in self.pools)

    def take(self, short_ad: str, fault_domain: str, shape: str, ocpus: float, memory: float) -> Allocation | None:
        """Take capacity for one instance from a fault domain's pool, or record a failure (OOHC)."""
        key = (short_ad, fault_domain, shape)
        pool = self.pools.get(key)
        if pool is None:
            return None
        if pool.count(ocpus, memory) < 1:
            pool.failures += 1
            self._check_failure_changes(key)
            return None
        pool.free_ocpus -= ocpus
        pool.free_memory_gbs -= memory
        return Allocation(shape, ocpus, memory, pool=key)

    def note_failure(self, short_ad: str, fault_domain: str, shape: str) -> None:
        key = (short_ad, fault_domain, shape)
        if key in self.pools:
            self.pools[key].failures += 1
            self._check_failure_changes(key)

    def give_back(self, alloc: Allocation) -> None:
        if alloc.pool is not None and alloc.pool in self.pools:
            pool = self.pools[alloc.pool]
            pool.free_ocpus += alloc.ocpus
            pool.free_memory_gbs += alloc.memory_gbs
        if alloc.reservation is not None:
            reservation = self.resources["capacity_reservations"].get(alloc.reservation[0])
            if reservation is not None:
                config = reservation["instanceReservationConfigs"][alloc.reservation[1]]
                config["usedCount"] = max(0, config["usedCount"] - 1)
                reservation["usedInstanceCount"] = sum(c["usedCount"] for c in reservation["instanceReservationConfigs"])

    def ocpus_in_use(self, shape: str) -> float:
        return sum(a.ocpus for a in self.allocations.values() if a.shape == shape)

    def _check_failure_changes(self, key: tuple) -> None:
        pool = self.pools[key]
        for index, change in enumerate(pool.spec.changes):
            if change.after_failures is not None and pool.failures >= change.after_failures:
                self._apply_change(key, index)

    def _apply_change(self, key: tuple, index: int) -> None:
        pool = self.pools[key]
        if index in pool.applied_changes:
            return
        change = pool.spec.changes[index]
        pool.free_ocpus, pool.free_memory_gbs = change.ocpus, change.memory_gbs
        pool.applied_changes.append(index)

    # -- resources -------------------------------------------------------------------------------
    def get(self, kind: str, resource_id: str) -> dict:
        resource = self.resources[kind].get(resource_id)
        if resource is None:
            raise not_found()
        return resource

    def bury(self, resource: dict, state: str) -> None:
        """A resource reaches DELETED/TERMINATED now: it stays listed GONE_LISTED_SECONDS, then list calls omit it."""
        resource["lifecycleState"] = state
        resource.setdefault("_gone_at", self.now())

    def listed(self, resource: dict) -> bool:
        if resource.get("lifecycleState") not in GONE:
            return True
        return self.now() - resource.setdefault("_gone_at", self.now()) < GONE_LISTED_SECONDS

    def add(self, kind: str, resource: dict) -> dict:
        self.resources[kind][resource["id"]] = resource
        return resource

    # -- work requests ---------------------------------------------------------------------------
    def submit(
        self,
        service: str,
        operation_type: str,
        compartment_id: str,
        resources: list[dict],
        duration: float,
        on_start: Callable | None = None,
        on_finish: Callable | None = None,
        lock_ids: tuple = (),
    ) -> WorkRequest:
        """Create a work request: ACCEPTED now, IN_PROGRESS after `accept`, done `duration` later.

        `on_start(wr)` runs when it starts (capacity is decided then) and may append to
        `wr.errors`; `on_finish(wr)` runs at the end; errors make the request FAILED.
        """
        now = self.now()
        kind = "clustersworkrequest" if service == "ce" else "workrequest"
        start_at = now + self.sc.timings.accept
        wr = WorkRequest(self.ocid(kind), service, operation_type, compartment_id, resources, now, start_at, start_at + duration, on_start, on_finish)
        self.work_requests[wr.id] = wr
        for rid in lock_ids:
            self.pending_wr[rid] = wr.id
        wr.lock_ids = lock_ids
        self.schedule(wr.start_at, lambda: self._start(wr))
        return wr

    def _start(self, wr: WorkRequest) -> None:
        wr.status, wr.time_started = "IN_PROGRESS", self.now()
        if wr.on_start:
            wr.on_start(wr)
        self.schedule(wr.finish_at, lambda: self._finish(wr))

    def _finish(self, wr: WorkRequest) -> None:
        if wr.waiting_on is not None and not wr.waiting_on.done():
            # A boot hook is still running: look again a little later on the sandbox clock.
            wr.finish_at = self.now() + max(self.clock.request_seconds, 1.0)
            self.schedule(wr.finish_at, lambda: self._finish(wr))
            return
        if wr.on_finish:
            wr.on_finish(wr)
        wr.status = "FAILED" if wr.errors else "SUCCEEDED"
        wr.time_finished = self.now()
        for rid in getattr(wr, "lock_ids", ()):
            if self.pending_wr.get(rid) == wr.id:
                del self.pending_wr[rid]

    def fail(self, wr: WorkRequest, code: str, message: str) -> None:
        wr.errors.append({"code": code, "message": message, "timestamp": iso(self.now())})

    def wait_for(self, wr_id: str | None) -> None:
        """Fast clock: a client polling a pending work request waits for its next transition."""
        wr = self.work_requests.get(wr_id or "")
        if self.clock.fast and self.sc.clock.jump_on_poll and wr is not None and wr.pending:
            self.clock.advance_to(wr.next_transition())
            self.tick()

    # -- retry tokens and counters ---------------------------------------------------------------
    def token_resource_gone(self, entry: dict) -> str | None:
        """The id of the resource a stored retry token created, when it has been deleted/terminated since."""
        ids = [entry.get("resource_id")]
        wr = self.work_requests.get(entry.get("work_request_id") or "")
        if wr is not None:
            ids += [r["identifier"] for r in wr.resources if r.get("actionType") != "RELATED"]
        for rid in filter(None, ids):
            for items in self.resources.values():
                resource = items.get(rid)
                if resource is not None and resource.get("lifecycleState") in ("DELETING", "DELETED", "TERMINATING", "TERMINATED"):
                    return rid
        return None

    def count_call(self, operation: str) -> int:
        self.calls[operation] += 1
        return self.calls[operation]

    def count_status(self, operation: str, status: int, method: str = "", path: str = "") -> None:
        self.statuses[operation][str(status)] += 1
        self.status_totals[str(status)] += 1
        self.request_log.append({"t": round(self.clock.elapsed(), 3), "operation": operation, "status": status, "method": method, "path": path})

    # -- dump ------------------------------------------------------------------------------------
    def dump(self) -> dict:
        with self.lock:
            self.tick()
            resources = public(self.resources)
            live = {
                kind: sum(1 for r in items.values() if r.get("lifecycleState") not in ("DELETED", "TERMINATED", "DETACHED"))
                for kind, items in resources.items()
            }
            return {
                "scenario": self.sc.name,
                "region": self.sc.region,
                "clock": self.clock.dump(),
                "availability_domains": self.ad_names(),
                "resources": resources,
                "live_counts": live,
                "work_requests": {wid: {**wr.api(), "service": wr.service, "errors": wr.errors} for wid, wr in self.work_requests.items()},
                "capacity": [p.dump() for p in self.pools.values()],
                "allocations": {iid: public(a.__dict__) for iid, a in self.allocations.items()},
                "retry_tokens": [
                    {"operation": op, "token": tok, **{k: v for k, v in entry.items() if k != "body"}} for (op, tok), entry in self.retry_tokens.items()
                ],
                "counters": {
                    "calls": dict(self.calls),
                    "total_calls": sum(self.calls.values()),
                    "by_operation_status": {op: dict(c) for op, c in self.statuses.items()},
                    "by_status": dict(self.status_totals),
                    "faults_fired": self.faults_fired,
                    "auth_failures": self.auth_failures,
                    "iam_denials": self.iam_denials,
                    "boot_failures": self.boot_failures,
                },
                "request_log": list(self.request_log),
            }
