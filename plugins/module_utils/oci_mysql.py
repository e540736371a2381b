# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One MySQL HeatWave DB system (oci.mysql.DbSystemClient), with the capacity fallback of the other reconcilers.

A DB system is created asynchronously: CreateDbSystem answers at once with the DB system CREATING and an
opc-work-request-id; a shortage shows as that work request FAILED ("Out of host capacity") and the DB system FAILED,
or as a synchronous 500 "Out of host capacity.". Either way the planner moves on: fault domains, then the shapes the
MySQL service lists (MysqlaasClient.ListShapes, isSupportedFor=DBSYSTEM), then, when allowed, high availability off.
A FAILED DB system of ours is deleted before the next try, and its id goes into the next retry token.
Field names and states: oci SDK oci/mysql/models (CreateDbSystemDetails, DbSystem, DbSystemSummary, ShapeSummary,
WorkRequest).
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import ipaddress
import re

try:
    from oci.mysql.models import CreateDbSystemDetails, CreateDeletionPolicyDetails
except ImportError:  # require_oci() reports it
    pass

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import DENIED_STATUSES
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_client import list_all
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import (
    LIMIT_EXCEEDED,
    NOT_FOUND,
    OUT_OF_CAPACITY,
    ApiError,
    CapacityExhausted,
    Failure,
    InputError,
    WorkRequestFailed,
    classify,
    is_out_of_capacity_text,
    raise_problems,
)
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_ownership import TAG_DEPLOYMENT, is_owned, retry_token, token_epoch
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reconciler import Reconciler
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_waiters import wait_until, wait_work_request, work_request_resource

COMPONENT = "mysql_db_system"
GONE = ("DELETING", "DELETED")
FAILED = "FAILED"
SETTLING = ("CREATING", "UPDATING")
MYSQL_POLICY = "Allow group <your-group> to manage mysql-family in compartment id %s"
# MySQL shape names as ListShapes gives them: MySQL.2, MySQL.4, MySQL.VM.Standard.E4.1.8GB, MySQL.Free, ...
_MYSQL_SHAPE = re.compile(r"^MySQL(\.[A-Za-z0-9]+)+$")
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
# OCI's rule for adminPassword (API reference CreateDbSystemDetails; oci SDK oci/mysql/models/create_db_system_details.py):
# 8-32 characters, at least 1 numeric, 1 lowercase, 1 uppercase and 1 special (non-alphanumeric) character.
PASSWORD_LENGTH = (8, 32)
_PASSWORD_CLASSES = (("upper-case letter", re.compile(r"[A-Z]")), ("lower-case letter", re.compile(r"[a-z]")),
                     ("digit", re.compile(r"[0-9]")), ("special (non-alphanumeric) character", re.compile(r"[^A-Za-z0-9]")))
# oci SDK oci/mysql/models/create_deletion_policy_details.py, final_backup allowed values.
FINAL_BACKUP = {"skip": "SKIP_FINAL_BACKUP", "require": "REQUIRE_FINAL_BACKUP"}


def admin_password_problem(value):
    """What OCI's adminPassword rule refuses in `value`, or None. The value itself is never part of the text."""
    if not isinstance(value, str) or not value:
        return "is empty"
    lo, hi = PASSWORD_LENGTH
    missing = [name for name, pattern in _PASSWORD_CLASSES if not pattern.search(value)]
    if not lo <= len(value) <= hi:
        return "has %d characters; OCI requires %d-%d" % (len(value), lo, hi)
    if missing:
        return "has no %s; OCI requires at least one upper-case letter, lower-case letter, digit and special character" % " and no ".join(missing)
    return None


def check_admin(username, password, field_user, field_password):
    problems = []
    if not isinstance(username, str) or not _USERNAME.match(username):
        problems.append(InputError("%r is not a MySQL user name this module creates." % (username,), field=field_user,
                                   fix="use 1-32 letters, digits or '_', starting with a letter (e.g. openedx_admin)."))
    why = admin_password_problem(password)
    if why:
        problems.append(InputError("the administrator password %s (its value is not shown)." % why, field=field_password,
                                   fix="set it from a vault/no_log variable: 8-32 characters with an upper-case and a lower-case letter, "
                                       "a digit and a special character."))
    return problems


