# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one retry policy: overall deadline, exponential backoff with jitter, 429 cool-down, progress lines.

SDK-level retries are switched off on every client we build (oci_client), so this policy is the only
place that decides whether a call is repeated. "Out of host capacity" is never repeated here: it is
returned to the capacity planner, which moves to another placement.
"""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import hashlib
import json
import random
import time

from ansible_collections.openedx_scale.oke.plugins.module_utils.oci_errors import (
    CIRCUIT_OPEN,
    INVALIDATED_TOKEN,
    RETRYABLE_KINDS,
    THROTTLED,
    ApiError,
    DeadlineExceeded,
    classify,
)

# Failures that prove a request was refused before OCI acted on it: the only ones a non-idempotent call repeats.
NOT_APPLIED_KINDS = frozenset([THROTTLED, CIRCUIT_OPEN])


class RealClock(object):
    """Wall clock: monotonic time and real sleeps. RetryPolicy takes any object with now() and sleep(seconds)."""

    def now(self):
        return time.monotonic()

    def wall(self):
        """Epoch seconds, for what must line up with OCI's own clock (retry-token epochs)."""
        return time.time()

    def sleep(self, seconds):
        if seconds > 0:
            time.sleep(seconds)


class ProgressLog(object):
    """Every attempt and every retry: kept for the module result and appended to an optional log file
    (one line each, so `tail -f` shows progress while the module runs)."""

    def __init__(self, path=None, label=""):
        self.path = path
        self.label = label
        self.lines = []
        self.attempts = []
        self.warnings = []

    def warn(self, text):
        """A warning Ansible shows (the module result's `warnings`), once per text, also as a progress line."""
        if text not in self.warnings:
            self.warnings.append(text)
            self.line("WARNING: " + text)

    def line(self, text):
        stamp = time.strftime("%H:%M:%S")
        entry = "%s %s%s" % (stamp, ("[%s] " % self.label) if self.label else "", text)
        self.lines.append(entry)
        if self.path:
            try:
                with open(self.path, "a") as handle:
                    handle.write(entry + "\n")
            except (IOError, OSError):
                self.path = None  # progress is a convenience: never fail provisioning for it

    def attempt(self, placement, outcome, reason, next_wait=None, **extra):
        record = {"attempt": len(self.attempts) + 1, "placement": placement, "outcome": outcome, "reason": reason,
                  "next_wait_seconds": None if next_wait is None else round(next_wait, 1)}
        record.update(extra)
        self.attempts.append(record)
        self.line("attempt %d | %s | %s | %s | next wait %s" % (
            record["attempt"], placement, outcome, reason, "-" if next_wait is None else "%.0fs" % next_wait))
        return record

    def table(self):
        """Plain-text table of every attempt, for failure messages and the role's summary."""
        if not self.attempts:
            return "(no attempt was made)"
        cols = ["attempt", "placement", "outcome", "reason", "next_wait_seconds"]
        rows = [[str(a.get(c, "")) if a.get(c) is not None else "-" for c in cols] for a in self.attempts]
        widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
        fmt = " | ".join("%%-%ds" % w for w in widths)
        out = [fmt % tuple(cols), "-+-".join("-" * w for w in widths)]
        out.extend(fmt % tuple(r) for r in rows)
        return "\n".join(out)

    def dump(self):
        return json.dumps(self.attempts, indent=1)


