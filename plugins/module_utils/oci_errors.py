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
TRANSIENT = "transient"                # 5xx, 409 IncorrectState/LockConflict: back off and retry
CIRCUIT_OPEN = "circuit_open"          # SDK circuit breaker open: wait for it, then retry
TIMEOUT = "timeout"                    # connection/read timeout: retry with the same retry token
NOT_FOUND = "not_found"
CONFLICT = "conflict"                  # 409 Conflict: not transient; a caller may prove the resource busy, else it fails
INVALIDATED_TOKEN = "invalidated_token"  # the retry token's resource is gone: send again with a new token
FATAL = "fatal"                        # 400/401/403 etc.: a retry cannot help

RETRYABLE_KINDS = frozenset([THROTTLED, TRANSIENT, CIRCUIT_OPEN, TIMEOUT])

_OOHC = re.compile(r"out of (host )?capacity|outofcapacity|out_of_host_capacity", re.IGNORECASE)
_LIMIT_CODES = ("LimitExceeded", "QuotaExceeded")
_CB_REMAINING = re.compile(r"\((?:\d+) failures?, (\d+(?:\.\d+)?) sec remaining\)")

# Where each row of the error table comes from.
APIERRORS = "https://docs.oracle.com/iaas/Content/API/References/apierrors.htm"
SDK_RETRY = "oci SDK oci/retry/retry_checkers.py (RETRYABLE_STATUSES_AND_CODES; 5xx except 501)"
SDK_NO_RESPONSE = "oci SDK oci/exceptions.py (ServiceError status -1 when no response arrived)"
USING_API = "https://docs.oracle.com/iaas/Content/API/Concepts/usingapi.htm#retrytoken"


class ErrorRule(object):
    """One row of the error table: what an OCI status/code means for the caller.

    kind: what the retry policy and the planners do (RETRYABLE_KINDS are retried with back-off, THROTTLED with the
    429 cool-down, INVALIDATED_TOKEN once with a new retry token, everything else fails at once); fix: what the user
    can do, appended to OCI's own message; source: the document the row is read from.
    """

    def __init__(self, status, code, kind, fix=None, source=APIERRORS):
        self.status = status
        self.code = code
        self.kind = kind
        self.fix = fix
        self.source = source

    @property
    def retry(self):
        return self.kind in RETRYABLE_KINDS

    @property
    def new_token(self):
        return self.kind == INVALIDATED_TOKEN

    def as_dict(self):
        return {"status": self.status, "code": self.code, "kind": self.kind, "retry": self.retry, "new_token": self.new_token,
                "fix": self.fix, "source": self.source}