def check_mysql_shapes(primary, alternatives, field, alternatives_field="alternative_shapes"):
    """The MySQL shape names (primary first, no repeats); which exist is the MySQL service's to say (ListShapes)."""
    out = []
    for idx, name in enumerate([primary, *list(alternatives or [])]):
        where = field if idx == 0 else "%s[%d]" % (alternatives_field, idx - 1)
        if not isinstance(name, str) or not _MYSQL_SHAPE.match(name):
            raise InputError("%r is not a MySQL shape name." % (name,), field=where,
                             fix="use a shape the MySQL service lists (oci mysql shape list), e.g. MySQL.4 or MySQL.VM.Standard.E4.4.64GB.")
        if name not in out:
            out.append(name)
    return out


def check_client_cidrs(cidrs, field):
    out = []
    for cidr in cidrs or []:
        try:
            out.append(ipaddress.ip_network(cidr, strict=False))
        except (TypeError, ValueError):
            raise InputError("%r is not a CIDR block." % (cidr,), field=field, fix="write e.g. 10.0.10.0/24 (the worker nodes' subnet).") from None
    if not out:
        raise InputError("is empty: the DB system's subnet must let the cluster in, and the module checks that before create.", field=field,
                         fix="list the CIDR blocks MySQL clients connect from (the worker node subnet; the pod subnet with VCN-native pods).")
    return out


class Candidate(object):
    """One try: shape, high availability and the preferred fault domain."""

    __slots__ = ("fault_domain", "ha", "shape")

    def __init__(self, shape, ha, fault_domain):
        self.shape, self.ha, self.fault_domain = shape, ha, fault_domain

    def label(self):
        return "%s %s @ %s" % (self.shape, "HA" if self.ha else "standalone", self.fault_domain.replace("FAULT-DOMAIN-", "FD-"))


def candidates(shapes, fault_domains, high_availability, standalone_fallback):
    """Fault domains first, then the alternative shapes, then (when allowed) the same without high availability."""
    has = [True, False] if high_availability and standalone_fallback else [bool(high_availability)]
    return [Candidate(shape, ha, fd) for ha in has for shape in shapes for fd in fault_domains]


def _rule_allows(rule, network, port):
    if getattr(rule, "source_type", "CIDR_BLOCK") not in (None, "CIDR_BLOCK") or rule.protocol not in ("6", "all"):
        return False
    try:
        source = ipaddress.ip_network(rule.source, strict=False)
    except (TypeError, ValueError):
        return False
    if source.version != network.version or not network.subnet_of(source):
        return False
    ports = getattr(getattr(rule, "tcp_options", None), "destination_port_range", None)
    return ports is None or ports.min <= port <= ports.max


