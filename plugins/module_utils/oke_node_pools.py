# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile the OKE node pools of one role (lms, services, ...) to N healthy labelled nodes.

Rules (OCI facts in docs/provision.md): a create/update succeeds at the API and fails later in the work
request; nodes that hit "Out of host capacity" stay in the pool with nodeError and no instance, so the pool
is shrunk by size; changing the placement of a pool recycles its nodes, so a pool with healthy nodes is only
ever grown in its own placement and every other placement gets a sibling pool (or re-uses an empty one).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

try:
    from oci.container_engine.models import (
        CreateNodePoolDetails,
        CreateNodePoolNodeConfigDetails,
        CreateNodeShapeConfigDetails,
        KeyValue,
        NodeEvictionNodePoolSettings,
        NodePoolCyclingDetails,
        NodePoolPlacementConfigDetails,
        NodeSourceViaImageDetails,
        UpdateNodePoolDetails,
        UpdateNodePoolNodeConfigDetails,
        UpdateNodeShapeConfigDetails,
    )
except ImportError:  # require_oci() reports it
    pass

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import Placement
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all, to_dict
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import (
    CONFLICT,
    LIMIT_EXCEEDED,
    NOT_FOUND,
    OUT_OF_CAPACITY,
    TIMEOUT,
    TRANSIENT,
    ApiError,
    CapacityExhausted,
    InputError,
    WorkRequestFailed,
    classify,
)
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_limits import check_fleet_room
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import is_owned, retry_token, token_epoch
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reconciler import Reconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reservations import release_all, release_reservation, reserve
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_retry import NOT_APPLIED_KINDS, RESEND, Operation
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_waiters import (
    CE_POLL_CAP,
    CE_POLL_FIRST,
    PENDING,
    ce_work_requests,
    wait_ce_work_request,
    wait_in_flight,
    wait_until,
    work_request_resource,
)

DEAD_STATES = ("DELETING", "DELETED")
# The SDK's Node lifecycle (oci/container_engine/models/node.py): CREATING, ACTIVE, UPDATING, DELETING, DELETED,
# FAILING, INACTIVE. There is no FAILED: a node that will not come is FAILING, or carries node_error.
FAILED_NODE_STATES = ("FAILING", "INACTIVE")
PROGRESSING_NODE_STATES = ("CREATING", "UPDATING")
# kubernetes/autoscaler's OCI provider gives up a node that stays Updating past --max-node-provision-time (15 min by
# default) without an OKE error (kubernetes/autoscaler#8840).
NODE_STUCK_TIMEOUT = 900
COMPONENT = "node_pool"
# A probe placement is a create/resize work request and, when it fails, a shrink: minutes each.
PROBE_MIN_REMAINING = 900


def missing_nodes(clients, policy, params):
    """Nodes a role's pools ({role, count, compartment_id, deployment}) still have to grow by: the count less the
    size of this deployment's live pools of that role in the compartment (in any cluster; none before the first)."""
    summaries = list_all(policy, "ListNodePools", clients.ce.list_node_pools, compartment_id=params["compartment_id"])
    size = sum((s.node_config_details.size or 0) if s.node_config_details else 0 for s in summaries
               if s.lifecycle_state not in DEAD_STATES and is_owned(s, params["deployment"], COMPONENT, params["role"]))
    return max(0, params["count"] - size)


class NodeWatch(object):
    """How long each coming node has shown the same state and details in this run (the Node model carries no
    timestamps): one without progress and without node_error for `timeout` seconds is counted as failed."""

    def __init__(self, policy, timeout=NODE_STUCK_TIMEOUT):
        self.policy = policy
        self.timeout = float(timeout)
        self._seen = {}

    def stuck_for(self, node):
        """Seconds `node` has shown the same state, details and address once that reaches the timeout; None before
        (and for nodes that are ACTIVE, failed or carry node_error)."""
        if node.lifecycle_state not in PROGRESSING_NODE_STATES or node.node_error:
            return None
        key = node.id or node.name
        signature = (node.lifecycle_state, node.lifecycle_details, node.private_ip)
        now = self.policy.elapsed()
        first = self._seen.get(key)
        if first is None or first[0] != signature:
            self._seen[key] = (signature, now)
            return None
        return now - first[1] if now - first[1] >= self.timeout else None


