"""OCI error responses: the status, code and message pairs the real services answer with."""

from __future__ import annotations


class ApiError(Exception):
    """An error answered to the client as OCI does: HTTP status + JSON {"code", "message"}."""

    def __init__(self, status: int, code: str, message: str, headers: dict | None = None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}


def not_found(what: str = "") -> ApiError:
    # OCI never tells "missing" from "forbidden": both are this 404.
    msg = "Authorization failed or requested resource not found."
    return ApiError(404, "NotAuthorizedOrNotFound", f"{msg} {what}".strip())


def invalid(field: str, why: str) -> ApiError:
    return ApiError(400, "InvalidParameter", f"Invalid {field}: {why}")


def missing(field: str) -> ApiError:
    return ApiError(400, "MissingParameter", f"Missing required parameter: {field}")


def not_authenticated(why: str) -> ApiError:
    # The real message; `why` goes to the sandbox log and state dump, not to the client.
    err = ApiError(401, "NotAuthenticated", "The required information to complete authentication was not provided or was incorrect.")
    err.reason = why
    return err


def out_of_host_capacity() -> ApiError:
    return ApiError(500, "InternalError", "Out of host capacity.")


def conflict(message: str) -> ApiError:
    return ApiError(409, "Conflict", message)


def incorrect_state(message: str) -> ApiError:
    return ApiError(409, "IncorrectState", message)


def too_many_requests() -> ApiError:
    return ApiError(429, "TooManyRequests", "Too many requests for the user")