class DbSystemReconciler(Reconciler):

    COMPONENT = COMPONENT

    def _denied(self, exc, operation):
        """A 401/403/404 on a MySQL call as the policy statement to add."""
        return ApiError(operation, Failure(exc.failure.kind, exc.failure.status, exc.failure.code, exc.failure.message, exc.failure.request_id,
                                           fix="add the IAM policy statement `%s` (docs/provision.md)" % (MYSQL_POLICY % self.p["compartment_id"])))

    def find(self):
        """(live owned DB system or None, owned FAILED ones, ids of dead same-named ones). A same-named foreign one is an error."""
        try:
            items = list_all(self.policy, "ListDbSystems", self.clients.mysql.list_db_systems, compartment_id=self.p["compartment_id"],
                             display_name=self.p["name"])
        except ApiError as exc:
            if exc.failure.status in DENIED_STATUSES:
                raise self._denied(exc, "ListDbSystems") from exc
            raise
        items = [d for d in items if d.display_name == self.p["name"]]
        owned = [d for d in items if is_owned(d, self.p["deployment"], COMPONENT)]
        foreign = [d for d in items if d not in owned and d.lifecycle_state not in GONE]
        if foreign:
            raise InputError("DB system %r (%s) exists but does not carry %s=%s." % (self.p["name"], foreign[0].id, TAG_DEPLOYMENT, self.p["deployment"]),
                             field="name", fix="choose another DB system name; this collection never adopts resources it did not create.")
        live = [d for d in owned if d.lifecycle_state not in (*GONE, FAILED)]
        failed = [d for d in owned if d.lifecycle_state == FAILED]
        dead = sorted(d.id for d in items if d.lifecycle_state in (*GONE, FAILED))
        return (live[0] if live else None), failed, dead

    def _get(self, db_id):
        return self.policy.call("GetDbSystem", self.clients.mysql.get_db_system, db_id).data

    # --- read-only checks before any create ----------------------------------------------------------------
    def preflight(self):
        """Shapes offered by the MySQL service in the AD, the subnet and its ingress rules: all problems at once."""
        problems = self._shape_problems() + self._subnet_problems()
        raise_problems(problems)

    def _shape_problems(self):
        try:
            offered = list_all(self.policy, "ListShapes", self.clients.mysqlaas.list_shapes, compartment_id=self.p["compartment_id"],
                               is_supported_for=["DBSYSTEM"], availability_domain=self.p["availability_domain"])
        except ApiError as exc:
            if exc.failure.status not in DENIED_STATUSES:
                raise
            self.progress.warn("the MySQL shape list was denied (%s); shapes are left to CreateDbSystem. Grant `%s`."
                               % (exc.failure.status, MYSQL_POLICY % self.p["compartment_id"]))
            return []
        names = sorted(s.name for s in offered)
        return [InputError("MySQL shape %r is not offered in %s (MySQL ListShapes)." % (shape, self.p["availability_domain"]),
                           field="shape" if idx == 0 else "alternative_shapes[%d]" % (idx - 1),
                           fix="use one of: %s." % (", ".join(names) or "none listed"))
                for idx, shape in enumerate(self.p["shapes"]) if shape not in names]

    def _subnet_problems(self):
        try:
            subnet = self.policy.call("GetSubnet", self.clients.network.get_subnet, self.p["subnet_id"]).data
        except ApiError as exc:
            if exc.failure.kind != NOT_FOUND:
                raise
            return [InputError("subnet %s was not found (or this user may not read it)." % self.p["subnet_id"], field="subnet_id",
                               fix="use the OCID of the private subnet for the DB system, in this region.")]
        rules = []
        for sl_id in subnet.security_list_ids or []:
            try:
                rules.extend(self.policy.call("GetSecurityList", self.clients.network.get_security_list, sl_id).data.ingress_security_rules or [])
            except ApiError as exc:
                if exc.failure.status not in DENIED_STATUSES:
                    raise
                self.progress.warn("security list %s cannot be read (%s): the MySQL port's ingress rules are not checked." % (sl_id, exc.failure.status))
                return []
        port = self.p["port"]
        blocked = [str(n) for n in self.p["client_cidrs"] if not any(_rule_allows(r, n, port) for r in rules)]
        if not blocked:
            return []
        return [InputError("the security lists of subnet %s let no TCP %d traffic in from %s." % (self.p["subnet_id"], port, ", ".join(blocked)),
                           field="client_cidrs", fix="add a stateful ingress rule (TCP, destination port %d) from %s to the subnet's security list, "
                                                     "or correct client_cidrs." % (port, ", ".join(blocked)))]

    # --- present ----------------------------------------------------------------------------------------------
    def ensure_present(self):
        existing, failed, dead = self.find()
        if existing is not None:
            if existing.lifecycle_state in SETTLING and not self.check_mode:
                current = wait_until(self.policy, "DB system %s" % self.p["name"], lambda: self._get(existing.id),
                                     lambda d: d.lifecycle_state not in SETTLING)
            else:
                current = self._get(existing.id)
            self._note_drift(current)
            return self._result(current)
        self.preflight()
        for db in failed:
            self._delete(db, "a failed create of an earlier run")
        self._act("create", name=self.p["name"], shape=self.p["shapes"][0], high_availability=self.p["high_availability"])
        if self.check_mode:
            return self._result(None)
        dead = sorted(set(dead) | set(d.id for d in failed))
        return self._result(self._create_with_fallback(dead))

    def _note_drift(self, db):
        wanted = {"shape_name": self.p["shapes"], "is_highly_available": [self.p["high_availability"]] + ([False] if self.p["standalone_fallback"] else []),
                  "data_storage_size_in_gbs": [self.p["data_storage_size_in_gbs"]]}
        for attr, allowed in wanted.items():
            have = getattr(db, attr, None)
            if have is not None and have not in allowed:
                self.progress.warn("DB system %s has %s=%s, the inventory asks for %s; this module does not change a DB system that holds data "
                                   "(resize it in the console, or delete and re-create it)." % (self.p["name"], attr, have, allowed[0]))

    def _create_with_fallback(self, dead):
        self.dead = dead
        self.tries = candidates(self.p["shapes"], self.p["fault_domains"], self.p["high_availability"], self.p["standalone_fallback"])
        self.capacity_rounds()
        return self.db

    # --- the capacity rounds' hooks: the placements in a fixed order, one DB system to land ---------------------
    UNIT = "DB system"
    db = None  # the DB system that landed
    dead = ()  # ids of dead same-named DB systems, for the retry token
    tries = ()  # the placements of every round

    def missing(self):
        return 0 if self.db is not None else 1

    def candidates(self):
        return self.tries

    def attempt(self, candidate):
        self.db = self._attempt(candidate)

    def exhausted(self, wait):
        return CapacityExhausted("DB system %s: no allowed placement (%d tried per round) had capacity, and the next round (in %.0fs) would "
                                 "pass the %ss deadline; nothing of it is left (failed creates were deleted)."
                                 % (self.p["name"], len(self.tries), wait, self.p["wait_timeout"]), attempts_table=self.progress.table())

    def _details(self, cand):
        return CreateDbSystemDetails(
            display_name=self.p["name"], description=self.p.get("description"), compartment_id=self.p["compartment_id"],
            availability_domain=self.p["availability_domain"], fault_domain=cand.fault_domain, is_highly_available=cand.ha,
            shape_name=cand.shape, mysql_version=self.p.get("mysql_version"), subnet_id=self.p["subnet_id"],
            admin_username=self.p["admin_username"], admin_password=self.p["admin_password"],
            data_storage_size_in_gbs=self.p["data_storage_size_in_gbs"], hostname_label=self.p.get("hostname_label"), port=self.p["port"],
            deletion_policy=CreateDeletionPolicyDetails(final_backup=FINAL_BACKUP[self.p["final_backup"]], is_delete_protected=False),
            freeform_tags=self.owned_tags())

    def _attempt(self, cand):
        """Create in one placement; the ready DB system, or None after a capacity failure (logged, cleaned up)."""
        token = retry_token(COMPONENT, self.p["deployment"], self.p["compartment_id"], self.p["name"], cand.shape, cand.ha, cand.fault_domain,
                            token_epoch(self.policy.wall()), *self.dead)
        self._act("create_attempt", name=self.p["name"], placement=cand.label())
        try:
            response = self.policy.call_create("CreateDbSystem", self.clients.mysql.create_db_system, self._details(cand), token)
        except ApiError as exc:
            if exc.failure.status in DENIED_STATUSES:
                raise self._denied(exc, "CreateDbSystem") from exc
            # Whatever the answer, the create may have happened (a lost answer, a false LimitExceeded): look first.
            again, _failed, _dead = self.find()
            if again is not None:
                self.progress.attempt(cand.label(), "ok", "created although the answer was %s" % exc.failure.short(), round=self.round)
                return self._wait_ready(again.id, cand)
            if exc.failure.kind not in (OUT_OF_CAPACITY, LIMIT_EXCEEDED):
                raise
            self.progress.attempt(cand.label(), "failed", exc.failure.short(), next_wait=0, round=self.round)
            return None
        db_id = response.data.id
        wr_id = response.headers.get("opc-work-request-id")
        if wr_id:
            try:
                wr = wait_work_request(self.policy, lambda: self.policy.call("GetWorkRequest", self.clients.mysql_work_requests.get_work_request, wr_id).data,
                                       lambda: self.policy.call("ListWorkRequestErrors", self.clients.mysql_work_requests.list_work_request_errors,
                                                                wr_id).data, wr_id)
                db_id = work_request_resource(wr, "dbsystem") or db_id
            except WorkRequestFailed as exc:
                if classify(exc).kind != OUT_OF_CAPACITY:
                    raise
                return self._capacity_failed(db_id, cand, "; ".join(exc.messages))
        return self._wait_ready(db_id, cand)

    def _wait_ready(self, db_id, cand):
        db = wait_until(self.policy, "DB system %s" % self.p["name"], lambda: self._get(db_id), lambda d: d.lifecycle_state not in SETTLING,
                        first=30.0, cap=120.0, describe=lambda d: d.lifecycle_state)
        if db.lifecycle_state == FAILED:
            if is_out_of_capacity_text(db.lifecycle_details):
                return self._capacity_failed(db_id, cand, db.lifecycle_details)
            raise ApiError("CreateDbSystem", Failure("fatal", message="DB system %s ended FAILED: %s" % (db_id, db.lifecycle_details or "no detail")))
        self.progress.attempt(cand.label(), "ok", "DB system %s" % db.lifecycle_state, round=self.round)
        return db

    def _capacity_failed(self, db_id, cand, why):
        """Log the shortage and delete the FAILED DB system; its id goes into the next retry token (returns None)."""
        self.progress.attempt(cand.label(), "failed", "out of host capacity (%s)" % why, next_wait=0, round=self.round)
        db = self._get(db_id)
        if db.lifecycle_state not in GONE:
            self._delete(db, "its create failed for capacity")
        self.dead.append(db_id)

    # --- absent -------------------------------------------------------------------------------------------------
    def _delete(self, db, why):
        self._act("delete", name=db.display_name, id=db.id, why=why)
        if self.check_mode:
            return
        try:
            response = self.policy.call("DeleteDbSystem", self.clients.mysql.delete_db_system, db.id)
        except ApiError as exc:
            if exc.failure.kind == NOT_FOUND:
                return
            raise
        wr_id = response.headers.get("opc-work-request-id")
        if wr_id:
            wait_work_request(self.policy, lambda: self.policy.call("GetWorkRequest", self.clients.mysql_work_requests.get_work_request, wr_id).data,
                              lambda: self.policy.call("ListWorkRequestErrors", self.clients.mysql_work_requests.list_work_request_errors, wr_id).data,
                              wr_id)
        wait_until(self.policy, "DB system %s to be DELETED" % db.display_name, lambda: self._get(db.id), lambda d: d.lifecycle_state == "DELETED")

    def ensure_absent(self):
        existing, failed, _dead = self.find()
        for db in ([existing] if existing is not None else []) + failed:
            self._delete(db, "state=absent")
        return self._result(None)

    def _result(self, db):
        return {"changed": self.changed, "db_system": db_system_summary(db), "actions": self.actions, "attempts": self.progress.attempts,
                "progress": self.progress.lines}


