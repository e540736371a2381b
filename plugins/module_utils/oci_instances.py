# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reconcile N compute instances named <name>-01..<name>-NN with the same capacity logic as node pools.

LaunchInstance fails synchronously with 500 "Out of host capacity." (the planner moves on, no retry of the
same placement); a LimitExceeded is often false, so instances are re-listed by display name before
anything else; every launch carries a deterministic opc-retry-token.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

try:
    from oci.core.models import CreateVnicDetails, InstanceSourceViaImageDetails, LaunchInstanceDetails, LaunchInstanceShapeConfigDetails
except ImportError:  # require_oci() reports it
    pass

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import Placement
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import (
    FATAL,
    LIMIT_EXCEEDED,
    OUT_OF_CAPACITY,
    ApiError,
    CapacityExhausted,
    Failure,
    InputError,
)
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_limits import check_fleet_room
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import is_owned, retry_token, token_epoch
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reconciler import Reconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reservations import release_all, reserve
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_waiters import wait_until

COMPONENT = "instance"
GONE = ("TERMINATING", "TERMINATED")
UP = ("RUNNING",)
MAX_REPLACEMENTS = 2


def instance_ips(clients, policy, compartment_id, instance_id):
    """(private IP, public IP) of the instance's attached VNIC, or (None, None) while it has none."""
    atts = list_all(policy, "ListVnicAttachments", clients.compute.list_vnic_attachments, compartment_id=compartment_id, instance_id=instance_id)
    for att in atts:
        if att.lifecycle_state in ("ATTACHED", "ATTACHING") and att.vnic_id:
            vnic = policy.call("GetVnic", clients.network.get_vnic, att.vnic_id).data
            return vnic.private_ip, vnic.public_ip
    return None, None


def missing_names(clients, policy, params):
    """Names of a fleet ({name, role, count, compartment_id, deployment}) that no live instance of it carries yet."""
    reconciler = InstanceReconciler(clients, policy, params)
    live = reconciler.read()
    return [n for n in reconciler.names() if n not in live]