class PoolState(object):
    """What one existing pool holds right now."""

    def __init__(self, pool, watch=None):
        self.pool = pool
        self.id = pool.id
        self.name = pool.name
        self.lifecycle_state = pool.lifecycle_state
        cfg = pool.node_config_details
        placements = (cfg.placement_configs or []) if cfg else []
        first = placements[0] if placements else None
        shape_cfg = pool.node_shape_config
        self.reservation_id = getattr(first, "capacity_reservation_id", None) if first else None
        self.placement = Placement(
            first.availability_domain if first else None,
            (first.fault_domains or []) if first else [],
            pool.node_shape,
            getattr(shape_cfg, "ocpus", 0) or 0,
            getattr(shape_cfg, "memory_in_gbs", 0) or 0,
            reservation=bool(self.reservation_id),
        )
        self.size = (cfg.size or 0) if cfg else 0
        nodes = [n for n in (pool.nodes or []) if n.lifecycle_state not in ("DELETED", "DELETING")]
        self.healthy = [n for n in nodes if n.lifecycle_state == "ACTIVE" and not n.node_error]
        self.stuck = [n for n in nodes if watch is not None and watch.stuck_for(n) is not None]
        self.failed = [n for n in nodes if n.node_error or n.lifecycle_state in FAILED_NODE_STATES or n in self.stuck]
        self.pending = [n for n in nodes if n not in self.healthy and n not in self.failed]
        self.labels = dict((kv.key, kv.value) for kv in (pool.initial_node_labels or []))

    @property
    def free(self):
        """No healthy or pending node: its placement can change without recycling anything."""
        return not self.healthy and not self.pending

    def summary(self):
        return {"id": self.id, "name": self.name, "placement": self.placement.as_dict(), "size": self.size,
                "healthy_nodes": len(self.healthy), "failed_nodes": len(self.failed), "pending_nodes": len(self.pending),
                "lifecycle_state": self.lifecycle_state, "capacity_reservation_id": self.reservation_id,
                "nodes": [{"id": n.id, "name": n.name, "fault_domain": n.fault_domain, "private_ip": n.private_ip,
                           "lifecycle_state": n.lifecycle_state,
                           "node_error": to_dict(n.node_error) if n.node_error else None} for n in (self.pool.nodes or [])]}