class RetryPolicy(object):
    """Deadline-bounded retries of single API calls, and the backoff used between capacity rounds.

    base/factor/max_wait: exponential backoff, "equal jitter" (half fixed, half random) so waits stay
    spread out yet never collapse to zero; throttle_cooldown: minimum wait after a 429, doubled on each
    consecutive 429; the clock (and so every sleep) is injectable.
    """

    def __init__(self, deadline_seconds, clock=None, base=2.0, factor=2.0, max_wait=120.0, throttle_cooldown=30.0,
                 max_call_attempts=8, rng=None, progress=None, operation_seconds=1800.0):
        self.clock = clock or RealClock()
        self.deadline_seconds = float(deadline_seconds)
        self.started = self.clock.now()
        self.base = float(base)
        self.factor = float(factor)
        self.max_wait = float(max_wait)
        self.throttle_cooldown = float(throttle_cooldown)
        self.max_call_attempts = int(max_call_attempts)
        self.operation_seconds = float(operation_seconds)
        self.rng = rng or random.Random()
        self.progress = progress or ProgressLog()
        self._throttled_in_a_row = 0
        self.calls = 0

    # --- time ------------------------------------------------------------------------------------
    def elapsed(self):
        return self.clock.now() - self.started

    def wall(self):
        """Epoch seconds on the clock's side of the API (a clock without wall() is a wall-clock one)."""
        wall = getattr(self.clock, "wall", None)
        return wall() if wall is not None else time.time()

    def remaining(self):
        return self.deadline_seconds - self.elapsed()

    def backoff(self, attempt):
        """Wait before retry number `attempt` (1-based): min(max, base*factor^(n-1)), half of it jittered."""
        ceiling = min(self.max_wait, self.base * (self.factor ** max(0, attempt - 1)))
        return ceiling / 2.0 + self.rng.uniform(0, ceiling / 2.0)

    def wait_for(self, failure, attempt):
        if failure.kind == THROTTLED:
            self._throttled_in_a_row += 1
            return min(self.max_wait * 4, self.throttle_cooldown * (2 ** (self._throttled_in_a_row - 1)))
        self._throttled_in_a_row = 0
        if failure.kind == CIRCUIT_OPEN and failure.wait_hint:
            return failure.wait_hint + 1.0
        return self.backoff(attempt)

    def fits(self, seconds):
        return seconds < self.remaining()

    def sleep(self, seconds):
        self.clock.sleep(seconds)

    # --- single calls ------------------------------------------------------------------------------
    def call(self, operation, fn, *args, **kwargs):
        """Call fn; retry only retryable failures (429/5xx/timeouts/circuit open/409 conflicts), inside the deadline.

        Non-retryable failures (out of capacity, limit exceeded, 4xx) are raised as ApiError at once with
        the classified failure attached, so callers can react (next placement, re-list, fail).
        """
        return self.run(Call(operation, fn, args, kwargs))

    def call_non_idempotent(self, operation, fn, *args, **kwargs):
        """Call an operation OCI offers no retry token for (UpdateNodePool, DeleteNodePool): repeat it only after
        failures that prove it was not carried out (429, SDK circuit open). A 5xx, a timeout or a 409 is raised as
        ApiError so the caller reads the resource and its work requests before deciding to send it again."""
        return self.run(Call(operation, fn, args, kwargs, retry_kinds=NOT_APPLIED_KINDS))

    def call_create(self, operation, fn, details, token, **kwargs):
        """A create with an opc-retry-token (see TokenCreate)."""
        return self.run(TokenCreate(self.progress, operation, fn, details, token, kwargs))

    def budget(self, operation, calls=None, seconds=None):
        """A budget for one logical operation (an update through busy pools and lost answers, a delete): every
        attempt is charged to it, so no loop around the calls can start the count again."""
        return OperationBudget(self, operation, calls or self.max_call_attempts, seconds or self.operation_seconds)

    def run(self, operation):
        """The one retry loop, for every call: send the operation (an Operation) until it succeeds. A failure of its
        retry_kinds is sent again as it is, after the backoff (the 429 cool-down, a circuit's remaining seconds),
        at most max_call_attempts times in a row and never past the deadline; any other failure goes to
        operation.recover(), which raises it, returns the result, or returns RESEND to send it again."""
        attempt = 0
        while operation.prepare():
            attempt += 1
            self.calls += 1
            try:
                response = operation.send()
            except Exception as exc:  # every SDK failure is classified below
                failure = classify(exc)
                if failure.kind in operation.retry_kinds:
                    self._wait_to_repeat(operation.name, failure, attempt, exc)
                    continue
                error = ApiError(operation.name, failure)
                error.__cause__ = exc
                result = operation.recover(error)
                if result is not RESEND:
                    return result
                attempt = 0
                continue
            self._throttled_in_a_row = 0
            return operation.sent(response)
        return None

    def _wait_to_repeat(self, operation, failure, attempt, cause):
        """Sleep before sending `operation` again after its attempt-th failure in a row, or raise when that would
        pass max_call_attempts or the deadline."""
        wait = self.wait_for(failure, attempt)
        if attempt >= self.max_call_attempts:
            raise ApiError(operation, failure, "%s failed after %d attempts: %s" % (operation, attempt, failure.describe())) from cause
        if not self.fits(wait):
            raise DeadlineExceeded(
                "%s: giving up before the deadline (%.0fs left, next wait %.0fs); last error: %s"
                % (operation, max(0, self.remaining()), wait, failure.describe()),
                details=failure.as_dict()) from cause
        self.progress.line("retry %d of %s | %s | next wait %.0fs" % (attempt, operation, failure.short(), wait))
        self.sleep(wait)


