"""A cookie jar for one origin, in place of http.cookiejar.CookieJar in FastHttpUser.

Measured cost: CookieJar runs its full RFC 2965/Netscape policy (domain matching, path checks, per-cookie
``return_ok`` with several regex/urlparse steps) on every request and response, which was the largest single
item in a FastHttpUser worker's CPU profile of this locustfile. A virtual learner talks to exactly one LMS
origin, where every cookie is set for ``/``, so a dict keyed by cookie name carries the same state: cookies are
sent back only to the origin that set them, and Django's deletions (``Max-Age=0`` / 1970 expiry) remove them.
Like a browser it drops a cookie when its ``Max-Age``/``Expires`` passes: the LMS's JWT cookies last as long as the
JWT (an hour by default), and a browser then has none to send until frontend-platform refreshes them.
"""

import time
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from typing import NamedTuple


class Cookie(NamedTuple):
    name: str
    value: str


def _deadline(attrs: str, now: float) -> float | None:
    """When the cookie expires (epoch seconds), None for a session cookie; Max-Age wins over Expires (RFC 6265)."""
    expires = None
    for attr in attrs.split(";"):
        key, _sep, value = attr.strip().partition("=")
        key = key.lower()
        if key == "max-age":
            try:
                return now + int(value.strip())
            except ValueError:
                continue
        if key == "expires":
            try:
                expires = parsedate_to_datetime(value.strip()).timestamp()
            except (TypeError, ValueError, IndexError):
                continue
    return expires


class OriginCookieJar:
    """Implements what geventhttpclient's UserAgent calls: add_cookie_header(request), extract_cookies(response, request)."""

    def __init__(self) -> None:
        self._cookies: dict[str, str] = {}
        self._deadlines: dict[str, float] = {}
        self._next_expiry = float("inf")
        self._origin: tuple | None = None
        self._header: str | None = None

    @staticmethod
    def _host(request) -> tuple:
        split = request.url_split  # geventhttpclient's CompatRequest; netloc is stored, host/port are re-parsed per call
        return split.scheme, split.netloc

    def _expire(self) -> None:
        now = time.time()
        if now < self._next_expiry:
            return
        for name in [n for n, t in self._deadlines.items() if t <= now]:
            self._cookies.pop(name, None)
            del self._deadlines[name]
        self._next_expiry = min(self._deadlines.values(), default=float("inf"))
        self._header = None

    def add_cookie_header(self, request) -> None:
        self._expire()
        if not self._cookies or self._host(request) != self._origin:
            return
        if self._header is None:
            self._header = "; ".join(f"{name}={value}" for name, value in self._cookies.items())
        request.add_unredirected_header("Cookie", self._header)

    def extract_cookies(self, response, request) -> None:
        values = response.info().get_all("Set-Cookie")
        if not values:
            return
        host = self._host(request)
        if self._origin is None:
            self._origin = host
        elif host != self._origin:
            return  # another origin (a redirect target): its cookies are not ours to send to the LMS
        now = time.time()
        for line in values if isinstance(values, list) else [values]:
            pair, _sep, attrs = line.partition(";")
            name, eq, value = pair.partition("=")
            name = name.strip()
            if not eq or not name:
                continue
            deadline = _deadline(attrs, now)
            self._deadlines.pop(name, None)
            if deadline is not None and deadline <= now:
                self._cookies.pop(name, None)
            else:
                self._cookies[name] = value.strip()
                if deadline is not None:
                    self._deadlines[name] = deadline
                    self._next_expiry = min(self._next_expiry, deadline)
            self._header = None

    def get(self, name: str, default: str | None = None) -> str | None:
        self._expire()
        return self._cookies.get(name, default)

    def clear(self) -> None:
        self._cookies.clear()
        self._deadlines.clear()
        self._next_expiry = float("inf")
        self._header = None

    def __iter__(self) -> Iterator[Cookie]:
        return iter([Cookie(k, v) for k, v in self._cookies.items()])

    def __len__(self) -> int:
        return len(self._cookies)
