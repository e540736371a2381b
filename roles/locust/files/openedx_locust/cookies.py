"""A cookie jar for one origin, in place of http.cookiejar.CookieJar in FastHttpUser.

Measured cost: CookieJar runs its full RFC 2965/Netscape policy (domain matching, path checks, per-cookie
``return_ok`` with several regex/urlparse steps) on every request and response, which was the largest single
item in a FastHttpUser worker's CPU profile of this locustfile. A virtual learner talks to exactly one LMS
origin, where every cookie is set for ``/``, so a dict keyed by cookie name carries the same state: cookies are
sent back only to the origin that set them, and Django's deletions (``Max-Age=0`` / 1970 expiry) remove them.
"""

from collections.abc import Iterator
from typing import NamedTuple


class Cookie(NamedTuple):
    name: str
    value: str


def _expired(attrs: str) -> bool:
    flat = attrs.lower().replace(" ", "")
    return "max-age=0" in flat or "max-age=-" in flat or "expires=thu,01jan197000:00:00" in flat


class OriginCookieJar:
    """Implements what geventhttpclient's UserAgent calls: add_cookie_header(request), extract_cookies(response, request)."""

    def __init__(self) -> None:
        self._cookies: dict[str, str] = {}
        self._origin: tuple | None = None
        self._header: str | None = None

    @staticmethod
    def _host(request) -> tuple:
        split = request.url_split  # geventhttpclient's CompatRequest; netloc is stored, host/port are re-parsed per call
        return split.scheme, split.netloc

    def add_cookie_header(self, request) -> None:
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
        for line in values if isinstance(values, list) else [values]:
            pair, _sep, attrs = line.partition(";")
            name, eq, value = pair.partition("=")
            name = name.strip()
            if not eq or not name:
                continue
            if _expired(attrs):
                self._cookies.pop(name, None)
            else:
                self._cookies[name] = value.strip()
            self._header = None

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._cookies.get(name, default)

    def clear(self) -> None:
        self._cookies.clear()
        self._header = None

    def __iter__(self) -> Iterator[Cookie]:
        return iter([Cookie(k, v) for k, v in self._cookies.items()])

    def __len__(self) -> int:
        return len(self._cookies)
