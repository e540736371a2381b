"""Route table, request context and reply type shared by the service modules under api/."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from .errors import ApiError, invalid, missing

OCID = re.compile(r"^ocid1\.[a-z0-9_-]+\.[a-z0-9-]+\.[a-z0-9-]*\.[a-z0-9._-]+$")


@dataclass
class Reply:
    status: int = 200
    body: object = None  # dict/list -> JSON; str/bytes sent as they are
    headers: dict = field(default_factory=dict)
    content_type: str = "application/json"


@dataclass
class Route:
    method: str
    pattern: re.Pattern
    operation: str  # "service.Operation", the name counters and fault rules use
    handler: Callable
    retry_token: bool  # mutating call that honours opc-retry-token


ROUTES: list[Route] = []


def route(method: str, path: str, operation: str, *, retry_token: bool = False):
    """Register a handler for `path` ("/20160918/instances/{instanceId}")."""
    regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", path) + "$")

    def register(fn):
        ROUTES.append(Route(method, regex, operation, fn, retry_token))
        return fn

    return register


def match(method: str, path: str) -> tuple[Route | None, dict]:
    for candidate in ROUTES:
        found = candidate.pattern.match(path)
        if found and candidate.method == method:
            return candidate, found.groupdict()
    return None, {}


class Context:
    """One API request as the handlers see it."""

    def __init__(self, store, method: str, path: str, query: str, headers, body: bytes, params: dict):
        self.store = store
        self.method = method
        self.path = path
        self.query = parse_qs(query, keep_blank_values=True)
        self.headers = headers
        self.raw_body = body
        self.params = params
        self._json = None

    @property
    def sc(self):
        return self.store.sc

    def q(self, name: str, default=None):
        values = self.query.get(name)
        return values[0] if values else default

    def q_all(self, name: str) -> list[str]:
        # The SDK sends collection params multi-valued ("lifecycleState=A&lifecycleState=B").
        return [v for value in self.query.get(name, []) for v in value.split(",") if v]

    def q_required(self, name: str) -> str:
        value = self.q(name)
        if not value:
            raise missing(name)
        return value

    def json(self) -> dict:
        if self._json is None:
            try:
                self._json = json.loads(self.raw_body or b"{}")
            except ValueError as exc:
                raise ApiError(400, "CannotParseRequest", "Incorrectly formatted request.") from exc
            if not isinstance(self._json, dict):
                raise ApiError(400, "CannotParseRequest", "Incorrectly formatted request.")
        return self._json


def need(body: dict, name: str, where: str = ""):
    value = body.get(name)
    if value is None or value == "":
        raise missing(f"{where}{name}")
    return value


def need_ocid(body: dict, name: str, where: str = "") -> str:
    value = need(body, name, where)
    check_ocid(value, f"{where}{name}")
    return value


def check_ocid(value, name: str) -> None:
    if not isinstance(value, str) or not OCID.match(value):
        raise invalid(name, f"{value!r} is not an OCID")


def paginate(ctx: Context, items: list, default_sort_key: str = "timeCreated") -> Reply:
    """OCI paging: `limit` + opaque `page`, `opc-next-page` while more remain; sortOrder ASC|DESC."""
    order = (ctx.q("sortOrder") or "DESC").upper()
    if order not in ("ASC", "DESC"):
        raise invalid("sortOrder", "must be ASC or DESC")
    sort_by = ctx.q("sortBy")
    key = {"NAME": "name", "DISPLAYNAME": "displayName", "TIMECREATED": "timeCreated"}.get((sort_by or "").upper(), default_sort_key)
    items = sorted(items, key=lambda r: (str(r.get(key) or ""), r.get("id") or ""), reverse=order == "DESC")
    try:
        limit = int(ctx.q("limit") or ctx.store.settings().get("page_limit_default", 100))
    except ValueError as exc:
        raise invalid("limit", "must be an integer") from exc
    if not 1 <= limit <= 1000:
        raise invalid("limit", "must be between 1 and 1000")
    page = ctx.q("page")
    start = 0
    if page:
        if not page.startswith("sandbox-page-") or not page[13:].isdigit():
            raise invalid("page", f"{page!r} is not a page token this service issued")
        start = int(page[13:])
    chunk = items[start : start + limit]
    headers = {}
    if start + limit < len(items):
        headers["opc-next-page"] = f"sandbox-page-{start + limit}"
    return Reply(200, chunk, headers)