class NodePoolReconciler(Reconciler):

    COMPONENT = COMPONENT

    def __init__(self, clients, policy, params, check_mode=False):
        super(NodePoolReconciler, self).__init__(clients, policy, params, check_mode)
        self.labels = dict(params.get("node_labels") or {})
        self.labels[params["label_key"]] = params["role"]
        self.tags = self.owned_tags(params["role"])
        self._dead_ids = []
        self._seen_wrs = {}
        self._last_pool_id = None
        self.pools = []  # PoolState of each owned pool, refreshed after every change
        self.watch = NodeWatch(policy, params.get("node_stuck_timeout") or NODE_STUCK_TIMEOUT)

    # --- reading -----------------------------------------------------------------------------------
    def read(self):
        """Owned pools of this role, refreshed with their nodes. A same-named pool we do not own is an error."""
        summaries = list_all(self.policy, "ListNodePools", self.clients.ce.list_node_pools,
                             compartment_id=self.p["compartment_id"], cluster_id=self.p["cluster_id"])
        mine = []
        self._dead_ids = sorted(s.id for s in summaries if s.lifecycle_state in DEAD_STATES)
        for s in summaries:
            if s.lifecycle_state in DEAD_STATES:
                continue
            if is_owned(s, self.p["deployment"], COMPONENT, self.p["role"]):
                mine.append(s)
            elif s.name == self.p["name"] or (s.name or "").startswith(self.p["name"] + "-"):
                raise InputError("node pool %r (%s) already exists in the cluster but does not carry this deployment's ownership tags."
                                 % (s.name, s.id), field="name",
                                 fix="choose another pool name, or tag the pool with %s=%s if it really is ours." % (
                                     "openedx_scale_deployment", self.p["deployment"]))
        return [self._get(s.id) for s in sorted(mine, key=lambda x: x.name)]

    def _get(self, pool_id):
        return PoolState(self.policy.call("GetNodePool", self.clients.ce.get_node_pool, pool_id).data, self.watch)

    # --- mutations ---------------------------------------------------------------------------------
    def _placement_details(self, placement, reservation_id=None):
        return [NodePoolPlacementConfigDetails(availability_domain=placement.ad, subnet_id=self.p["subnet_id"],
                                               fault_domains=list(placement.fds), capacity_reservation_id=reservation_id)]

    def _wait(self, response, what):
        wr_id = response.headers.get("opc-work-request-id")
        if not wr_id:
            raise ApiError(what, classify(Exception("no opc-work-request-id header in the response")))
        return wait_ce_work_request(self.clients, self.policy, self.p["compartment_id"], wr_id)

    def _create(self, name, placement, size, reservation_id=None):
        details = CreateNodePoolDetails(
            compartment_id=self.p["compartment_id"], cluster_id=self.p["cluster_id"], name=name,
            kubernetes_version=self.p["kubernetes_version"], node_shape=placement.shape,
            node_shape_config=CreateNodeShapeConfigDetails(ocpus=placement.ocpus, memory_in_gbs=placement.memory_in_gbs),
            node_source_details=NodeSourceViaImageDetails(source_type="IMAGE", image_id=self.p["image_id"],
                                                          boot_volume_size_in_gbs=self.p.get("boot_volume_size_in_gbs")),
            initial_node_labels=[KeyValue(key=k, value=v) for k, v in sorted(self.labels.items())],
            ssh_public_key=self.p.get("ssh_public_key"),
            node_config_details=CreateNodePoolNodeConfigDetails(size=size, placement_configs=self._placement_details(placement, reservation_id),
                                                                freeform_tags=dict(self.tags)),
            # scarce capacity: never surge during cycling, and delete without waiting on drains
            node_pool_cycling_details=NodePoolCyclingDetails(is_node_cycling_enabled=False, maximum_surge="0", maximum_unavailable="1"),
            node_eviction_node_pool_settings=NodeEvictionNodePoolSettings(eviction_grace_duration="PT0M", is_force_delete_after_grace_duration=True),
            freeform_tags=dict(self.tags),
        )
        token = retry_token("node_pool", self.p["deployment"], self.p["cluster_id"], name, placement.key, size, token_epoch(self.policy.wall()),
                            *self._dead_ids)
        self._act("create", name=name, placement=placement.label(), size=size)
        response = self.policy.call_create("CreateNodePool", self.clients.ce.create_node_pool, details, token)
        try:
            wr = self._wait(response, "CreateNodePool")
        except WorkRequestFailed:
            # A failed create still leaves the pool (with failed nodes): find it so it is shrunk, never duplicated.
            self._last_pool_id = self._find(name)
            raise
        return work_request_resource(wr, "nodepool") or self._find(name)

    def _find(self, name):
        for state in self.read():
            if state.name == name:
                return state.id
        return None

    def _update_details(self, state, size=None, placement=None, reservation_id=None, labels=False):
        node_cfg = UpdateNodePoolNodeConfigDetails(size=size if size is not None else state.size)
        details = UpdateNodePoolDetails(node_config_details=node_cfg)
        if placement is not None:
            node_cfg.placement_configs = self._placement_details(placement, reservation_id)
            details.node_shape = placement.shape
            # The update API takes its own model; the SDK rejects the create-time one.
            details.node_shape_config = UpdateNodeShapeConfigDetails(ocpus=placement.ocpus, memory_in_gbs=placement.memory_in_gbs)
        if labels:
            details.initial_node_labels = [KeyValue(key=k, value=v) for k, v in sorted(self.labels.items())]
        return details

    def _landed(self, state, size, placement, reservation_id, labels):
        """True when the pool already holds what an update asks for (so the update was applied, or is not needed)."""
        if size is not None and state.size != size:
            return False
        if placement is not None and (state.placement != placement or state.reservation_id != reservation_id):
            return False
        return not labels or state.labels == self.labels

    def _busy_work_requests(self, pool_id):
        """After a 409: the pool's work requests still in flight (possibly none: one that started after we last looked
        finished meanwhile), or None when OKE had nothing running on the pool, so the 409 is about the request itself."""
        every = ce_work_requests(self.clients, self.policy, self.p["compartment_id"], pool_id)
        known = set(self._seen_wrs.get(pool_id, ()))
        self._seen_wrs[pool_id] = [wr.id for wr in every]
        pending = [wr for wr in every if wr.status in PENDING]
        if pending or any(wr.id not in known for wr in every):
            return pending
        return None

    def _update_landed(self, state, size=None, placement=None, reservation_id=None, labels=False):
        """After a lost answer: the NODEPOOL_UPDATE work request our update started, if OKE accepted it."""
        if not self._landed(self._get(state.id), size, placement, reservation_id, labels):
            return None
        known = set(self._seen_wrs.get(state.id, ()))
        mine = [wr for wr in ce_work_requests(self.clients, self.policy, self.p["compartment_id"], state.id)
                if wr.operation_type == "NODEPOOL_UPDATE" and wr.id not in known]
        return mine[-1] if mine else None

    def _mutate(self, pool_id, plan):
        """Apply plan(fresh state) -> update kwargs (or None: nothing to do) as one PoolUpdate; the pool as it is then."""
        update = PoolUpdate(self, pool_id, plan)
        self.policy.run(update)
        return self._get(pool_id) if update.applied else update.state

    def _note_wrs(self, pool_id):
        """Remember the pool's work requests before an update, so a lost answer can tell ours from older ones."""
        if pool_id not in self._seen_wrs:
            self._seen_wrs[pool_id] = [wr.id for wr in ce_work_requests(self.clients, self.policy, self.p["compartment_id"], pool_id)]

    def _delete(self, state):
        self._act("delete", name=state.name)
        self.policy.run(PoolDelete(self, state))
        if state.reservation_id:
            release_reservation(self.clients, self.policy, state.reservation_id, self.p["deployment"])

    def _shrink_failed(self, pools):
        """Drop nodes that carry nodeError by shrinking their pool to what is healthy or still coming."""
        out = []
        for state in pools:
            if not state.failed:
                out.append(state)
                continue

            def plan(current):
                if current.pending and not current.failed:
                    # OKE's own reconcile is replacing the failed nodes: its outcome decides what is left to do
                    wait_in_flight(self.clients, self.policy, self.p["compartment_id"], current.id, "node pool %s" % current.name)
                    current = self._get(current.id)
                if not current.failed:
                    return None  # OKE's reconcile replaced them meanwhile
                keep = len(current.healthy) + len(current.pending)
                first = current.failed[0]
                if first.node_error:
                    why = (first.node_error.message or "")[:80]
                elif first in current.stuck:
                    why = "%s without progress or node_error for %ds (node_stuck_timeout)" % (first.lifecycle_state, self.watch.timeout)
                else:
                    why = first.lifecycle_state
                self.progress.line("shrink %s %s -> %d: kept %d of %d node(s) (%d failed: %s)" % (
                    current.name, current.placement.label(), keep, keep, current.size, len(current.failed), why))
                return {"size": keep}

            out.append(self._mutate(state.id, plan))
        return out

    def _settle(self, pools):
        """Wait for nodes still being created by an earlier (interrupted) run before counting."""
        out = []
        for state in pools:
            if state.pending:
                out.append(wait_until(self.policy, "nodes of %s" % state.name, lambda sid=state.id: self._get(sid), lambda s: not s.pending,
                                      first=CE_POLL_FIRST, cap=CE_POLL_CAP))
            else:
                out.append(state)
        return out

    # --- present -----------------------------------------------------------------------------------
    def _sibling_name(self, pools):
        taken = set(s.name for s in pools)
        if self.p["name"] not in taken:
            return self.p["name"]
        idx = 2
        while "%s-%d" % (self.p["name"], idx) in taken:
            idx += 1
        return "%s-%d" % (self.p["name"], idx)

    def _try(self, candidate, want):
        """Apply one candidate for `want` nodes; self.pools is refreshed with the pool it touched."""
        pools = self.pools
        place = candidate.placement
        reservation_id = None
        if place.reservation:
            reservation_id, reserved = reserve(self.clients, self.policy, self.p, place, min(want, candidate.count), self.p["role"])
            if not reserved:
                raise ApiError("CreateComputeCapacityReservation", classify(_OutOfCapacity()))
            want = min(want, reserved)
        same = [s for s in pools if s.placement == place and (not place.reservation or s.reservation_id == reservation_id)]
        free = [s for s in pools if s.free and s not in same]
        pool_id = None
        refresh = False
        try:
            if same:
                target = same[0]
                pool_id = target.id
                had = len(target.healthy) + len(target.pending)

                def grow(current):
                    # nodes OKE's own reconcile brought meanwhile count towards `want`
                    extra = want - max(0, len(current.healthy) + len(current.pending) - had)
                    return {"size": len(current.healthy) + len(current.pending) + extra} if extra > 0 else None

                self._mutate(target.id, grow)
            elif free:
                target = sorted(free, key=lambda s: s.name != self.p["name"])[0]
                pool_id = target.id
                self._mutate(target.id, lambda current: {"size": want, "placement": place, "reservation_id": reservation_id} if current.free else None)
            else:
                self._last_pool_id = None
                try:
                    pool_id = self._create(self._sibling_name(pools), place, want, reservation_id)
                except WorkRequestFailed:
                    pool_id = self._last_pool_id
                    raise
            refresh = True
        except (ApiError, WorkRequestFailed) as exc:
            failure = exc.failure if isinstance(exc, ApiError) else classify(exc)
            refresh = failure.kind in (OUT_OF_CAPACITY, LIMIT_EXCEEDED)  # the run goes on: it needs the pool as it is now
            raise
        finally:
            if pool_id and refresh:
                refreshed = self._get(pool_id)
                self.pools = [s for s in self.pools if s.id != pool_id] + [refreshed]

    UNIT = "node(s)"
    PROBE_MIN_REMAINING = PROBE_MIN_REMAINING

    def ensure_present(self):
        count = self.p["count"]
        self.pools = pools = self._settle(self.read())
        healthy = sum(len(s.healthy) for s in pools)
        failed = sum(len(s.failed) for s in pools)
        stale_labels = [s for s in pools if s.labels != self.labels]
        # Room for the nodes still to come (read-only), before a pool is created or grown: node addresses in the
        # subnet and the shape's compute limits (pods' addresses under VCN-native networking are not counted).
        check_fleet_room(self.clients, self.policy, self.p["tenancy_id"], self.p["compartment_id"], self.p["availability_domain"],
                         [{"field": "count", "count": max(0, count - sum(s.size for s in pools)), "subnet_id": self.p["subnet_id"],
                           "configs": self.p["shapes"]}])
        if self.check_mode:
            if healthy != count or failed or stale_labels or sum(s.size for s in pools) != count:
                self._act("plan", healthy=healthy, wanted=count, failed_nodes=failed)
            return self._result(pools)
        for state in stale_labels:
            self._mutate(state.id, lambda current: {"labels": True} if current.labels != self.labels else None)
        self.pools = self._shrink_failed(pools)
        if healthy > count:
            self.pools = self._scale_down(self.pools, healthy - count)
        self.planner = self.new_planner()
        self.capacity_rounds()
        # empty sibling pools (left by failed placements) are removed once the target is reached
        for state in list(self.pools):
            if state.free and state.name != self.p["name"] and state.size == 0:
                self._delete(state)
                self.pools.remove(state)
        return self._result(self.pools)

    # --- the capacity rounds' hooks ------------------------------------------------------------------------------
    def _ready(self):
        return sum(len(s.healthy) for s in self.pools)

    def missing(self):
        return self.p["count"] - self._ready()

    def preferred_placements(self):
        return [s.placement for s in self.pools if s.healthy]

    def attempt(self, candidate):
        want = min(self.missing(), candidate.count)
        before = self._ready()
        reason = None
        try:
            self._try(candidate, want)
            # nodes still coming are waited for until they are ACTIVE, fail, or pass node_stuck_timeout
            self.pools = self._settle(self.pools)
        except (ApiError, WorkRequestFailed) as exc:
            failure = exc.failure if isinstance(exc, ApiError) else classify(exc)
            if failure.kind not in (OUT_OF_CAPACITY, LIMIT_EXCEEDED):
                raise
            reason = failure.short()
        added = self._ready() - before
        if added >= want:
            self.progress.attempt(candidate.placement.label(), "ok", "+%d node(s) (%s)" % (added, candidate.tier), round=self.round, tier=candidate.tier)
            return
        # say what was kept: an attempt that got 2 of 5 nodes is partial, not failed
        outcome = "partial" if added > 0 else "failed"
        reason = "kept %d of %d node(s)%s" % (max(0, added), want, " (%s)" % reason if reason else "")
        self._note_overstated(self.report, self.pools)
        self.pools = self._shrink_failed(self.pools)
        self.progress.attempt(candidate.placement.label(), outcome, reason, next_wait=0, round=self.round, tier=candidate.tier)

    def exhausted(self, wait):
        empty = sorted(s.name for s in self.pools if s.size == 0)
        kept = "; empty pool(s) %s kept for the next run to reuse (teardown removes them)" % ", ".join(empty) if empty else ""
        return CapacityExhausted(
            "node pool %s: %d of %d node(s) still missing and the next round (in %.0fs) would pass the %ss deadline; "
            "nothing is left half-created (failed nodes were shrunk away)%s."
            % (self.p["name"], self.missing(), self.p["count"], wait, self.p["wait_timeout"], kept),
            attempts_table=self.progress.table(), details={"pools": [s.summary() for s in self.pools]})

    def _note_overstated(self, report, pools):
        """Fault domains where nodes just failed although the report claimed room are dropped from the plan for the
        rest of the run, so the pool kept there is not grown into them again and no new placement includes them."""
        for state in pools:
            cfg = {"shape": state.placement.shape, "ocpus": state.placement.ocpus, "memory_in_gbs": state.placement.memory_in_gbs}
            # only launch failures (node_error) say anything about capacity; a stuck or FAILING node had an instance
            for fd in sorted(set(fd for n in state.failed if n.node_error for fd in self._failed_fault_domains(state, n))):
                if self.planner.note_overstated(report, fd, cfg):
                    self.progress.line("capacity report overstated %s in %s: dropped from the placements for this run" % (
                        state.placement.shape, fd))

    @staticmethod
    def _failed_fault_domains(state, node):
        """Where a failed node was meant to run. A node that never launched may carry no fault_domain: then it is the
        pool's placement fault domains that hold none of its live nodes (OKE spreads nodes over them), or none."""
        if node.fault_domain:
            return [node.fault_domain]
        landed = set(n.fault_domain for n in state.healthy + state.pending if n.fault_domain)
        return [fd for fd in state.placement.fds if fd not in landed]

    def _scale_down(self, pools, surplus):
        for state in sorted(pools, key=lambda s: (s.name == self.p["name"], s.name), reverse=False):
            if surplus <= 0:
                break
            cut = min(surplus, len(state.healthy))
            if cut:
                self._mutate(state.id, lambda current, size=state.size - cut: {"size": size} if current.size != size else None)
                surplus -= cut
        return [self._get(s.id) for s in pools]

    # --- absent ------------------------------------------------------------------------------------
    def ensure_absent(self):
        """Delete the role's pools (none to look for when the cluster is gone), then sweep the role's capacity
        reservations by ownership tag: one left by an interrupted run, or by a cluster deleted with its pools, is
        released only here (OCI bills a reservation while it exists)."""
        pools = self.read() if self.p.get("cluster_id") else []
        for state in pools:
            if self.check_mode:
                self._act("delete", name=state.name)
            else:
                self._delete(state)
        for reservation_id in release_all(self.clients, self.policy, self.p["compartment_id"], self.p["deployment"], self.p["role"], self.check_mode):
            self._act("release_reservation", id=reservation_id)
        return self._result([] if not self.check_mode else pools)

    def _result(self, pools):
        nodes_ready = sum(len(s.healthy) for s in pools)
        return {
            "changed": self.changed,
            "pools": [s.summary() for s in sorted(pools, key=lambda x: x.name)],
            "ready_nodes": nodes_ready,
            "labels": self.labels,
            "actions": self.actions,
            "attempts": self.progress.attempts,
            "progress": self.progress.lines,
        }