class InstanceReconciler(Reconciler):

    COMPONENT = COMPONENT

    def __init__(self, clients, policy, params, check_mode=False):
        super(InstanceReconciler, self).__init__(clients, policy, params, check_mode)
        self.tags = self.owned_tags(params["role"])
        self._dead = {}
        self.live = {}  # name -> live instance: what has landed
        self.unlaunched = []  # names with no accepted launch yet

    def names(self):
        return ["%s-%02d" % (self.p["name"], i) for i in range(1, self.p["count"] + 1)]

    def read(self):
        """Live owned instances of this role by display name; a same-named instance we do not own is an error."""
        items = list_all(self.policy, "ListInstances", self.clients.compute.list_instances, compartment_id=self.p["compartment_id"])
        mine = {}
        self._dead = {}
        prefix = self.p["name"] + "-"
        for inst in items:
            name = inst.display_name or ""
            if inst.lifecycle_state in GONE:
                self._dead.setdefault(name, []).append(inst.id)
                continue
            if is_owned(inst, self.p["deployment"], COMPONENT, self.p["role"]):
                mine[name] = inst
            elif name.startswith(prefix):
                raise InputError("instance %r (%s) exists but does not carry this deployment's ownership tags." % (name, inst.id),
                                 field="name", fix="choose another name prefix, or remove the foreign instance.")
        return mine

    def _launch(self, name, placement, fd, reservation_id=None):
        details = LaunchInstanceDetails(
            compartment_id=self.p["compartment_id"], availability_domain=placement.ad, fault_domain=fd, display_name=name,
            shape=placement.shape,
            shape_config=LaunchInstanceShapeConfigDetails(ocpus=placement.ocpus, memory_in_gbs=placement.memory_in_gbs),
            source_details=InstanceSourceViaImageDetails(source_type="image", image_id=self.p["image_id"],
                                                         boot_volume_size_in_gbs=self.p.get("boot_volume_size_in_gbs")),
            create_vnic_details=CreateVnicDetails(subnet_id=self.p["subnet_id"], assign_public_ip=self.p.get("assign_public_ip", False),
                                                  freeform_tags=dict(self.tags)),
            metadata=self._metadata(), capacity_reservation_id=reservation_id, freeform_tags=dict(self.tags))
        token = retry_token(COMPONENT, self.p["deployment"], self.p["compartment_id"], name, placement.key, fd, token_epoch(self.policy.wall()),
                            *self._dead.get(name, []))
        self._act("launch", name=name, placement=placement.label(), fault_domain=fd)
        return self.policy.call_create("LaunchInstance", self.clients.compute.launch_instance, details, token).data

    def _metadata(self):
        meta = {}
        keys = self.p.get("ssh_authorized_keys") or []
        if keys:
            meta["ssh_authorized_keys"] = "\n".join(keys)
        if self.p.get("user_data"):
            meta["user_data"] = self.p["user_data"]
        return meta or None

    UNIT = "instance(s)"

    def ensure_present(self):
        self.live = self.read()
        wanted = self.names()
        extra = sorted(n for n in self.live if n not in wanted)
        self.unlaunched = [n for n in wanted if n not in self.live]
        # Room for every missing instance first (read-only): a launch loop must not stop part-way on a full subnet
        # or an exhausted limit and leave half a fleet running.
        check_fleet_room(self.clients, self.policy, self.p["tenancy_id"], self.p["compartment_id"], self.p["availability_domain"],
                         [{"field": "count", "count": len(self.unlaunched), "subnet_id": self.p["subnet_id"],
                           "configs": self.p["shapes"]}])
        if self.check_mode:
            for name in self.unlaunched:
                self._act("launch", name=name)
            for name in extra:
                self._act("terminate", name=name)
            return self._result(self.live, read_ips=False)
        for name in extra:
            self._terminate(self.live.pop(name))
        self.planner = self.new_planner()
        replaced = 0
        while True:
            self.capacity_rounds()
            self.live, broken = self._wait_running(self.live)
            if not broken:
                break
            # An accepted launch can still die while provisioning (its host failed, capacity went away): the
            # instance is TERMINATED, so a replacement under the same name is no duplicate. Bounded.
            if replaced >= MAX_REPLACEMENTS:
                message = "instance(s) %s terminated while starting, %d replacement round(s) used" % (", ".join(broken), replaced)
                raise ApiError("LaunchInstance", Failure(FATAL, message=message))
            replaced += 1
            self.read()  # the dead instances' ids go into the replacement's retry token
            for name in broken:
                self.live.pop(name)
                self.progress.attempt(name, "failed", "terminated while starting; launching a replacement", next_wait=0, round=self.round)
            self.unlaunched = [n for n in self.names() if n not in self.live]
        return self._result(self.live, read_ips=True)

    # --- the capacity rounds' hooks ------------------------------------------------------------------------------
    def missing(self):
        return len(self.unlaunched)

    def preferred_placements(self):
        return [Placement(i.availability_domain, [i.fault_domain], i.shape, getattr(i.shape_config, "ocpus", 0) or 0,
                          getattr(i.shape_config, "memory_in_gbs", 0) or 0) for i in self.live.values()]

    def attempt(self, candidate):
        reservation_id = None
        batch = self.unlaunched[:candidate.count]
        if candidate.placement.reservation:
            reservation_id, reserved = reserve(self.clients, self.policy, self.p, candidate.placement, len(batch), self.p["role"])
            batch = batch[:reserved]
            if not batch:
                self.progress.attempt(candidate.placement.label(), "failed", "reservation got 0 instances", next_wait=0, round=self.round,
                                      tier=candidate.tier)
                return
        launched = 0
        for idx, name in enumerate(batch):
            fd = candidate.placement.fds[idx % len(candidate.placement.fds)]
            if not self._launch_one(candidate, name, fd, reservation_id):
                break
            launched += 1
        if launched:
            self.progress.attempt(candidate.placement.label(), "ok", "+%d instance(s) (%s)" % (launched, candidate.tier), round=self.round,
                                  tier=candidate.tier)

    def _launch_one(self, candidate, name, fd, reservation_id):
        """Launch `name` in the candidate's placement; True when it landed, False after a capacity failure (logged)."""
        try:
            inst = self._launch(name, candidate.placement, fd, reservation_id)
        except ApiError as exc:
            if exc.failure.kind == LIMIT_EXCEEDED:
                # often false: the launch may have happened anyway, so look before trying elsewhere
                again = self.read()
                if name in again:
                    self._landed(name, again[name])
                    return True
            if exc.failure.kind not in (OUT_OF_CAPACITY, LIMIT_EXCEEDED):
                raise
            if exc.failure.kind == OUT_OF_CAPACITY:
                place = candidate.placement
                self.planner.note_overstated(self.report, fd, {"shape": place.shape, "ocpus": place.ocpus, "memory_in_gbs": place.memory_in_gbs})
            self.progress.attempt("%s (%s)" % (candidate.placement.label(), name), "failed", exc.failure.short(), next_wait=0,
                                  round=self.round, tier=candidate.tier)
            return False
        self._landed(name, inst)
        return True

    def _landed(self, name, inst):
        self.live[name] = inst
        self.unlaunched.remove(name)

    def exhausted(self, wait):
        # Say exactly what stays: the running part of the fleet is owned and tagged, so a re-run launches only
        # the missing names and teardown (state=absent) finds every one of them.
        running = sorted(self.live)
        left = ("left running: %s (a re-run launches only the missing ones; state=absent, as teardown.yml runs it, removes them)"
                % ", ".join(running)) if running else "nothing of it is running"
        return CapacityExhausted("instances %s: %d of %d still missing (%s) and the next round (in %.0fs) would pass the %ss deadline; %s."
                                 % (self.p["name"], len(self.unlaunched), self.p["count"], ", ".join(self.unlaunched), wait, self.p["wait_timeout"],
                                    left),
                                 attempts_table=self.progress.table(), details={"left_running": running})

    def _wait_running(self, live):
        def fetch():
            items = list_all(self.policy, "ListInstances", self.clients.compute.list_instances, compartment_id=self.p["compartment_id"])
            by_id = dict((i.id, i) for i in items)
            return dict((name, by_id.get(inst.id, inst)) for name, inst in live.items())

        def done(current):
            return all(i.lifecycle_state in UP + GONE for i in current.values())

        if not all(i.lifecycle_state in UP for i in live.values()):
            live = wait_until(self.policy, "instances %s to be RUNNING" % self.p["name"], fetch, done)
        return live, sorted(n for n, i in live.items() if i.lifecycle_state in GONE)

    def _terminate(self, inst):
        self._act("terminate", name=inst.display_name, id=inst.id)
        if not self.check_mode:
            self.policy.call("TerminateInstance", self.clients.compute.terminate_instance, inst.id, preserve_boot_volume=False)

    def ensure_absent(self):
        live = self.read()
        for name in sorted(live):
            self._terminate(live[name])
        if not self.check_mode and live:
            # read() already hides TERMINATING instances: wait on the terminated ids until their capacity is back.
            ids = [inst.id for inst in live.values()]
            wait_until(self.policy, "instances %s to be TERMINATED" % self.p["name"],
                       lambda: [self.policy.call("GetInstance", self.clients.compute.get_instance, i).data for i in ids],
                       lambda cur: all(x.lifecycle_state == "TERMINATED" for x in cur))
        released = release_all(self.clients, self.policy, self.p["compartment_id"], self.p["deployment"], self.p["role"], self.check_mode)
        if released:
            self._act("release_reservations", ids=released)
        return self._result({} if not self.check_mode else live, read_ips=False)

    def _ips(self, inst):
        return instance_ips(self.clients, self.policy, self.p["compartment_id"], inst.id)

    def _result(self, live, read_ips):
        out = []
        for name in sorted(live):
            inst = live[name]
            private_ip, public_ip = self._ips(inst) if read_ips else (None, None)
            out.append({"id": inst.id, "name": name, "shape": inst.shape, "fault_domain": inst.fault_domain,
                        "availability_domain": inst.availability_domain, "lifecycle_state": inst.lifecycle_state,
                        "private_ip": private_ip, "public_ip": public_ip})
        return {"changed": self.changed, "instances": out, "private_ips": [i["private_ip"] for i in out if i["private_ip"]],
                "actions": self.actions, "attempts": self.progress.attempts, "progress": self.progress.lines}