_POLICY_FIX = "check that the user's group has a policy for this resource type in the compartment (docs/provision.md lists them)"
# Service-agnostic: codes every OCI service answers with. A (status, None) row is the status's default.
ERROR_TABLE = (
    ErrorRule(400, "CannotParseRequest", FATAL, "the request body is malformed: report it as a bug of this collection"),
    ErrorRule(400, "InvalidParameter", FATAL, "correct the named parameter in the inventory"),
    ErrorRule(400, "MissingParameter", FATAL, "set the named parameter in the inventory"),
    ErrorRule(400, "LimitExceeded", LIMIT_EXCEEDED, "request a service limit increase, or ask for fewer/smaller resources"),
    ErrorRule(400, "QuotaExceeded", LIMIT_EXCEEDED, "raise the compartment quota, or ask for fewer/smaller resources"),
    # The reference says "Yes, with backoff" for this, 401 and 404 NotAuthorizedOrNotFound (IAM and new resources
    # propagate); a module cannot tell that from a wrong OCID or a missing policy, which retries only delay, so they
    # fail at once (404: absence) and the fix names both causes.
    ErrorRule(400, "RelatedResourceNotAuthorizedOrNotFound", FATAL, "check the OCIDs the request names (subnet, image, "
              "reservation) exist in this region, and " + _POLICY_FIX),
    ErrorRule(400, None, FATAL, "correct the request as OCI's message says"),
    ErrorRule(401, "NotAuthenticated", FATAL, "check the API key, fingerprint and tenancy of the OCI config profile"),
    ErrorRule(401, None, FATAL, "check the API key, fingerprint and tenancy of the OCI config profile"),
    ErrorRule(402, "SignUpRequired", FATAL, "subscribe the tenancy to the service/region first"),
    ErrorRule(403, "NotAllowed", FATAL, "send this call to the tenancy's home region"),
    ErrorRule(403, "NotAuthorized", FATAL, _POLICY_FIX),
    ErrorRule(403, None, FATAL, _POLICY_FIX),
    # Read as absence by the callers (a delete that finds nothing is done); OCI does not tell missing from forbidden.
    ErrorRule(404, "NotAuthorizedOrNotFound", NOT_FOUND, "check the OCID, and " + _POLICY_FIX),
    ErrorRule(404, None, NOT_FOUND, "check the OCID and the region"),
    ErrorRule(405, None, FATAL, "report it as a bug of this collection"),
    ErrorRule(409, "IncorrectState", TRANSIENT, "wait for the resource's current operation to finish"),
    ErrorRule(409, "LockConflict", TRANSIENT, "wait for the resource's current operation to finish", source=SDK_RETRY),
    ErrorRule(409, "ExternalServerIncorrectState", TRANSIENT, "wait and run again"),
    ErrorRule(409, "InvalidatedRetryToken", INVALIDATED_TOKEN, "none needed: the create is sent again with a new retry token "
              "(the resource its old token made was deleted)", source=APIERRORS + " ; " + USING_API),
    ErrorRule(409, "ResourceLocked", FATAL, "remove the resource lock (OCI resource locking) or leave the resource alone"),
    ErrorRule(409, "NotAuthorizedOrResourceAlreadyExists", FATAL, "a resource of that name may already exist (delete or rename it), "
              "or " + _POLICY_FIX),
    # "The requested state for the resource conflicts with its current state. This state is not transient."
    ErrorRule(409, "Conflict", CONFLICT, "change the request as OCI's message says (e.g. one change per run: placement, or "
              "cycling, not both); run again once the resource has no work request in progress"),
    ErrorRule(409, None, CONFLICT, "change the request as OCI's message says"),
    ErrorRule(412, None, FATAL, "the resource changed meanwhile: run again"),
    ErrorRule(413, None, FATAL, "send less in one request (fewer tags, smaller metadata)"),
    ErrorRule(422, None, FATAL, "correct the request as OCI's message says"),
    ErrorRule(429, "TooManyRequests", THROTTLED, "run fewer concurrent jobs against the tenancy, or ask OCI for a higher rate"),
    ErrorRule(429, None, THROTTLED, "run fewer concurrent jobs against the tenancy"),
    ErrorRule(431, None, FATAL, "report it as a bug of this collection"),
    ErrorRule(500, None, TRANSIENT, "run again later; quote the opc-request-id to Oracle support if it persists", source=APIERRORS + " ; " + SDK_RETRY),
    ErrorRule(501, None, FATAL, "this operation is not available in the region", source=APIERRORS + " ; " + SDK_RETRY),
    ErrorRule(503, None, TRANSIENT, "run again later", source=APIERRORS + " ; " + SDK_RETRY),
    ErrorRule(-1, None, TIMEOUT, "check the network path to the OCI endpoint", source=SDK_NO_RESPONSE),
)
_BY_CODE = dict(((r.status, r.code), r) for r in ERROR_TABLE)
_OUT_OF_CAPACITY_RULE = ErrorRule(500, "InternalError", OUT_OF_CAPACITY, "another shape, fault domain or capacity reservation (the "
                                  "planner tries them), or run again later",
                                  source="https://docs.oracle.com/iaas/Content/Compute/References/troubleshooting-out-of-capacity.htm")


def error_rule(status, code, message=""):
    """The table's row for an OCI answer: exact (status, code), then the status's default, then the class (5xx, 4xx)."""
    if status == 500 and is_out_of_capacity_text(message):
        return _OUT_OF_CAPACITY_RULE
    rule = _BY_CODE.get((status, code)) or _BY_CODE.get((status, None))
    if rule is None and isinstance(status, int) and status >= 500:
        rule = ErrorRule(status, None, TRANSIENT, "run again later", source=SDK_RETRY)
    return rule or ErrorRule(status, code, FATAL, "correct the request as OCI's message says")


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
        super(ApiError, self).__init__(text, fix=failure.fix if failure.kind not in RETRYABLE_KINDS else None, details=failure.as_dict())


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

    def __init__(self, kind, status=None, code=None, message="", request_id=None, wait_hint=None, fix=None):
        self.kind = kind
        self.fix = fix
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
            INVALIDATED_TOKEN: "retry token invalidated (409)",
            FATAL: "error %s" % self.describe(),
        }.get(self.kind, self.kind)

    def as_dict(self):
        return {"kind": self.kind, "status": self.status, "code": self.code, "message": self.message, "opc_request_id": self.request_id,
                "fix": self.fix}


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
        rule = error_rule(status, code, message)
        return Failure(rule.kind, status=status, code=code, message=message, request_id=request_id, fix=rule.fix)
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
