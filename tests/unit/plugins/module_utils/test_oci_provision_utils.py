"""Planner, retry policy, error classification, validation and ownership of the provision module_utils."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[4]
if str(REPO / "build" / "collections") not in sys.path:
    sys.path.insert(0, str(REPO / "build" / "collections"))

from ansible_collections.openedx_scale.oke.plugins.module_utils import oci_args, oci_capacity, oci_errors, oci_ownership, oci_retry  # noqa: E402
from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_capacity import (  # noqa: E402
    AVAILABLE,
    OUT_OF_HOST_CAPACITY,
    Availability,
    CapacityReport,
    Placement,
    Planner,
)

AD = "hxIl:ME-JEDDAH-1-AD-1"
E4 = {"shape": "VM.Standard.E4.Flex", "ocpus": 30.0, "memory_in_gbs": 128.0}
E5 = {"shape": "VM.Standard.E5.Flex", "ocpus": 30.0, "memory_in_gbs": 128.0}
FDS = ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2", "FAULT-DOMAIN-3"]


def report(rows):
    return CapacityReport([Availability(AD, fd, cfg["shape"], cfg["ocpus"], cfg["memory_in_gbs"], st, n) for fd, cfg, st, n in rows])


class FakeClock:
    def __init__(self):
        self.t = 0.0
        self.slept = []

    def now(self):
        return self.t

    def sleep(self, s):
        self.slept.append(s)
        self.t += s


class SvcError(Exception):
    def __init__(self, status, code, message):
        super().__init__(message)
        self.status, self.code, self.message, self.request_id = status, code, message, "req-1"


# --- planner -----------------------------------------------------------------------------------
def test_planner_reads_a_null_count_as_unknown_not_unlimited():
    rep = report([("FAULT-DOMAIN-1", E4, AVAILABLE, 3), ("FAULT-DOMAIN-2", E4, AVAILABLE, None), ("FAULT-DOMAIN-3", E4, AVAILABLE, 4)])
    cands = Planner(AD, [E4], FDS).plan(5, rep)
    # the spread covers the FDs with a count; the null FD comes after every counted one, never first
    assert cands[0].placement.fds == ("FAULT-DOMAIN-1", "FAULT-DOMAIN-3") and cands[0].available == 7
    singles = [c for c in cands if len(c.placement.fds) == 1]
    assert [c.placement.fds[0] for c in singles] == ["FAULT-DOMAIN-2", "FAULT-DOMAIN-3", "FAULT-DOMAIN-1"]
    assert [c.tier for c in singles] == [oci_capacity.TIER_FAULT_DOMAIN, oci_capacity.TIER_EXTRA_POOL, oci_capacity.TIER_EXTRA_POOL]


def test_planner_drops_a_fault_domain_the_report_overstated():
    rep = report([(fd, E4, AVAILABLE, 10) for fd in FDS])
    planner = Planner(AD, [E4], FDS)
    assert planner.note_overstated(rep, "FAULT-DOMAIN-2", E4) is True
    assert planner.note_overstated(rep, "FAULT-DOMAIN-2", E4) is False  # noted once
    cands = planner.plan(5, rep)
    assert cands and all("FAULT-DOMAIN-2" not in c.placement.fds for c in cands)
    assert planner.dropped(Placement(AD, FDS, E4["shape"], E4["ocpus"], E4["memory_in_gbs"]))
    # a report that said "full" was not overstated
    full = report([("FAULT-DOMAIN-1", E4, OUT_OF_HOST_CAPACITY, 0)])
    assert planner.note_overstated(full, "FAULT-DOMAIN-1", E4) is False


def test_planner_spreads_over_fault_domains_when_capacity_is_ample():
    rep = report([(fd, E4, AVAILABLE, 10) for fd in FDS])
    first = Planner(AD, [E4], FDS).plan(5, rep)[0]
    assert first.placement.fds == tuple(FDS) and first.count == 5 and first.tier == oci_capacity.TIER_FAULT_DOMAIN


def test_planner_order_fd_then_alternative_shape_then_extra_pool_then_reservation():
    # jeddah-tight: E4 only in FD-1 (3 nodes), E5 only in FD-3 (enough)
    rep = report([("FAULT-DOMAIN-1", E4, AVAILABLE, 3), ("FAULT-DOMAIN-2", E4, OUT_OF_HOST_CAPACITY, 0), ("FAULT-DOMAIN-3", E4, OUT_OF_HOST_CAPACITY, 0),
                  ("FAULT-DOMAIN-1", E5, OUT_OF_HOST_CAPACITY, 0), ("FAULT-DOMAIN-2", E5, OUT_OF_HOST_CAPACITY, 0), ("FAULT-DOMAIN-3", E5, AVAILABLE, 6)])
    cands = Planner(AD, [E4, E5], FDS, allow_reservation=True).plan(5, rep)
    tiers = [c.tier for c in cands]
    assert tiers[0] == oci_capacity.TIER_ALTERNATIVE_SHAPE and cands[0].placement.shape == E5["shape"] and cands[0].placement.fds == ("FAULT-DOMAIN-3",)
    assert tiers[1] == oci_capacity.TIER_EXTRA_POOL and cands[1].count == 3 and cands[1].placement.fds == ("FAULT-DOMAIN-1",)
    assert set(tiers[2:]) == {oci_capacity.TIER_RESERVATION}
    assert tiers == sorted(tiers, key=oci_capacity.TIER_ORDER.index)
    # out-of-capacity placements are never suggested on-demand
    assert not any(c.placement.fds == ("FAULT-DOMAIN-2",) and not c.placement.reservation for c in cands)


def test_planner_skips_failed_placements_and_prefers_existing_ones():
    rep = report([(fd, E4, AVAILABLE, 10) for fd in FDS])
    fd1 = Placement(AD, ["FAULT-DOMAIN-1"], E4["shape"], 30, 128)
    fd2 = Placement(AD, ["FAULT-DOMAIN-2"], E4["shape"], 30, 128)
    spread = Placement(AD, FDS, E4["shape"], 30, 128)
    cands = Planner(AD, [E4], FDS).plan(2, rep, skip={fd1, spread}, prefer=[fd2])
    assert cands[0].placement == fd2
    assert fd1 not in [c.placement for c in cands]


def test_planner_nothing_when_exhausted_or_no_deficit():
    rep = report([(fd, cfg, OUT_OF_HOST_CAPACITY, 0) for fd in FDS for cfg in (E4, E5)])
    assert Planner(AD, [E4, E5], FDS).plan(5, rep) == []
    assert Planner(AD, [E4], FDS).plan(0, report([])) == []


def test_planner_probes_one_reported_full_placement_every_nth_empty_round():
    rep = report([(fd, cfg, OUT_OF_HOST_CAPACITY, 0) for cfg in (E4, E5) for fd in FDS] + [("FAULT-DOMAIN-3", E5, "HARDWARE_NOT_SUPPORTED", 0)])
    planner = Planner(AD, [E4, E5], FDS, probe_rounds=3)
    assert [planner.plan(5, rep, rnd=r) for r in (1, 2, 4, 5)] == [[], [], [], []]
    probes = [planner.plan(5, rep, rnd=r) for r in (3, 6, 9, 12, 15)]
    assert all(len(c) == 1 and c[0].tier == oci_capacity.TIER_PROBE and c[0].count == 5 for c in probes)
    # a different placement each time, primary shape first, never one whose hardware is not there
    assert [(c[0].placement.shape, c[0].placement.fds[0]) for c in probes] == [
        (E4["shape"], "FAULT-DOMAIN-1"), (E4["shape"], "FAULT-DOMAIN-2"), (E4["shape"], "FAULT-DOMAIN-3"),
        (E5["shape"], "FAULT-DOMAIN-1"), (E5["shape"], "FAULT-DOMAIN-2")]
    assert planner.plan(5, rep, rnd=3, probe=False) == []  # the caller has no time for one
    assert Planner(AD, [E4, E5], FDS, probe_rounds=0).plan(5, rep, rnd=3) == []  # 0 trusts the report
    # a round the report offers something never probes: the report's candidates are tried instead
    some = report([("FAULT-DOMAIN-1", E4, AVAILABLE, 2), ("FAULT-DOMAIN-2", E4, OUT_OF_HOST_CAPACITY, 0)])
    assert oci_capacity.TIER_PROBE not in [c.tier for c in planner.plan(5, some, rnd=3)]


def test_unreported_placements_come_after_reported_ones():
    rep = report([("FAULT-DOMAIN-2", E4, AVAILABLE, 9)])
    cands = Planner(AD, [E4], ["FAULT-DOMAIN-1", "FAULT-DOMAIN-2"], spread=False).plan(2, rep)
    assert [c.placement.fds for c in cands] == [("FAULT-DOMAIN-2",), ("FAULT-DOMAIN-1",)]


# --- errors ------------------------------------------------------------------------------------
@pytest.mark.parametrize(("exc", "kind"), [
    (SvcError(500, "InternalError", "Out of host capacity."), oci_errors.OUT_OF_CAPACITY),
    (SvcError(500, "InternalError", "Internal server error"), oci_errors.TRANSIENT),
    (SvcError(429, "TooManyRequests", "Too many requests for the user"), oci_errors.THROTTLED),
    (SvcError(400, "LimitExceeded", "service limits were exceeded"), oci_errors.LIMIT_EXCEEDED),
    (SvcError(409, "IncorrectState", "busy"), oci_errors.TRANSIENT),
    (SvcError(409, "Conflict", "work request in progress"), oci_errors.CONFLICT),
    (SvcError(409, "InvalidatedRetryToken", "token invalidated"), oci_errors.INVALIDATED_TOKEN),
    (SvcError(409, "NotAuthorizedOrResourceAlreadyExists", "exists"), oci_errors.FATAL),
    (SvcError(409, "LockConflict", "locked"), oci_errors.TRANSIENT),
    (SvcError(503, "ServiceUnavailable", "down"), oci_errors.TRANSIENT),
    (SvcError(502, "BadGateway", "gateway"), oci_errors.TRANSIENT),
    (SvcError(501, "MethodNotImplemented", "no"), oci_errors.FATAL),
    (SvcError(400, "QuotaExceeded", "quota"), oci_errors.LIMIT_EXCEEDED),
    (SvcError(404, "NotAuthorizedOrNotFound", "nope"), oci_errors.NOT_FOUND),
    (SvcError(401, "NotAuthenticated", "bad key"), oci_errors.FATAL),
    (type("CircuitBreakerError", (Exception,), {})('Circuit "x" OPEN until 2026 (10 failures, 12 sec remaining)'), oci_errors.CIRCUIT_OPEN),
    (type("ReadTimeout", (Exception,), {})("read timed out"), oci_errors.TIMEOUT),
    (oci_errors.WorkRequestFailed("wr1", "FAILED", ["2 node(s) launch failure. (500, InternalError, false) Out of host capacity."]),
     oci_errors.OUT_OF_CAPACITY),
])
def test_classify(exc, kind):
    assert oci_errors.classify(exc).kind == kind


def test_every_error_table_row_names_its_source_and_a_fix():
    for rule in oci_errors.ERROR_TABLE:
        assert rule.source.startswith(("https://", "oci SDK")) and rule.fix, rule.as_dict()
    assert len({(r.status, r.code) for r in oci_errors.ERROR_TABLE}) == len(oci_errors.ERROR_TABLE)


def test_error_table_agrees_with_the_sdks_own_retry_checker():
    """The SDK's checker (oci/retry/retry_checkers.py) retries 409 IncorrectState/LockConflict, 429, 5xx but 501, and
    no response (-1). The table retries exactly those, plus 409 ExternalServerIncorrectState (the API errors reference
    says "Yes, with backoff"), and not an out-of-capacity 500, which goes to the planner."""
    import oci
    checker = oci.retry.retry_checkers.TimeoutConnectionAndServiceErrorRetryChecker()
    for rule in oci_errors.ERROR_TABLE:
        if (rule.status, rule.code) == (409, "ExternalServerIncorrectState"):
            assert rule.retry and rule.source == oci_errors.APIERRORS
            continue
        exc = oci.exceptions.ServiceError(rule.status, rule.code or "Code", {}, "message")
        ours = rule.retry or rule.kind == oci_errors.THROTTLED
        assert ours == bool(checker.should_retry(exception=exc)), rule.as_dict()
    oohc = oci.exceptions.ServiceError(500, "InternalError", {}, "Out of host capacity.")
    assert checker.should_retry(exception=oohc) and oci_errors.classify(oohc).kind == oci_errors.OUT_OF_CAPACITY


def test_a_fatal_error_carries_ocis_message_and_the_tables_fix():
    policy = oci_retry.RetryPolicy(600, clock=FakeClock())

    def refuse():
        raise SvcError(409, "Conflict", "Cannot perform nodepool cycling and nodepool Placement Configuration change simultaneously")

    with pytest.raises(oci_errors.ApiError) as info:
        policy.call_non_idempotent("UpdateNodePool", refuse)
    assert policy.calls == 1 and "409 Conflict Cannot perform nodepool cycling" in info.value.msg
    assert info.value.fix and "Fix: " + info.value.fix in info.value.msg


def test_an_invalidated_retry_token_is_replaced_once():
    policy = oci_retry.RetryPolicy(600, clock=FakeClock())
    tokens = []

    def create(details, opc_retry_token):
        tokens.append(opc_retry_token)
        if len(tokens) == 1:
            raise SvcError(409, "InvalidatedRetryToken", "The provided retry token was used in an earlier request")
        return "created"

    assert policy.call_create("CreateThing", create, {}, "oes-" + "a" * 60) == "created"
    assert len(tokens) == 2 and tokens[0] != tokens[1] and len(tokens[1]) == len(tokens[0])
    assert tokens[1] == oci_retry.renewed_token(tokens[0])  # deterministic: a retried run sends the same new token

    def always_invalidated(details, opc_retry_token):
        raise SvcError(409, "InvalidatedRetryToken", "again")

    with pytest.raises(oci_errors.ApiError) as info:
        policy.call_create("CreateThing", always_invalidated, {}, "oes-b")
    assert info.value.failure.kind == oci_errors.INVALIDATED_TOKEN


def test_an_operation_budget_is_not_reset_by_the_loops_inside_it():
    clock = FakeClock()
    policy = oci_retry.RetryPolicy(7200, clock=clock, max_call_attempts=4)
    budget = policy.budget("UpdateNodePool on pool x")
    failure = oci_errors.classify(SvcError(500, "InternalError", "Internal server error"))
    spent = 0
    with pytest.raises(oci_errors.ApiError) as info:
        for _outer in range(10):  # e.g. one PoolBusy after another
            for _inner in range(3):
                spent += 1
                budget.charge(failure)
    assert spent == 4 and "failed 4 time(s)" in info.value.msg and "500 InternalError Internal server error" in info.value.msg
    timed = policy.budget("DeleteNodePool on pool y", calls=100, seconds=60)
    with pytest.raises(oci_errors.ApiError):
        for _attempt in range(100):
            timed.wait(25, failure)
    assert clock.t <= 60


def test_an_operations_recover_hook_decides_after_a_failure_the_loop_does_not_repeat():
    clock = FakeClock()
    policy = oci_retry.RetryPolicy(600, clock=clock, max_call_attempts=2)

    class LostOnce(oci_retry.Operation):
        """A 429 (repeated by the loop), then a lost answer that recover() resends, then 429s again."""
        name = "UpdateThing"
        retry_kinds = oci_retry.NOT_APPLIED_KINDS

        def __init__(self):
            self.answers = [SvcError(429, "TooManyRequests", "slow down"), SvcError(500, "InternalError", "lost"),
                            SvcError(429, "TooManyRequests", "slow down"), "applied"]
            self.recovered = []

        def send(self):
            answer = self.answers.pop(0)
            if isinstance(answer, Exception):
                raise answer
            return answer

        def sent(self, response):
            return response.upper()

        def recover(self, error):
            self.recovered.append(error.failure.kind)
            return oci_retry.RESEND

    op = LostOnce()
    assert policy.run(op) == "APPLIED" and policy.calls == 4
    # only the 500 reached recover(); after RESEND the count of 429s in a row starts again, so max_call_attempts=2 holds
    assert op.recovered == [oci_errors.TRANSIENT]
    assert [line.split(" | ")[0].split(" ", 1)[1] for line in policy.progress.lines] == ["retry 1 of UpdateThing", "retry 1 of UpdateThing"]

    class Refused(LostOnce):
        def recover(self, error):
            return oci_retry.Operation.recover(self, error)  # the default raises

    refused = Refused()
    refused.answers = [SvcError(400, "InvalidParameter", "bad size")]
    with pytest.raises(oci_errors.ApiError) as info:
        policy.run(refused)
    assert "UpdateThing failed: 400 InvalidParameter bad size" in info.value.msg and isinstance(info.value.__cause__, SvcError)


def test_the_capacity_round_driver_calls_the_reconcilers_hooks_until_nothing_is_missing():
    from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reconciler import Reconciler

    clock = FakeClock()
    policy = oci_retry.RetryPolicy(60, clock=clock, rng=random.Random(1))

    class Fleet(Reconciler):
        """Three units to land, one per attempt, candidates of a fixed order; the second candidate never has room."""
        UNIT = "unit(s)"

        def __init__(self, want):
            super().__init__(None, policy, {"deployment": "d"})
            self.landed = []
            self.want = want
            self.tried = []

        def missing(self):
            return self.want - len(self.landed)

        def candidates(self):
            return ["a", "full"]

        def attempt(self, candidate):
            self.tried.append((self.round, candidate))
            if candidate != "full":
                self.landed.append(candidate)

        def exhausted(self, wait):
            return oci_errors.CapacityExhausted(f"{self.missing()} still missing", attempts_table=self.progress.table())

    fleet = Fleet(3)
    fleet.capacity_rounds()
    assert fleet.tried == [(1, "a"), (1, "full"), (2, "a"), (2, "full"), (3, "a")] and fleet.round == 3 and fleet.missing() == 0
    assert [line.split(" ", 1)[1].split(";")[0] for line in policy.progress.lines] == ["round 1: 2 unit(s) still missing",
                                                                                       "round 2: 1 unit(s) still missing"]
    # state stays on the reconciler: a later call continues the rounds (backoff, probes) where they were
    fleet.want = 4
    fleet.capacity_rounds()
    assert fleet.round == 4 and fleet.tried[-1] == (4, "a")
    with pytest.raises(oci_errors.CapacityExhausted, match="still missing"):
        Fleet(1000).capacity_rounds()
    assert clock.t < 60


def test_reservation_room_reads_the_documented_fields_conservatively():
    from types import SimpleNamespace as NS

    from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_reservations import room
    place = Placement(AD, ["FAULT-DOMAIN-2"], "VM.Standard.E4.Flex", 30.0, 128.0)
    configs = [NS(instance_shape="VM.Standard.E4.Flex", fault_domain="FAULT-DOMAIN-2", reserved_count=5, used_count=2),
               NS(instance_shape="VM.Standard.E5.Flex", fault_domain="FAULT-DOMAIN-2", reserved_count=9, used_count=0),
               NS(instance_shape="VM.Standard.E4.Flex", fault_domain="FAULT-DOMAIN-1", reserved_count=9, used_count=0)]
    res = NS(lifecycle_state="ACTIVE", instance_reservation_configs=configs, reserved_instance_count=23, used_instance_count=2)
    assert room(res, place, 10) == 3  # our shape and fault domain only, less what is used; not the 21 the totals suggest
    assert room(res, place, 2) == 2  # never more than asked
    res.lifecycle_state = "UPDATING"
    assert room(res, place, 10) == 0


def test_circuit_breaker_wait_hint_is_used():
    failure = oci_errors.classify(type("CircuitBreakerError", (Exception,), {})("OPEN (10 failures, 12 sec remaining)"))
    policy = oci_retry.RetryPolicy(100, clock=FakeClock())
    assert policy.wait_for(failure, 1) == 13.0


# --- retry policy ------------------------------------------------------------------------------
def test_retry_retries_transient_then_succeeds_with_backoff_and_jitter():
    clock = FakeClock()
    policy = oci_retry.RetryPolicy(600, clock=clock, base=2, max_wait=30, rng=random.Random(1))
    calls = iter([SvcError(503, "ServiceUnavailable", "x"), SvcError(500, "InternalError", "boom"), "ok"])

    def fn():
        item = next(calls)
        if isinstance(item, Exception):
            raise item
        return item

    assert policy.call("Op", fn) == "ok"
    assert len(clock.slept) == 2
    assert 1 <= clock.slept[0] <= 2 and 2 <= clock.slept[1] <= 4  # equal jitter: [ceil/2, ceil]
    assert len(policy.progress.lines) == 2 and "retry 1 of Op" in policy.progress.lines[0]


def test_retry_never_repeats_out_of_host_capacity():
    policy = oci_retry.RetryPolicy(600, clock=FakeClock())
    count = []

    def fn():
        count.append(1)
        raise SvcError(500, "InternalError", "Out of host capacity.")

    with pytest.raises(oci_errors.ApiError) as err:
        policy.call("LaunchInstance", fn)
    assert err.value.failure.kind == oci_errors.OUT_OF_CAPACITY and len(count) == 1


def test_throttle_cooldown_grows_and_deadline_stops_early():
    clock = FakeClock()
    policy = oci_retry.RetryPolicy(100, clock=clock, throttle_cooldown=30, max_call_attempts=10)

    def fn():
        raise SvcError(429, "TooManyRequests", "slow down")

    with pytest.raises(oci_errors.DeadlineExceeded) as err:
        policy.call("ListInstances", fn)
    assert clock.slept == [30, 60]  # the next cool-down (120 s) would pass the 100 s deadline
    assert "giving up before the deadline" in str(err.value)
    assert clock.t < 100


def test_backoff_is_capped():
    policy = oci_retry.RetryPolicy(1000, clock=FakeClock(), base=2, max_wait=10, rng=random.Random(0))
    assert all(5 <= policy.backoff(n) <= 10 for n in range(5, 30))


def test_progress_table_lists_every_attempt(tmp_path):
    log = oci_retry.ProgressLog(str(tmp_path / "p.log"), "lms")
    log.attempt("E4 @ FD-1", "failed", "out of host capacity", next_wait=0)
    log.attempt("E5 @ FD-3", "ok", "+2 node(s)")
    table = log.table().splitlines()
    assert table[0].startswith("attempt") and len(table) == 4 and "out of host capacity" in table[2]
    assert len((tmp_path / "p.log").read_text().splitlines()) == 2


# --- validation --------------------------------------------------------------------------------
@pytest.mark.parametrize(("call", "field", "words"), [
    (lambda: oci_args.check_ocid("compartment-1", "compartment_id", ("compartment",)), "compartment_id", "not an OCID"),
    (lambda: oci_args.check_ocid("ocid1.vcn.oc1..aaaaaaaaexample", "subnet_id", ("subnet",)), "subnet_id", "is a vcn OCID"),
    (lambda: oci_args.check_shape_config("VM.Standard2.4", 4, 60, "shape"), "shape.shape", "not a flexible shape"),
    (lambda: oci_args.check_shape_config("E4 flex", 4, 60, "shape"), "shape.shape", "not a flexible shape"),
    (lambda: oci_args.check_shape_config("VM.Standard.E4.Flex", 0, 128, "shape"), "shape.ocpus", "more than 0"),
    (lambda: oci_args.check_shape_config("VM.Standard.E4.Flex", 2, -1, "shape"), "shape.memory_in_gbs", "more than 0"),
    (lambda: oci_args.check_shape_config("VM.Standard.E4.Flex", "2", 8, "shape"), "shape.ocpus", "not a number"),
    (lambda: oci_args.check_fault_domains([], "fault_domains"), "fault_domains", "is empty"),
    (lambda: oci_args.check_fault_domains(["FD-1"], "fault_domains"), "fault_domains", "not a fault domain"),
    (lambda: oci_args.check_count(-1, "count"), "count", ">= 0"),
    (lambda: oci_args.check_common({"deployment": "Bad Name"}), "deployment", "deployment name"),
    (lambda: oci_args.check_common({"deployment": "ok", "freeform_tags": {"a.b": "x"}}), "freeform_tags", "no dots"),
])
def test_bad_input_names_field_and_fix(call, field, words):
    with pytest.raises(oci_errors.InputError) as err:
        call()
    assert err.value.field == field and words in str(err.value) and "Fix:" in str(err.value)


def test_valid_inputs_pass():
    oci_args.check_ocid("ocid1.compartment.oc1..aaaaaaaasandboxcompartment", "c", ("compartment",))
    assert oci_args.check_shapes(E4, [E5, E4], "shape") == [E4, E5]
    oci_args.check_shape_config("VM.Standard.E5.Flex", 30, 128, "shape")
    # a shape no one has heard of yet has the form of one: whether it exists is ListShapes' to say (oci_shapes)
    oci_args.check_shape_config("VM.Standard.E9.Flex", 30, 128, "shape")
    assert oci_args.check_count(0, "count") == 0


# --- ownership ---------------------------------------------------------------------------------
def test_ownership_tags_and_matching():
    tags = oci_ownership.ownership_tags("rehearsal", "node_pool", "lms")
    assert all(oci_ownership.tag_key_problem(k) is None for k in tags)
    assert oci_ownership.is_owned({"freeform_tags": tags}, "rehearsal", "node_pool", "lms")
    assert not oci_ownership.is_owned({"freeform_tags": tags}, "other", "node_pool")
    assert not oci_ownership.is_owned({"freeform_tags": {"openedx_scale_deployment": "rehearsal"}}, "rehearsal")


def test_retry_token_is_deterministic_and_bounded():
    a = oci_ownership.retry_token("node_pool", "d", "c", "lms")
    assert a == oci_ownership.retry_token("node_pool", "d", "c", "lms") and len(a) <= 64
    assert a != oci_ownership.retry_token("node_pool", "d", "c", "lms", "ocid1.nodepool.dead")
