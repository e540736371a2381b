# -*- coding: utf-8 -*-
# Copyright: (c) 2026, openedx_scale maintainers
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Typed errors, classification of OCI failures, and the one place that turns them into fail_json."""

from __future__ import (absolute_import, division, print_function)
__metaclass__ = type

import re
import traceback

from ansible.module_utils.six.moves import configparser

# Kinds of failure the retry policy and the planners act on.
OUT_OF_CAPACITY = "out_of_capacity"    # never retried as-is: the planner moves to the next placement
LIMIT_EXCEEDED = "limit_exceeded"      # quota/limit (often false): re-list before anything else
THROTTLED = "throttled"                # 429: cool down
TRANSIENT = "transient"                # other 5xx, 409 IncorrectState/LockConflict: back off and retry
CIRCUIT_OPEN = "circuit_open"          # SDK circuit breaker open: wait for it, then retry
TIMEOUT = "timeout"                    # connection/read timeout: retry with the same retry token
NOT_FOUND = "not_found"
CONFLICT = "conflict"                  # another work request holds the resource
FATAL = "fatal"                        # 400/401/403 etc.: a retry cannot help

RETRYABLE_KINDS = frozenset([THROTTLED, TRANSIENT, CIRCUIT_OPEN, TIMEOUT, CONFLICT])

_OOHC = re.compile(r"out of (host )?capacity|outofcapacity|out_of_host_capacity", re.IGNORECASE)
_LIMIT_CODES = ("LimitExceeded", "QuotaExceeded")
_CB_REMAINING = re.compile(r"\((?:\d+) failures?, (\d+(?:\.\d+)?) sec remaining\)")


class OciScaleError(Exception):
    """Base error: a message the user can act on, optionally the input field and the fix."""

    def __init__(self, msg, field=None, fix=None, details=None):
        self.field = field
        self.fix = fix
        self.details = details or {}
        text = msg
        if field:
            text = "%s: %s" % (field, msg)
        if fix:
            text = "%s Fix: %s" % (text.rstrip(), fix)
        super(OciScaleError, self).__init__(text)
        self.msg = text


class InputError(OciScaleError):
    """Bad module/role input, detected before any API call."""


def raise_problems(problems):
    """Raise every InputError of `problems` at once (each message already names its field and fix), or nothing."""
    unique = []
    for problem in problems:
        if problem.msg not in [p.msg for p in unique]:
            unique.append(problem)
    if len(unique) == 1:
        raise unique[0]
    if unique:
        combined = InputError(" | ".join(p.msg for p in unique))
        combined.field = unique[0].field
        raise combined


class CredentialsError(InputError):
    """Missing or unusable OCI credentials."""


def config_file_error(exc):
    """A configparser error of an OCI config file as a CredentialsError naming the file and line numbers only.

    configparser quotes the offending lines, and the usual one is a private key pasted into the file: its text
    (or an option name cut from it, base64 holds '=') must not reach the job output or AWX's stored events.
    """
    if isinstance(exc, configparser.MissingSectionHeaderError):
        lines, why = [exc.lineno], "comes before any [PROFILE] section header"
    elif isinstance(exc, configparser.ParsingError):
        lines, why = [error[0] for error in exc.errors], "not a `key = value` line, [section] header or comment"
    elif isinstance(exc, (configparser.DuplicateOptionError, configparser.DuplicateSectionError)):
        lines, why = [exc.lineno], "repeats an option or section defined above it"
    else:
        lines, why = [], "cannot be parsed (%s)" % type(exc).__name__
    where = "line%s %s" % ("s" if len(lines) > 1 else "", ", ".join(str(n) for n in lines)) if lines else "the file"
    return CredentialsError("%s of the OCI config file %s %s; its content is not shown (it may hold a key)." % (where, exc.source, why),
                            field="config_file",
                            fix="correct that line (a private key belongs in the PEM file that key_file names, never in the config file).")


class ApiError(OciScaleError):
    """A non-retryable API failure (or retries exhausted) for one named operation."""

    def __init__(self, operation, failure, msg=None):
        self.operation = operation
        self.failure = failure
        text = msg or "%s failed: %s" % (operation, failure.describe())
        super(ApiError, self).__init__(text, details=failure.as_dict())


class DeadlineExceeded(OciScaleError):
    """The overall deadline would be passed by the next wait: stop now and say what was tried."""

    def __init__(self, msg, attempts_table=None, details=None):
        self.attempts_table = attempts_table
        if attempts_table:
            msg = "%s\n%s" % (msg, attempts_table)
        super(DeadlineExceeded, self).__init__(msg, details=details)


class CapacityExhausted(DeadlineExceeded):
    """No allowed placement produced capacity before the deadline."""


class WorkRequestFailed(OciScaleError):
    """An OKE/compute work request ended FAILED or CANCELED."""

    def __init__(self, work_request_id, status, messages):
        self.work_request_id = work_request_id
        self.status = status
        self.messages = list(messages or [])
        self.out_of_capacity = any(_OOHC.search(m or "") for m in self.messages)
        text = "work request %s ended %s: %s" % (work_request_id, status, "; ".join(self.messages) or "no error detail")
        super(WorkRequestFailed, self).__init__(text)


class Failure(object):
    """One classified failure: kind plus the HTTP status/code/message/request id that led to it."""

    def __init__(self, kind, status=None, code=None, message="", request_id=None, wait_hint=None):
        self.kind = kind
        self.status = status
        self.code = code
        self.message = message or ""
        self.request_id = request_id
        self.wait_hint = wait_hint

    @property
    def retryable(self):
        return self.kind in RETRYABLE_KINDS

    def describe(self):
        parts = []
        if self.status is not None:
            parts.append(str(self.status))
        if self.code:
            parts.append(str(self.code))
        text = " ".join(parts)
        msg = self.message.strip()
        if msg:
            text = "%s %s" % (text, msg) if text else msg
        if self.request_id:
            text += " (opc-request-id %s)" % self.request_id
        return text or self.kind

    def short(self):
        """Reason for a progress line: the kind in words."""
        return {
            OUT_OF_CAPACITY: "out of host capacity",
            LIMIT_EXCEEDED: "limit exceeded (%s)" % (self.code or "quota"),
            THROTTLED: "throttled (429)",
            TRANSIENT: "transient %s" % (self.status or "error"),
            CIRCUIT_OPEN: "SDK circuit breaker open",
            TIMEOUT: "timeout",
            NOT_FOUND: "not found",
            CONFLICT: "conflict (%s)" % (self.code or "409"),
            FATAL: "error %s" % self.describe(),
        }.get(self.kind, self.kind)

    def as_dict(self):
        return {"kind": self.kind, "status": self.status, "code": self.code, "message": self.message, "opc_request_id": self.request_id}


def is_out_of_capacity_text(text):
    """True when an error/work-request/node message says the hosts are out of capacity."""
    return bool(_OOHC.search(text or ""))


def _is_instance(exc, module_name, class_name):
    for cls in type(exc).__mro__:
        if cls.__name__ == class_name and cls.__module__.startswith(module_name):
            return True
    return False


def classify(exc):
    """Map any exception raised by an SDK call to a Failure. Duck-typed so tests need not build SDK objects."""
    if isinstance(exc, WorkRequestFailed):
        kind = OUT_OF_CAPACITY if exc.out_of_capacity else FATAL
        if not exc.out_of_capacity and any(c in m for m in exc.messages for c in _LIMIT_CODES):
            kind = LIMIT_EXCEEDED
        return Failure(kind, code=exc.status, message="; ".join(exc.messages))
    if type(exc).__name__ == "CircuitBreakerError":
        match = _CB_REMAINING.search(str(exc))
        return Failure(CIRCUIT_OPEN, message=str(exc), wait_hint=float(match.group(1)) if match else None)
    status = getattr(exc, "status", None)
    if isinstance(status, int) and hasattr(exc, "code"):
        code = getattr(exc, "code", None) or ""
        message = getattr(exc, "message", None) or ""
        request_id = getattr(exc, "request_id", None)
        if status == 500 and is_out_of_capacity_text(message):
            kind = OUT_OF_CAPACITY
        elif status == 429:
            kind = THROTTLED
        elif code in _LIMIT_CODES:
            kind = LIMIT_EXCEEDED
        elif status == 404:
            kind = NOT_FOUND
        elif status == 409 and code in ("IncorrectState", "LockConflict"):
            kind = TRANSIENT
        elif status == 409:
            kind = CONFLICT
        elif status >= 500 and status != 501:
            kind = TRANSIENT
        elif status == -1:  # SDK's "no response" pseudo status
            kind = TIMEOUT
        else:
            kind = FATAL
        return Failure(kind, status=status, code=code, message=message, request_id=request_id)
    name = type(exc).__name__
    if name in ("ReadTimeout", "ConnectTimeout", "Timeout", "RequestTimeout") or _is_instance(exc, "requests", "Timeout"):
        return Failure(TIMEOUT, message=str(exc))
    if name in ("ConnectionError", "RequestException", "ProtocolError", "RemoteDisconnected") or _is_instance(exc, "requests", "ConnectionError"):
        return Failure(TIMEOUT, message=str(exc))
    return Failure(FATAL, message="%s: %s" % (name, exc))


def fail_module(module, exc, **result):
    """The single place where our errors become fail_json: message, field/fix and attempt history."""
    if isinstance(exc, OciScaleError):
        if exc.field:
            result["field"] = exc.field
        if exc.fix:
            result["fix"] = exc.fix
        if exc.details:
            result["error"] = exc.details
        if isinstance(exc, DeadlineExceeded) and exc.attempts_table:
            result["attempts_table"] = exc.attempts_table.splitlines()
        module.fail_json(msg=exc.msg, **result)
    if isinstance(exc, configparser.Error):
        fail_module(module, config_file_error(exc), **result)
    failure = classify(exc)
    module.fail_json(msg="Unexpected %s: %s" % (type(exc).__name__, failure.describe()), error=failure.as_dict(),
                     exception=traceback.format_exc(), **result)