def db_system_summary(db):
    """What modules return of a DB system (never its credentials): placement, shape and the endpoint clients use."""
    if db is None:
        return {}
    endpoints = [{"hostname": e.hostname, "ip_address": e.ip_address, "port": e.port, "port_x": e.port_x, "modes": list(e.modes or []),
                  "status": e.status} for e in (getattr(db, "endpoints", None) or [])]
    return {"id": db.id, "display_name": db.display_name, "lifecycle_state": db.lifecycle_state, "shape_name": db.shape_name,
            "is_highly_available": db.is_highly_available, "availability_domain": db.availability_domain, "fault_domain": db.fault_domain,
            "mysql_version": db.mysql_version, "data_storage_size_in_gbs": getattr(db, "data_storage_size_in_gbs", None),
            "ip_address": getattr(db, "ip_address", None), "port": getattr(db, "port", None), "port_x": getattr(db, "port_x", None),
            "hostname_label": getattr(db, "hostname_label", None), "endpoints": endpoints, "freeform_tags": dict(db.freeform_tags or {})}


def list_owned(clients, policy, compartment_id, deployment, name=None):
    """The DB systems of a deployment (DELETED ones are left out), read only."""
    kwargs = {"compartment_id": compartment_id}
    if name:
        kwargs["display_name"] = name
    items = list_all(policy, "ListDbSystems", clients.mysql.list_db_systems, **kwargs)
    # A summary has no address, port or storage: each one is read whole.
    return [policy.call("GetDbSystem", clients.mysql.get_db_system, d.id).data for d in items
            if is_owned(d, deployment, COMPONENT) and d.lifecycle_state != "DELETED"]
