"""Fault injection: 429 throttling and scripted errors/stalls per operation and call number."""

from __future__ import annotations

import fnmatch
import random

from .scenario import Fault, Throttle


def matches(patterns: list[str], operation: str) -> bool:
    """`operation` is "service.Operation"; patterns match it whole or by the bare operation name."""
    bare = operation.split(".", 1)[-1]
    return any(fnmatch.fnmatchcase(operation, p) or fnmatch.fnmatchcase(bare, p) for p in patterns)


class Throttler:
    """Token bucket over the sandbox clock: `burst` calls at once, refilled at per_minute / 60 per second."""

    def __init__(self, spec: Throttle, start: float):
        self.spec = spec
        self.start = start
        self.tokens = float(spec.burst)
        self.last = start

    def throttled(self, operation: str, now: float) -> bool:
        if not matches(self.spec.operations, operation):
            return False
        elapsed = now - self.start
        if any(w.start_seconds <= elapsed < w.start_seconds + w.duration_seconds for w in self.spec.windows):
            return True
        if self.spec.per_minute is None:
            return False
        self.tokens = min(float(self.spec.burst), self.tokens + (now - self.last) * self.spec.per_minute / 60.0)
        self.last = now
        if self.tokens >= 1:
            self.tokens -= 1
            return False
        return True


class FaultPlan:
    def __init__(self, faults: list[Fault], seed: int):
        self.faults = faults
        self.fired = [0] * len(faults)
        self.rng = random.Random(seed)

    def pick(self, operation: str, call_no: int) -> Fault | None:
        """The fault to inject on call number `call_no` (1-based, per operation), if any."""
        for index, fault in enumerate(self.faults):
            if not matches(fault.operations, operation):
                continue
            if fault.max_times is not None and self.fired[index] >= fault.max_times:
                continue
            hit = (
                call_no in fault.calls
                or (fault.first is not None and call_no <= fault.first)
                or (fault.every is not None and call_no % fault.every == 0)
                or (fault.probability is not None and self.rng.random() < fault.probability)
            )
            if hit:
                self.fired[index] += 1
                return fault
        return None