class PoolUpdate(Operation):
    """UpdateNodePool of one pool, planned on the pool as it is: plan(state) -> update kwargs (size, placement,
    reservation_id, labels), or None when nothing is to change. One budget covers every repeat.

    It has no retry token, so it is never sent twice blindly: after a lost answer (5xx, timeout) the pool and its work
    requests are read first, and an update that landed is waited for, not repeated. A 409 Conflict is not transient
    (OCI's errors reference): only when the pool's work requests show OKE busy (one in flight, or one that started
    since we last looked) is it waited for, and the update planned again on what OKE's work request left; otherwise it
    is a validation conflict and fails at once with OCI's message."""

    name = "UpdateNodePool"
    retry_kinds = NOT_APPLIED_KINDS

    def __init__(self, reconciler, pool_id, plan):
        self.r = reconciler
        self.pool_id = pool_id
        self.plan = plan
        self.state = None
        self.kwargs = None
        self.details = None  # None: plan (again) before the next send
        self.budget = None
        self.applied = False

    def prepare(self):
        if self.details is not None:
            return True
        self.state = self.r._get(self.pool_id)
        self.r._note_wrs(self.pool_id)
        self.kwargs = self.plan(self.state)
        if self.kwargs is None:
            return False
        self.budget = self.budget or self.r.policy.budget("UpdateNodePool on node pool %s" % self.state.name)
        self.details = self.r._update_details(self.state, **self.kwargs)
        return True

    def send(self):
        return self.r.clients.ce.update_node_pool(self.pool_id, self.details)

    def _act(self):
        placement = self.kwargs.get("placement")
        self.r._act("update", name=self.state.name, size=self.details.node_config_details.size, placement=placement.label() if placement else None,
                    labels=self.kwargs.get("labels", False))
        self.applied = True

    def sent(self, response):
        self._act()
        return self.r._wait(response, "UpdateNodePool")

    def recover(self, error):
        failure = error.failure
        if failure.kind == CONFLICT:
            busy = self.r._busy_work_requests(self.pool_id)
            if busy is None:
                raise error
            self.budget.charge(failure, error)
            wait_in_flight(self.r.clients, self.r.policy, self.r.p["compartment_id"], self.pool_id, "node pool %s busy (409)" % self.state.name, busy)
            self.details = None
            return RESEND
        if failure.kind not in (TRANSIENT, TIMEOUT):
            raise error
        landed = self.r._update_landed(self.state, **self.kwargs)
        if landed is not None:
            self.r.progress.line("UpdateNodePool on %s: the answer was lost (%s) but %s accepted it; waiting for it, not sending it again"
                                 % (self.state.name, failure.short(), landed.id))
            self._act()
            return wait_ce_work_request(self.r.clients, self.r.policy, self.r.p["compartment_id"], landed.id)
        self.budget.charge(failure, error)
        wait = self.r.policy.backoff(self.budget.used)
        self.r.progress.line("UpdateNodePool on %s not applied (%s); sending it again in %.0fs" % (self.state.name, failure.short(), wait))
        self.budget.wait(wait, failure, error)
        return RESEND