# What Operation.recover() returns to have the operation sent again.
RESEND = type("Resend", (object,), {"__repr__": lambda self: "RESEND"})()


class Operation(object):
    """One logical operation RetryPolicy.run() sends until it succeeds. The loop, its waits and bounds are the
    policy's; the hooks say what a send is and what a failure the loop does not repeat by itself means."""

    name = "operation"  # the API operation, for messages and progress lines
    retry_kinds = RETRYABLE_KINDS  # failures sent again as they are

    def prepare(self):
        """Before each send: False when there is nothing (left) to send, and run() returns None."""
        return True

    def send(self):
        """One attempt: the SDK call."""
        raise NotImplementedError

    def sent(self, response):
        """The result of a successful send."""
        return response

    def recover(self, error):
        """A failure outside retry_kinds (`error`, an ApiError): raise it (the default), return the result, or
        return RESEND after whatever look and wait a new send needs (charged to the operation's budget)."""
        raise error


class Call(Operation):
    """One SDK call, repeated only after the failures of `retry_kinds`."""

    def __init__(self, name, fn, args=(), kwargs=None, retry_kinds=RETRYABLE_KINDS):
        self.name = name
        self.fn = fn
        self.args = args
        self.kwargs = kwargs or {}
        self.retry_kinds = retry_kinds

    def send(self):
        return self.fn(*self.args, **self.kwargs)


class TokenCreate(Operation):
    """A create with an opc-retry-token. OCI answers 409 InvalidatedRetryToken when the resource that token made
    was deleted since: that create is over, so this one is sent once more under a new token (never more, so a
    token OCI keeps invalidating ends with its message)."""

    def __init__(self, progress, name, fn, details, token, kwargs):
        self.progress = progress
        self.name = name
        self.fn = fn
        self.details = details
        self.token = token
        self.kwargs = kwargs
        self.renewed = False

    def send(self):
        return self.fn(self.details, opc_retry_token=self.token, **self.kwargs)

    def recover(self, error):
        if error.failure.kind != INVALIDATED_TOKEN or self.renewed:
            raise error
        self.progress.line("%s: OCI invalidated the retry token (its resource was deleted); sending it once with a new token" % self.name)
        self.token = renewed_token(self.token)
        self.renewed = True
        return RESEND


def renewed_token(token):
    """The retry token for sending a create again after OCI invalidated `token` (same length, deterministic)."""
    return (token[:4] + hashlib.sha256(("renewed\x1f" + token).encode("utf-8")).hexdigest())[:len(token) or 64]


class OperationBudget(object):
    """Calls and seconds one logical operation may spend, whatever loops run inside it.

    charge(failure) counts an attempt that has to be repeated; past either limit it raises ApiError with OCI's last
    message (and the error table's fix), so a persistent error ends the module instead of feeding a loop.
    """

    def __init__(self, policy, operation, calls, seconds):
        self.policy = policy
        self.operation = operation
        self.calls = int(calls)
        self.seconds = float(seconds)
        self.started = policy.elapsed()
        self.used = 0

    def elapsed(self):
        return self.policy.elapsed() - self.started

    def charge(self, failure, cause=None):
        self.used += 1
        if self.used >= self.calls or self.elapsed() >= self.seconds:
            raise ApiError(self.operation, failure, "%s failed %d time(s) over %.0fs (budget %d calls, %.0fs); last error: %s" % (
                self.operation, self.used, self.elapsed(), self.calls, self.seconds, failure.describe())) from cause

    def wait(self, seconds, failure, cause=None):
        """Sleep before the next attempt, unless that passes the budget or the run's deadline."""
        if self.elapsed() + seconds >= self.seconds or not self.policy.fits(seconds):
            raise ApiError(self.operation, failure, "%s: giving up (next wait %.0fs would pass the %.0fs budget or the deadline); last "
                           "error: %s" % (self.operation, seconds, self.seconds, failure.describe())) from cause
        self.policy.sleep(seconds)