class PoolDelete(Operation):
    """DeleteNodePool of one pool, which has no retry token either: after a 409 (only while OKE is busy on the pool)
    or a lost answer, whatever runs on the pool (our delete included) is waited for and the pool re-read; it is sent
    again only while the pool still lives. One budget covers every repeat."""

    name = "DeleteNodePool"
    retry_kinds = NOT_APPLIED_KINDS

    def __init__(self, reconciler, state):
        self.r = reconciler
        self.state = state
        self.budget = reconciler.policy.budget("DeleteNodePool on node pool %s" % state.name)

    def send(self):
        return self.r.clients.ce.delete_node_pool(self.state.id, override_eviction_grace_duration="PT0M",
                                                  is_force_deletion_after_override_grace_duration=True)

    def sent(self, response):
        return self.r._wait(response, "DeleteNodePool")

    def recover(self, error):
        failure = error.failure
        if failure.kind == NOT_FOUND:
            return None
        if failure.kind not in (CONFLICT, TRANSIENT, TIMEOUT):
            raise error
        pending = None
        if failure.kind == CONFLICT:
            pending = self.r._busy_work_requests(self.state.id)
            if pending is None:
                raise error  # nothing runs on the pool: OCI refuses the delete itself
        self.budget.charge(failure, error)
        wait_in_flight(self.r.clients, self.r.policy, self.r.p["compartment_id"], self.state.id,
                       "node pool %s (%s)" % (self.state.name, failure.short()), pending)
        current = self.r.policy.call("GetNodePool", self.r.clients.ce.get_node_pool, self.state.id).data
        return None if current.lifecycle_state in DEAD_STATES else RESEND


class _OutOfCapacity(Exception):
    """Stand-in so a reservation that got nothing is classified like an out-of-capacity launch."""

    status = 500
    code = "InternalError"
    message = "Out of host capacity (capacity reservation got 0 instances)."
    request_id = None
