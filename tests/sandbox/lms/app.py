"""The LMS as the load test meets it, written from openedx-platform at ``release/verawood`` (routes.py names the file
each route comes from; this module keeps the rules those files apply):

- CSRF (Django's CsrfViewMiddleware; DRF's SessionAuthentication and edx-drf-extensions' JwtAuthentication enforce
  it on cookie-authenticated unsafe requests): the ``csrftoken`` cookie, an ``X-CSRFToken`` header equal to it (or
  Django's masked form), and over HTTPS an Origin/Referer that is the LMS or a trusted origin (Tutor trusts the MFE
  host). ``/login_refresh`` is ``csrf_exempt``.
- Login (user_authn/views/login.py): ``django.contrib.auth.login`` rotates the CSRF token; ``set_logged_in_cookies``
  (user_authn/cookies.py) sets ``edxloggedin`` and ``edx-user-info`` for the session's age and the JWT cookies
  ``edx-jwt-cookie-header-payload`` / ``edx-jwt-cookie-signature`` (HttpOnly) for ``JWT_IN_COOKIE_EXPIRATION``
  (60 * 60 in openedx/envs/common.py), the JWT's own ``exp`` the same.
- APIs authenticate with the JWT cookies when the request says ``USE-JWT-COOKIE: true`` (JwtAuthCookieMiddleware),
  an expired JWT is a 401, else with the session; no credentials: 401. Pages with ``login_required`` redirect to
  ``/login?next=``.
- Rate limits: login per IP and per email (django-ratelimit, ``block=False``: 400 "Too many failed login attempts")
  and ``/api/mfe_context`` per IP (429) are off unless given (the defaults 100/5m, 30/5m, 20/m would stop a load
  test from a few source IPs; the deployment raises them); enrollment 40/minute per user (429) is on.
- The outline's ``course_blocks`` is null for a learner who is not enrolled; ``/xblock/<usage_id>`` renders a unit
  whose HTML blocks are completed on view (``data-mark-completed-on-view-after-delay``).
- Programs exist only when cached from course discovery (``cache_programs``); otherwise the program pages are 404.
"""

import base64
import csv
import hashlib
import hmac
import json
import secrets
import string
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

from .routes import resolve

CSRF_CHARS = string.ascii_letters + string.digits
CSRF_SECRET_LENGTH = 32
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_COURSES = ("course-v1:OpenedX+DemoX+DemoCourse",)
PROGRAM_UUID = "a3951294-926b-4247-8c3c-51c1e4347a15"

# Cookie names and lifetimes (openedx/envs/common.py JWT_AUTH, EDXMKTG_*; Django's SESSION_COOKIE_AGE and
# CSRF_COOKIE_AGE defaults, which neither the LMS settings nor Tutor change).
JWT_HEADER_PAYLOAD_COOKIE = "edx-jwt-cookie-header-payload"
JWT_SIGNATURE_COOKIE = "edx-jwt-cookie-signature"
LOGGED_IN_COOKIE = "edxloggedin"
USER_INFO_COOKIE = "edx-user-info"
JWT_IN_COOKIE_EXPIRATION = 60 * 60
SESSION_COOKIE_AGE = 60 * 60 * 24 * 7 * 2
CSRF_COOKIE_AGE = 60 * 60 * 24 * 7 * 52
# EnrollmentUserThrottle.THROTTLE_RATES['user'] (openedx/core/djangoapps/enrollments/views.py).
ENROLLMENT_RATE = "40/m"
# Tutor's uWSGI serves /static/ with this expiry (tutor templates/apps/openedx/uwsgi.ini static-expires).
STATIC_MAX_AGE = 7776000

JSON = "application/json"
HTML = "text/html; charset=utf-8"


class BadConfig(ValueError):
    """Invalid stand-in configuration (users CSV, courses, rates, state file)."""


@dataclass
class Request:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client_ip: str
    secure: bool

    @property
    def cookies(self) -> dict[str, str]:
        jar: dict[str, str] = {}
        for part in self.headers.get("cookie", "").split(";"):
            name, sep, value = part.strip().partition("=")
            if sep:
                jar[name] = value
        return jar

    @property
    def params(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.query).items()}

    @property
    def origin(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.headers.get('host', '')}"


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)

    def set_cookie(self, name: str, value: str, *, secure: bool, http_only: bool = False, max_age: int | None = None) -> None:
        morsel = SimpleCookie()
        morsel[name] = value  # Django's set_cookie quotes values the same way (http.cookies)
        attrs = f"{name}={morsel[name].coded_value}; Path=/; SameSite=Lax"
        if max_age is not None:
            expires = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + max_age))
            attrs += f"; Max-Age={max_age}; expires={expires}"
        if secure:
            attrs += "; Secure"
        if http_only:
            attrs += "; HttpOnly"
        self.headers.append(("Set-Cookie", attrs))


def json_response(status: int, payload) -> Response:
    return Response(status, json.dumps(payload, separators=(",", ":")).encode())


def html_response(status: int, title: str, body: str = "") -> Response:
    page = f"<!DOCTYPE html><html><head><title>{escape(title)} | Open edX</title></head><body><main>{body}</main></body></html>"
    return Response(status, page.encode(), HTML)


def redirect(location: str, status: int = 302) -> Response:
    resp = Response(status, b"", HTML)
    resp.headers.append(("Location", location))
    return resp


def not_found() -> Response:
    return html_response(404, "Page not found", "<h1>Page not found</h1>")


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """'100/5m' -> (100, 300), like django-ratelimit's (and DRF's '40/minute') rate strings."""
    if not rate or rate == "off":
        return None
    try:
        count, period = rate.split("/")
        unit = period[-1] if period[-1] in RATE_UNITS else period[0]
        mult = period[:-1] if period[-1] in RATE_UNITS and period[:-1].isdigit() else "1"
        return int(count), int(mult) * RATE_UNITS[unit]
    except (ValueError, KeyError, IndexError):
        raise BadConfig(f"rate {rate!r} is not like '100/5m' (count/[N]s|m|h|d, or off)") from None


class FixedWindowLimiter:
    """Counts hits per key in fixed windows offset per key, the way django-ratelimit does."""

    def __init__(self, rate: tuple[int, int]):
        self.limit, self.period = rate
        self.counts: dict[tuple[str, int], int] = {}

    def hit(self, key: str, now: float | None = None) -> bool:
        """Record one hit; True when the key is over its limit."""
        ts = int(now if now is not None else time.time())
        offset = zlib.crc32(key.encode()) % self.period
        window = ts - ((ts - offset) % self.period)
        slot = (key, window)
        self.counts[slot] = self.counts.get(slot, 0) + 1
        if len(self.counts) > 200_000:  # forget old windows
            self.counts = {k: v for k, v in self.counts.items() if k[1] >= window - self.period}
        return self.counts[slot] > self.limit

    def retry_after(self, key: str, now: float | None = None) -> int:
        ts = int(now if now is not None else time.time())
        offset = zlib.crc32(key.encode()) % self.period
        return self.period - ((ts - offset) % self.period)


def limiter(rate: str | None) -> FixedWindowLimiter | None:
    parsed = parse_rate(rate)
    return FixedWindowLimiter(parsed) if parsed else None


def load_users(path: Path) -> dict[str, dict]:
    """Read username,email,password rows (header row optional)."""
    users: dict[str, dict] = {}
    with open(path, newline="", encoding="utf-8") as fh:
        for lineno, row in enumerate(csv.reader(fh), start=1):
            if not row or (lineno == 1 and [c.strip().lower() for c in row] == ["username", "email", "password"]):
                continue
            if len(row) != 3 or not all(c.strip() for c in row):
                raise BadConfig(f"{path}:{lineno}: expected username,email,password, got {row!r}")
            username, email, password = (c.strip() for c in row)
            users[username] = {"username": username, "email": email, "password": password, "id": len(users) + 1}
    if not users:
        raise BadConfig(f"{path}: no users")
    return users


def write_users_csv(path: Path, count: int, prefix: str = "loaduser", password: str = "Load-Test-Pass-1") -> Path:
    """Generate ``count`` accounts (the shape edx-platform's create_test_users would be fed)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        out = csv.writer(fh)
        out.writerow(["username", "email", "password"])
        for i in range(count):
            out.writerow([f"{prefix}{i:06d}", f"{prefix}{i:06d}@example.com", password])
    return path


def course_parts(course_id: str) -> tuple[str, str, str]:
    if not course_id.startswith("course-v1:") or course_id.count("+") != 2:
        raise BadConfig(f"course id {course_id!r} is not like course-v1:ORG+COURSE+RUN")
    org, number, run = course_id.removeprefix("course-v1:").split("+")
    return org, number, run


def program_for(courses) -> dict:
    """A program as course discovery returns it and cache_programs keeps it (the fields the LMS pages read)."""
    return {
        "uuid": PROGRAM_UUID,
        "title": "Open edX Fundamentals",
        "type": "MicroMasters",
        "courses": [{"key": "+".join(course_parts(c)[:2]), "course_runs": [{"key": c}]} for c in courses],
    }


class Course:
    """A course tree: 3 sections x 2 subsections x 2 units x 2 HTML blocks, ids in the block-v1 format."""

    def __init__(self, course_id: str):
        self.id = course_id
        org, number, run = course_parts(course_id)
        self.name = f"{number} ({org} {run})"
        self.org = org
        self.number = number
        base = f"block-v1:{org}+{number}+{run}+type@"
        self.root = base + "course+block@course"
        self.blocks: dict[str, dict] = {}
        self.parent: dict[str, str] = {}
        self._leaves: dict[str, tuple[str, ...]] = {}
        chapters = []
        for c in range(3):
            chapter = f"{base}chapter+block@chapter_{c}"
            sequences = []
            for s in range(2):
                seq = f"{base}sequential+block@sequence_{c}_{s}"
                units = []
                for u in range(2):
                    unit = f"{base}vertical+block@unit_{c}_{s}_{u}"
                    leaves = [f"{base}html+block@html_{c}_{s}_{u}_{k}" for k in range(2)]
                    for k, leaf in enumerate(leaves):
                        self.blocks[leaf] = {"id": leaf, "type": "html", "display_name": f"Text {k + 1}", "children": []}
                        self.parent[leaf] = unit
                    self.blocks[unit] = {"id": unit, "type": "vertical", "display_name": f"Unit {c + 1}.{s + 1}.{u + 1}", "children": leaves}
                    self.parent[unit] = seq
                    units.append(unit)
                self.blocks[seq] = {"id": seq, "type": "sequential", "display_name": f"Lesson {c + 1}.{s + 1}", "children": units}
                self.parent[seq] = chapter
                sequences.append(seq)
            self.blocks[chapter] = {"id": chapter, "type": "chapter", "display_name": f"Section {c + 1}", "children": sequences}
            self.parent[chapter] = self.root
            chapters.append(chapter)
        self.blocks[self.root] = {"id": self.root, "type": "course", "display_name": self.name, "children": chapters}
        self.chapters = chapters
        self.first_sequence = self.blocks[chapters[0]]["children"][0]

    def leaves(self, block_id: str) -> tuple[str, ...]:
        found = self._leaves.get(block_id)
        if found is None:
            children = self.blocks[block_id]["children"]
            found = self._leaves[block_id] = tuple(leaf for child in children for leaf in self.leaves(child)) if children else (block_id,)
        return found

    def ancestor(self, block_id: str, block_type: str) -> str | None:
        while block_id in self.parent:
            block_id = self.parent[block_id]
            if self.blocks[block_id]["type"] == block_type:
                return block_id
        return None


# The collected static files a unit page links (lms/templates/courseware/courseware-chromeless.html pulls the LMS
# CSS and JS bundles); sizes of the order Tutor's collected, minified files have.
STATIC_FILES = {
    "css/lms-main-v1.css": ("text/css", 180_000),
    "css/lms-course.css": ("text/css", 60_000),
    "common/js/vendor/jquery.js": ("application/javascript", 90_000),
    "js/i18n/en/djangojs.js": ("application/javascript", 8_000),
    "bundles/commons.js": ("application/javascript", 240_000),
    "bundles/VerticalStudentView.js": ("application/javascript", 40_000),
    "completion/js/CompletionOnViewService.js": ("application/javascript", 3_000),
}
UNIT_STATIC = tuple(STATIC_FILES)


class Lms:
    """State and handlers. One instance per server process; handlers are plain synchronous functions."""

    def __init__(
        self,
        users: dict[str, dict],
        courses: list[str],
        *,
        mfe_base: str | None = None,
        ip_rate: str | None = None,
        email_rate: str | None = None,
        mfe_context_rate: str | None = None,
        enrollment_rate: str | None = ENROLLMENT_RATE,
        trusted_origins: tuple[str, ...] = (),
        catalog_mfe: bool = True,
        enroll: tuple[str, ...] = (),
        program_courses: tuple[str, ...] = (),
        state: Path | None = None,
    ):
        if not courses:
            raise BadConfig("at least one course id is needed (--courses)")
        self.users = users
        self.by_email = {u["email"].lower(): u for u in users.values()}
        self.courses = {cid: Course(cid) for cid in courses}
        self.blocks = {bid: course for course in self.courses.values() for bid in course.blocks}
        for cid in (*enroll, *program_courses):
            if cid not in self.courses:
                raise BadConfig(f"course {cid!r} is not one of --courses")
        self.mfe_base = mfe_base.rstrip("/") if mfe_base else None
        self.trusted_origins = set(trusted_origins)
        self.catalog_mfe = catalog_mfe
        self.ip_limiter = limiter(ip_rate)
        self.email_limiter = limiter(email_rate)
        self.mfe_context_limiter = limiter(mfe_context_rate)
        self.enrollment_limiter = limiter(enrollment_rate)
        self.jwt_key = secrets.token_bytes(32)
        self.sessions: dict[str, str] = {}
        self.enrollments: dict[str, dict[str, dict]] = defaultdict(dict)
        self.completions: dict[str, dict[str, float]] = defaultdict(dict)  # username -> block -> completed at
        self.prefs: dict[str, dict] = defaultdict(lambda: {"pref-lang": "en", "account_privacy": "private"})
        self.programs: list[dict] = [program_for(program_courses)] if program_courses else []
        for username in users:
            for cid in enroll:
                self.enrollments[username][cid] = self._new_enrollment("audit")
        self.state = Path(state) if state else None
        self._state_mtime = 0.0
        self.started = time.time()
        self.hits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.logins: dict[str, int] = defaultdict(int)
        self.connections = {"current": 0, "peak": 0, "total": 0}
        self.events = 0
        self._block_cache: dict[tuple[str, str], dict] = {}
        self.static_bodies = {name: (ctype, (f"/* {name} */\n".encode() + b"x" * size)) for name, (ctype, size) in STATIC_FILES.items()}
        self._read_state()

    # ---------------------------------------------------------------- seeded state (manage.py's file)
    def _read_state(self) -> None:
        """Enrollments made by create_test_users --course and programs cached by cache_programs, from the file the
        LMS container's manage.py stand-in writes (tests/sandbox/lms/edx_platform); re-read when it changes."""
        if self.state is None:
            return
        try:
            mtime = self.state.stat().st_mtime
        except FileNotFoundError:
            return
        if mtime == self._state_mtime:
            return
        try:
            data = json.loads(self.state.read_text())
        except ValueError as exc:
            raise BadConfig(f"{self.state}: not JSON ({exc})") from None
        self._state_mtime = mtime
        for username, account in data.get("accounts", {}).items():
            for cid, enr in account.get("enrollments", {}).items():
                if cid in self.courses and cid not in self.enrollments[username]:
                    self.enrollments[username][cid] = self._new_enrollment(enr.get("mode", "audit"), enr.get("is_active", True))
        if data.get("programs"):
            self.programs = list(data["programs"])

    # ---------------------------------------------------------------- plumbing
    def handle(self, req: Request) -> Response:
        if req.path == "/_standin/stats":  # the stand-in's own counters, for tests; not an LMS route
            return json_response(200, self.stats())
        route, params, known = resolve(req.method, unquote(req.path))
        if route is None:
            name = "<unknown>"
            resp = json_response(405, {"detail": f'Method "{req.method}" not allowed.'}) if known else not_found()
        else:
            name = route.name
            if self.state is not None:
                self._read_state()
            resp = getattr(self, route.handler)(req, **params)
        self.hits[f"{req.method} {name}" if route is None else name][str(resp.status)] += 1
        return resp

    def stats(self) -> dict:
        return {
            "uptime_seconds": round(time.time() - self.started, 3),
            "routes": {route: dict(codes) for route, codes in sorted(self.hits.items())},
            "logins": dict(self.logins),
            "sessions": len(self.sessions),
            "enrollments": sum(len(v) for v in self.enrollments.values()),
            "completions": sum(len(v) for v in self.completions.values()),
            "events": self.events,
            "connections": dict(self.connections),
        }

    def mfe(self, req: Request) -> str:
        """Tutor's MFE origin: MFE_HOST defaults to apps.<LMS_HOST> (tutor-mfe)."""
        return self.mfe_base or f"{'https' if req.secure else 'http'}://apps.{req.headers.get('host', '')}"

    # ---------------------------------------------------------------- CSRF
    def _new_csrf(self, resp: Response, req: Request) -> str:
        token = "".join(secrets.choice(CSRF_CHARS) for _pos in range(CSRF_SECRET_LENGTH))
        resp.set_cookie("csrftoken", token, secure=req.secure, max_age=CSRF_COOKIE_AGE)
        return token

    def _ensure_csrf_cookie(self, resp: Response, req: Request) -> str:
        return req.cookies.get("csrftoken") or self._new_csrf(resp, req)

    @staticmethod
    def _unmask(token: str) -> str:
        """Django's masked tokens are 64 chars: mask + (secret + mask) mod alphabet."""
        mask, cipher = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        idx = CSRF_CHARS.index
        return "".join(CSRF_CHARS[(idx(c) - idx(m)) % len(CSRF_CHARS)] for c, m in zip(cipher, mask, strict=True))

    def csrf_failure(self, req: Request) -> str | None:
        """The reason CsrfViewMiddleware would reject this unsafe request, or None."""
        if req.secure:  # Origin, else Referer, checks apply to HTTPS only
            good = {req.origin, *self.trusted_origins, self.mfe(req)}
            origin = req.headers.get("origin")
            if origin is not None:
                if origin not in good:
                    return f"Origin checking failed - {origin} does not match any trusted origins."
            else:
                referer = req.headers.get("referer")
                if not referer:
                    return "Referer checking failed - no Referer."
                ref = urlsplit(referer)
                if f"{ref.scheme}://{ref.netloc}" not in good:
                    return f"Referer checking failed - {referer} does not match any trusted origins."
        cookie = req.cookies.get("csrftoken")
        if not cookie:
            return "CSRF cookie not set."
        header = req.headers.get("x-csrftoken", "")
        if len(header) == 2 * CSRF_SECRET_LENGTH and all(c in CSRF_CHARS for c in header):
            header = self._unmask(header)
        if not header:
            return "CSRF token missing."
        if not secrets.compare_digest(header, cookie):
            return "CSRF token incorrect."
        return None

    @staticmethod
    def csrf_forbidden_page(reason: str) -> Response:
        return html_response(403, "Forbidden", f"<h1>Forbidden (403)</h1><p>CSRF verification failed. Request aborted. {escape(reason)}</p>")

    # ---------------------------------------------------------------- sessions and JWTs
    def session_user(self, req: Request) -> dict | None:
        sid = req.cookies.get("sessionid")
        username = self.sessions.get(sid) if sid else None
        return self.users.get(username) if username else None

    @staticmethod
    def _b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    def make_jwt(self, user: dict, now: float | None = None) -> tuple[str, str]:
        now = int(now if now is not None else time.time())
        header = self._b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = self._b64(
            json.dumps(
                {
                    "iss": "http://lms/oauth2",
                    "aud": "openedx",
                    "exp": now + JWT_IN_COOKIE_EXPIRATION,
                    "iat": now,
                    "preferred_username": user["username"],
                    "email": user["email"],
                    "user_id": user["id"],
                    "version": "1.2.0",
                    "scopes": ["user_id", "email", "profile"],
                }
            ).encode()
        )
        signature = self._b64(hmac.new(self.jwt_key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        return f"{header}.{payload}", signature

    def jwt_user(self, req: Request) -> tuple[dict | None, str | None]:
        """(user, error) from the JWT cookies, as JwtAuthCookieMiddleware + JwtAuthentication read them."""
        header_payload = req.cookies.get(JWT_HEADER_PAYLOAD_COOKIE, "").strip('"')
        signature = req.cookies.get(JWT_SIGNATURE_COOKIE, "").strip('"')
        if not header_payload or not signature:
            return None, None
        expected = self._b64(hmac.new(self.jwt_key, header_payload.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return None, "Error decoding token."
        payload_b64 = header_payload.split(".")[1]
        payload = json.loads(base64.urlsafe_b64decode(payload_b64 + "=" * (-len(payload_b64) % 4)))
        if payload["exp"] < time.time() - 1:  # JWT_LEEWAY = 1
            return None, "Signature has expired."
        return self.users.get(payload["preferred_username"]), None

    def set_jwt_cookies(self, resp: Response, req: Request, user: dict) -> None:
        header_payload, signature = self.make_jwt(user)
        resp.set_cookie(JWT_HEADER_PAYLOAD_COOKIE, header_payload, secure=req.secure, max_age=JWT_IN_COOKIE_EXPIRATION)
        resp.set_cookie(JWT_SIGNATURE_COOKIE, signature, secure=req.secure, http_only=True, max_age=JWT_IN_COOKIE_EXPIRATION)

    def api_user(self, req: Request, *, unsafe: bool = False) -> tuple[dict | None, Response | None]:
        """DRF with (JwtAuthentication, ..., SessionAuthentication): JWT first when asked for, then the session."""
        user = None
        if req.headers.get("use-jwt-cookie", "").lower() == "true":
            user, error = self.jwt_user(req)
            if error:
                return None, json_response(401, {"detail": error})
        if user is None:
            user = self.session_user(req)
        if user is None:
            return None, json_response(401, {"detail": "Authentication credentials were not provided."})
        if unsafe:
            reason = self.csrf_failure(req)
            if reason:
                return None, json_response(403, {"detail": f"CSRF Failed: {reason}"})
        return user, None

    def _login_required(self, req: Request) -> tuple[dict | None, Response | None]:
        user = self.session_user(req)
        if user is None:
            return None, redirect(f"/login?next={quote(req.path)}")
        return user, None

    # ---------------------------------------------------------------- frontend-platform
    def mfe_config(self, req: Request) -> Response:
        mfe = self.mfe(req)
        lms = req.origin
        config = {
            "BASE_URL": f"{mfe}/{req.params.get('mfe', '')}",
            "LMS_BASE_URL": lms,
            "LOGIN_URL": f"{lms}/login",
            "LOGOUT_URL": f"{lms}/logout",
            "REFRESH_ACCESS_TOKEN_ENDPOINT": f"{lms}/login_refresh",
            "ACCESS_TOKEN_COOKIE_NAME": JWT_HEADER_PAYLOAD_COOKIE,
            "CSRF_TOKEN_API_PATH": "/csrf/api/v1/token",
            "USER_INFO_COOKIE_NAME": USER_INFO_COOKIE,
            "ENABLE_COURSE_SORTING_BY_START_DATE": True,
            "HOMEPAGE_COURSE_MAX": None,
            "NON_BROWSABLE_COURSES": False,
            "ENABLE_COURSE_DISCOVERY": bool(self.programs),
        }
        resp = json_response(200, config)
        resp.headers.append(("Cache-Control", "max-age=1"))  # cache_page(MFE_CONFIG_API_CACHE_TIMEOUT)
        return resp

    def csrf_token(self, req: Request) -> Response:
        resp = Response(200)
        token = self._ensure_csrf_cookie(resp, req)
        resp.body = json.dumps({"csrfToken": token}).encode()
        return resp

    def login_refresh(self, req: Request) -> Response:
        user = self.session_user(req)
        if user is None:
            return json_response(401, "Unauthorized")
        now = time.time()
        resp = json_response(
            200,
            {
                "success": True,
                "user_id": user["id"],
                "response_epoch_seconds": now,
                "response_http_date": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now)),
                "expires": time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + JWT_IN_COOKIE_EXPIRATION)),
                "expires_epoch_seconds": int(now + JWT_IN_COOKIE_EXPIRATION),
            },
        )
        self.set_jwt_cookies(resp, req, user)
        return resp

    def event(self, req: Request) -> Response:
        reason = self.csrf_failure(req)
        if reason:
            return self.csrf_forbidden_page(reason)
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        if "event_type" not in form:
            return Response(400, b"event_type missing", "text/plain")
        self.events += 1
        return Response(200, b"success", "text/html; charset=utf-8")

    # ---------------------------------------------------------------- authn
    def mfe_context(self, req: Request) -> Response:
        if self.session_user(req) is None and self.mfe_context_limiter and self.mfe_context_limiter.hit(req.client_ip):
            wait = self.mfe_context_limiter.retry_after(req.client_ip)
            resp = json_response(429, {"detail": f"Request was throttled. Expected available in {wait} seconds."})
            resp.headers.append(("Retry-After", str(wait)))
            return resp
        return json_response(
            200,
            {
                "contextData": {
                    "currentProvider": None,
                    "platformName": "Open edX",
                    "providers": [],
                    "secondaryProviders": [],
                    "finishAuthUrl": None,
                    "errorMessage": None,
                    "registerFormSubmitButtonText": "Create Account",
                    "autoSubmitRegForm": False,
                    "syncLearnerProfileData": False,
                    "countryCode": None,
                    "pipelineUserDetails": {},
                },
                "registrationFields": {"fields": {}},
                "optionalFields": {"fields": {}, "extended_profile": []},
            },
        )

    def login_form(self, req: Request) -> Response:
        field_name = "email_or_username" if "/v2/" in req.path else "email"
        resp = json_response(
            200,
            {
                "method": "post",
                "submit_url": req.path,
                "fields": [
                    {"name": field_name, "type": "text", "required": True},
                    {"name": "password", "type": "password", "required": True},
                ],
            },
        )
        self._ensure_csrf_cookie(resp, req)
        return resp

    def login_page(self, req: Request) -> Response:
        resp = redirect(f"{self.mfe(req)}/authn/login" + (f"?{req.query}" if req.query else ""))
        self._ensure_csrf_cookie(resp, req)
        return resp

    def login(self, req: Request) -> Response:
        email_field = "email" if "/v1/" in req.path else "email_or_username"
        reason = self.csrf_failure(req)
        if reason:
            self.logins["csrf_rejected"] += 1
            return self.csrf_forbidden_page(reason)
        if "form-urlencoded" not in req.headers.get("content-type", ""):
            self.logins["bad_request"] += 1
            return json_response(400, {"success": False, "value": "Expected a form-encoded login request."})
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        ident = form.get(email_field, "").strip()
        limited = False
        if self.ip_limiter is not None and self.ip_limiter.hit(req.client_ip):
            limited = True
        if self.email_limiter is not None and ident and self.email_limiter.hit(ident.lower()):
            limited = True
        if limited:
            self.logins["rate_limited"] += 1
            return json_response(
                400, {"success": False, "value": "Too many failed login attempts. Try again later.", "error_code": "rate-limited", "email": ident}
            )
        if not ident or "password" not in form:
            self.logins["bad_request"] += 1
            return json_response(400, {"success": False, "value": f"There was an error receiving your login information. ({email_field}, password)"})
        user = self.by_email.get(ident.lower()) or self.users.get(ident)
        if user is None or not secrets.compare_digest(user["password"], form["password"]):
            self.logins["bad_credentials"] += 1
            return json_response(
                400, {"success": False, "value": "Email or password is incorrect.", "error_code": "incorrect-email-or-password", "email": ident}
            )
        self.logins["ok"] += 1
        old = req.cookies.get("sessionid")
        if old:
            self.sessions.pop(old, None)
        sid = secrets.token_hex(16)
        self.sessions[sid] = user["username"]
        nxt = req.params.get("next", "/dashboard")
        resp = json_response(200, {"success": True, "redirect_url": f"{req.origin}{nxt if nxt.startswith('/') else '/dashboard'}"})
        self._new_csrf(resp, req)  # django.contrib.auth.login -> rotate_token()
        resp.set_cookie("sessionid", sid, secure=req.secure, http_only=True, max_age=SESSION_COOKIE_AGE)
        resp.set_cookie(LOGGED_IN_COOKIE, "true", secure=req.secure, max_age=SESSION_COOKIE_AGE)
        user_info = {
            "version": 1,
            "username": user["username"],
            "email": user["email"],
            "header_urls": {
                "logout": f"{req.origin}/logout",
                "account_settings": f"{self.mfe(req)}/account/",
                "learner_profile": f"{self.mfe(req)}/profile/u/{user['username']}",
            },
            "user_image_urls": {},
        }
        resp.set_cookie(USER_INFO_COOKIE, json.dumps(user_info), secure=req.secure, max_age=SESSION_COOKIE_AGE)
        self.set_jwt_cookies(resp, req, user)
        return resp

    # ---------------------------------------------------------------- pages that lead to MFEs
    def dashboard(self, req: Request) -> Response:
        _user, denied = self._login_required(req)
        return denied or redirect(f"{self.mfe(req)}/learner-dashboard/")

    def account_settings(self, req: Request) -> Response:
        return redirect(f"{self.mfe(req)}/account/")

    def courses_page(self, req: Request) -> Response:
        if self.catalog_mfe:
            return redirect(f"{self.mfe(req)}/catalog/", status=301)
        items = "".join(f'<li><a href="/courses/{quote(c.id)}/about">{escape(c.name)}</a></li>' for c in self.courses.values())
        return html_response(200, "Courses", f'<ul class="courses">{items}</ul>')

    def about_page(self, req: Request, course_id: str) -> Response:
        course = self.courses.get(course_id)
        if course is None:
            return not_found()
        return html_response(200, f"About {course.name}", f'<h1 class="course-title">{escape(course.name)}</h1>')

    def courseware_page(self, req: Request, course_id: str) -> Response:
        _user, denied = self._login_required(req)
        if denied:
            return denied
        if course_id not in self.courses:
            return not_found()
        return redirect(f"{self.mfe(req)}/learning/course/{course_id}/home")

    # ---------------------------------------------------------------- learner dashboard
    def _is_enrolled(self, user: dict, course_id: str) -> bool:
        enr = self.enrollments[user["username"]].get(course_id)
        return bool(enr and enr["is_active"])

    def _resume_unit(self, user: dict, course: Course) -> str | None:
        done = self.completions[user["username"]]
        mine = [(at, b) for b, at in done.items() if b in course.blocks]
        return course.ancestor(max(mine)[1], "vertical") if mine else None

    def learner_home(self, req: Request) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        courses = []
        for course_id, enr in self.enrollments[user["username"]].items():
            course = self.courses[course_id]
            resume = self._resume_unit(user, course)
            courses.append(
                {
                    "courseProvider": {"name": course.org},
                    "course": {"courseName": course.name, "courseNumber": course.number, "bannerImgSrc": None, "socialShareUrl": None},
                    "courseRun": {
                        "courseId": course_id,
                        "isStarted": True,
                        "isArchived": False,
                        "homeUrl": f"{self.mfe(req)}/learning/course/{course_id}/home",
                        "resumeUrl": f"{req.origin}/courses/{course_id}/jump_to/{resume}" if resume else None,
                        "startDate": "2026-01-01T00:00:00Z",
                        "endDate": None,
                    },
                    "enrollment": {"mode": enr["mode"], "isEnrolled": enr["is_active"], "isAudit": enr["mode"] == "audit", "hasStarted": resume is not None},
                    "certificate": None,
                    "entitlement": {},
                    "gradeData": {"isPassing": False},
                    "programs": {"relatedPrograms": [{"uuid": p["uuid"], "title": p["title"]} for p in self._programs_with(course_id)]},
                    "creditData": None,
                }
            )
        return json_response(
            200,
            {
                "emailConfirmation": {"isNeeded": False, "sendEmailUrl": f"{req.origin}/api/send_account_activation_email"},
                "enterpriseDashboard": None,
                "platformSettings": {
                    "supportEmail": "support@example.com",
                    "billingEmail": "billing@example.com",
                    "courseSearchUrl": f"{req.origin}/courses",
                },
                "courses": courses,
                "socialShareSettings": {"facebook": {"isEnabled": False}, "twitter": {"isEnabled": False}},
                "suggestedCourses": [],
            },
        )

    # ---------------------------------------------------------------- accounts, profile
    def account(self, req: Request, username: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        target = self.users.get(username)
        if target is None:
            return json_response(404, {"detail": "Not found."})
        privacy = self.prefs[username].get("account_privacy", "private")
        image = {"has_image": False, "image_url_full": f"{req.origin}/static/images/profiles/default_500.png"}
        if username != user["username"]:  # another learner: the limited profile
            return json_response(200, {"username": username, "account_privacy": privacy, "profile_image": image, "date_joined": "2026-01-01T00:00:00Z"})
        return json_response(
            200,
            {
                "id": user["id"],
                "username": username,
                "email": user["email"],
                "name": username,
                "is_active": True,
                "date_joined": "2026-01-01T00:00:00Z",
                "country": None,
                "bio": None,
                "gender": None,
                "year_of_birth": None,
                "level_of_education": None,
                "language_proficiencies": [],
                "social_links": [],
                "extended_profile": [],
                "account_privacy": privacy,
                "profile_image": image,
                "requires_parental_consent": False,
                "time_zone": None,
                "pending_name_change": None,
            },
        )

    def preferences(self, req: Request, username: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        if username != user["username"]:
            return json_response(403, {"developer_message": "You do not have permission to access this resource."})
        return json_response(200, self.prefs[username])

    def preferences_patch(self, req: Request, username: str) -> Response:
        user, denied = self.api_user(req, unsafe=True)
        if denied:
            return denied
        if username != user["username"]:
            return json_response(403, {"developer_message": "You do not have permission to access this resource."})
        if req.headers.get("content-type", "").split(";")[0].strip() != "application/merge-patch+json":
            return json_response(415, {"detail": f'Unsupported media type "{req.headers.get("content-type", "")}" in request.'})
        try:
            update = json.loads(req.body or b"null")
        except ValueError:
            update = None
        if not isinstance(update, dict):
            return json_response(400, {"developer_message": "No data provided for user preference update"})
        self.prefs[username].update({k: str(v) for k, v in update.items()})
        return Response(204, b"")

    def certificates(self, req: Request, username: str) -> Response:
        _user, denied = self.api_user(req)
        if denied:
            return denied
        return json_response(200, []) if username in self.users else json_response(404, {"detail": "Not found."})

    def registration_form(self, req: Request) -> Response:
        countries = [{"value": "", "name": "--", "default": True}, {"value": "SA", "name": "Saudi Arabia"}, {"value": "US", "name": "United States of America"}]
        return json_response(
            200,
            {
                "method": "post",
                "submit_url": "/api/user/v1/account/registration/",
                "fields": [
                    {"name": "email", "type": "email", "required": True, "label": "Email"},
                    {"name": "name", "type": "text", "required": True, "label": "Full Name"},
                    {"name": "username", "type": "text", "required": True, "label": "Public Username"},
                    {"name": "password", "type": "password", "required": True, "label": "Password"},
                    {"name": "country", "type": "select", "required": True, "label": "Country or Region of Residence", "options": countries},
                ],
            },
        )

    def time_zones(self, req: Request) -> Response:
        zones = {"SA": ["Asia/Riyadh"], "US": ["America/New_York", "America/Chicago", "America/Los_Angeles"]}
        country = req.params.get("country_code")
        names = zones.get(country.upper(), []) if country else ["UTC", "Asia/Riyadh", "America/New_York", "Europe/Paris"]
        return json_response(200, [{"time_zone": z, "description": z} for z in names])

    def notification_configurations(self, req: Request) -> Response:
        _user, denied = self.api_user(req)
        return denied or json_response(
            200, {"status": "success", "show_preferences": True, "message": "Notification preferences retrieved successfully.", "data": {}}
        )

    def third_party_auth_status(self, req: Request) -> Response:
        _user, denied = self.api_user(req)
        return denied or json_response(200, [])

    def verified_name_history(self, req: Request) -> Response:
        _user, denied = self.api_user(req)
        return denied or json_response(200, {"results": []})

    # ---------------------------------------------------------------- course home
    def _course_or_404(self, course_id: str) -> tuple[Course | None, Response | None]:
        course = self.courses.get(course_id)
        return (course, None) if course else (None, json_response(404, {"detail": "Not found."}))

    def course_home_metadata(self, req: Request, course_id: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        course, missing = self._course_or_404(course_id)
        if missing:
            return missing
        enrolled = self._is_enrolled(user, course_id)
        enr = self.enrollments[user["username"]].get(course_id)
        return json_response(
            200,
            {
                "course_id": course_id,
                "username": user["username"],
                "title": course.name,
                "number": course.number,
                "org": course.org,
                "start": "2026-01-01T00:00:00Z",
                "is_enrolled": enrolled,
                "is_self_paced": True,
                "is_staff": False,
                "original_user_is_staff": False,
                "is_masquerading": False,
                "can_load_courseware": enrolled,
                "celebrations": {"first_section": False, "streak_length_to_celebrate": None},
                "course_access": {"has_access": True, "error_code": None, "developer_message": None, "user_message": None},
                "course_modes": [{"slug": "audit", "name": "Audit", "min_price": 0, "currency": "usd"}],
                "enrollment": {"mode": enr["mode"] if enr else None, "is_active": enrolled},
                "tabs": [
                    {"tab_id": "courseware", "title": "Course", "url": f"{self.mfe(req)}/learning/course/{course_id}/home"},
                    {"tab_id": "progress", "title": "Progress", "url": f"{self.mfe(req)}/learning/course/{course_id}/progress"},
                    {"tab_id": "dates", "title": "Dates", "url": f"{self.mfe(req)}/learning/course/{course_id}/dates"},
                ],
                "user_timezone": None,
                "verified_mode": None,
            },
        )

    def _complete(self, user: dict, block_id: str, course: Course) -> bool:
        done = self.completions[user["username"]]
        return bool(done) and all(leaf in done for leaf in course.leaves(block_id))

    def _outline_block(self, req: Request, user: dict, course: Course, bid: str) -> dict:
        key = (req.origin, bid)
        static = self._block_cache.get(key)
        if static is None:
            block = course.blocks[bid]
            static = self._block_cache[key] = {
                "id": bid,
                "type": block["type"],
                "display_name": block["display_name"],
                "children": block["children"] if block["type"] != "sequential" else [],
                "resume_block": False,
                "lms_web_url": f"{req.origin}/courses/{course.id}/jump_to/{bid}",
                "legacy_web_url": f"{req.origin}/courses/{course.id}/jump_to/{bid}?experience=legacy",
                "has_scheduled_content": False,
            }
        return {**static, "complete": self._complete(user, bid, course)}

    def outline(self, req: Request, course_id: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        course, missing = self._course_or_404(course_id)
        if missing:
            return missing
        enr = self.enrollments[user["username"]].get(course_id)
        enrolled = self._is_enrolled(user, course_id)
        course_blocks = None
        resume = {"has_visited_course": False, "url": None}
        if enrolled:
            course_blocks = {
                "blocks": {
                    bid: self._outline_block(req, user, course, bid) for bid, b in course.blocks.items() if b["type"] in ("course", "chapter", "sequential")
                }
            }
            unit = self._resume_unit(user, course)
            resume = {"has_visited_course": unit is not None, "url": f"{req.origin}/courses/{course_id}/jump_to/{unit or course.first_sequence}"}
        return json_response(
            200,
            {
                "access_expiration": None,
                "cert_data": None,
                "course_blocks": course_blocks,
                "course_goals": {"selected_goal": None, "weekly_learning_goal_enabled": False},
                "course_tools": [],
                "dates_widget": {"course_date_blocks": [], "dates_tab_link": f"{self.mfe(req)}/learning/course/{course_id}/dates", "user_timezone": None},
                "enable_proctored_exams": False,
                "enroll_alert": {"can_enroll": True, "extra_text": None},
                "enrollment_mode": enr["mode"] if enr else None,
                "handouts_html": None,
                "has_ended": False,
                "offer": None,
                "resume_course": resume,
                "user_has_passing_grade": False,
                "welcome_message_html": None,
            },
        )

    def navigation(self, req: Request, course_id: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        course, missing = self._course_or_404(course_id)
        if missing:
            return missing
        blocks = {}
        if self._is_enrolled(user, course_id):
            blocks = {
                bid: {**self._outline_block(req, user, course, bid), "children": b["children"]}
                for bid, b in course.blocks.items()
                if b["type"] in ("course", "chapter", "sequential", "vertical")
            }
        return json_response(200, {"blocks": blocks})

    def search_enabled(self, req: Request, course_id: str) -> Response:
        return json_response(200, {"enabled": False}) if course_id in self.courses else not_found()

    def proctoring_onboarding(self, req: Request) -> Response:
        _user, denied = self.api_user(req)
        return denied or json_response(404, {"detail": "There is no onboarding exam related to this course id."})

    # ---------------------------------------------------------------- enrollment
    @staticmethod
    def _new_enrollment(mode: str, active: bool = True) -> dict:
        return {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": mode, "is_active": active}

    def _enrollment(self, user: dict, course: Course, enr: dict) -> dict:
        return {
            "created": enr["created"],
            "mode": enr["mode"],
            "is_active": enr["is_active"],
            "course_details": {
                "course_id": course.id,
                "course_name": course.name,
                "enrollment_start": None,
                "enrollment_end": None,
                "course_start": "2026-01-01T00:00:00Z",
                "course_end": None,
                "invite_only": False,
                "course_modes": [{"slug": "audit", "name": "Audit", "min_price": 0, "currency": "usd"}],
            },
            "user": user["username"],
        }

    def _throttled(self, user: dict) -> Response | None:
        if self.enrollment_limiter is not None and self.enrollment_limiter.hit(user["username"]):
            wait = self.enrollment_limiter.retry_after(user["username"])
            resp = json_response(429, {"detail": f"Request was throttled. Expected available in {wait} seconds."})
            resp.headers.append(("Retry-After", str(wait)))
            return resp
        return None

    def enroll(self, req: Request) -> Response:
        user, denied = self.api_user(req, unsafe=True)
        if denied:
            return denied
        throttled = self._throttled(user)
        if throttled:
            return throttled
        try:
            data = json.loads(req.body or b"null")
        except ValueError:
            return json_response(400, {"detail": "JSON parse error."})
        details = data.get("course_details") if isinstance(data, dict) else None
        course_id = details.get("course_id") if isinstance(details, dict) else None
        if not isinstance(course_id, str) or not course_id:
            return json_response(400, {"message": "Course ID must be specified to create a new enrollment."})
        course = self.courses.get(course_id)
        if course is None:
            return json_response(400, {"message": f"No course '{course_id}' found for enrollment"})
        mine = self.enrollments[user["username"]]
        enr = mine.setdefault(course_id, self._new_enrollment("audit"))
        enr["is_active"] = True
        return json_response(200, self._enrollment(user, course, enr))

    def list_enrollments(self, req: Request) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        throttled = self._throttled(user)
        if throttled:
            return throttled
        mine = self.enrollments[user["username"]]
        return json_response(200, [self._enrollment(user, self.courses[cid], enr) for cid, enr in mine.items()])

    # ---------------------------------------------------------------- courseware
    def courseware_course(self, req: Request, course_id: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        course, missing = self._course_or_404(course_id)
        if missing:
            return missing
        enr = self.enrollments[user["username"]].get(course_id)
        enrolled = self._is_enrolled(user, course_id)
        return json_response(
            200,
            {
                "id": course_id,
                "name": course.name,
                "number": course.number,
                "org": course.org,
                "start": "2026-01-01T00:00:00Z",
                "end": None,
                "is_staff": False,
                "is_self_paced": True,
                "enrollment": {"mode": enr["mode"] if enr else None, "is_active": enrolled},
                "course_access": {"has_access": True, "error_code": None, "developer_message": None, "user_message": None},
                "can_load_courseware": {"has_access": enrolled, "error_code": None if enrolled else "enrollment_required"},
                "tabs": [{"title": "Course", "url": f"{self.mfe(req)}/learning/course/{course_id}/home"}],
                "verified_mode": None,
                "show_calculator": False,
                "notes": {"enabled": False, "visible": False},
                "marketing_url": None,
                "user_has_passing_grade": False,
            },
        )

    def learning_sequences(self, req: Request, course_id: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        course, missing = self._course_or_404(course_id)
        if missing:
            return missing
        enrolled = self._is_enrolled(user, course_id)
        sections, sequences = [], {}
        if enrolled:
            for chapter in course.chapters:
                block = course.blocks[chapter]
                sections.append({"id": chapter, "title": block["display_name"], "start": None, "effective_start": None, "sequence_ids": block["children"]})
                for seq in block["children"]:
                    sequences[seq] = {
                        "id": seq,
                        "title": course.blocks[seq]["display_name"],
                        "accessible": True,
                        "start": None,
                        "effective_start": "2026-01-01T00:00:00Z",
                        "inaccessible_after_due": False,
                    }
        return json_response(
            200,
            {
                "course_key": course_id,
                "course_start": "2026-01-01T00:00:00Z",
                "course_end": None,
                "title": course.name,
                "user_id": user["id"],
                "username": user["username"],
                "self_paced": True,
                "days_early_for_beta": None,
                "outline": {"sections": sections, "sequences": sequences},
            },
        )

    def sidebar_toggles(self, req: Request, course_id: str) -> Response:
        if course_id not in self.courses:
            return not_found()
        return json_response(200, {"enable_navigation_sidebar": True, "always_open_auxiliary_sidebar": True, "enable_completion_tracking": True})

    def resume(self, req: Request, course_id: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        course, missing = self._course_or_404(course_id)
        if missing:
            return missing
        unit = self._resume_unit(user, course)
        if unit is None:
            return json_response(200, {"block_id": None, "section_id": None, "unit_id": None})
        seq = course.ancestor(unit, "sequential")
        return json_response(200, {"block_id": unit, "section_id": seq, "unit_id": unit})

    def sequence(self, req: Request, usage_id: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        course = self.blocks.get(usage_id)
        if course is None or course.blocks[usage_id]["type"] != "sequential":
            return json_response(404, {"detail": "Not found."})
        if not self._is_enrolled(user, course.id):
            return json_response(403, {"detail": "You must be enrolled in the course to view this content."})
        block = course.blocks[usage_id]
        return json_response(
            200,
            {
                "item_id": usage_id,
                "element_id": usage_id.rsplit("@", 1)[-1],
                "tag": "sequential",
                "display_name": block["display_name"],
                "position": 1,
                "save_position": True,
                "banner_text": None,
                "is_time_limited": False,
                "is_proctored": False,
                "is_hidden_after_due": False,
                "exclude_units": True,
                "gated_content": {"gated": False, "prereq_url": None, "prereq_id": None, "prereq_section_name": None, "gated_section_name": None},
                "items": [
                    {
                        "id": unit,
                        "type": "other",
                        "page_title": course.blocks[unit]["display_name"],
                        "complete": self._complete(user, unit, course),
                        "bookmarked": False,
                        "path": f"{course.name} > {block['display_name']}",
                        "graded": False,
                        "contains_content_type_gated_content": False,
                    }
                    for unit in block["children"]
                ],
            },
        )

    def render_xblock(self, req: Request, usage_id: str) -> Response:
        view = req.params.get("view", "student_view")
        if view not in ("student_view", "public_view"):
            return Response(400, f"Rendering of the xblock view '{escape(view)}' is not supported.".encode(), HTML)
        course = self.blocks.get(usage_id)
        if course is None:
            return not_found()
        user = self.session_user(req)
        if user is None:
            return redirect(f"/login?next={quote(req.path + ('?' + req.query if req.query else ''))}")
        if not self._is_enrolled(user, course.id):
            return not_found()  # get_course_with_access(check_if_enrolled=True) -> UserNotEnrolled
        block = course.blocks[usage_id]
        children = block["children"] or [usage_id]
        parts = "".join(
            f'<div class="xblock xblock-student_view xblock-student_view-html" data-block-type="html" data-usage-id="{leaf}" '
            f'data-course-id="{course.id}" data-mark-completed-on-view-after-delay="5" data-request-token="{secrets.token_hex(8)}">'
            f"<p>{escape(course.blocks[leaf]['display_name'])} of {escape(block['display_name'])}</p></div>"
            for leaf in children
        )
        links = "".join(f'<link rel="stylesheet" href="/static/{name}" type="text/css">' for name in UNIT_STATIC if name.endswith(".css"))
        scripts = "".join(f'<script type="text/javascript" src="/static/{name}"></script>' for name in UNIT_STATIC if name.endswith(".js"))
        page = (
            f"<!DOCTYPE html><html><head><title>{escape(block['display_name'])} | {escape(course.name)}</title>{links}{scripts}</head>"
            f'<body class="view-in-course view-courseware courseware"><div class="xblock xblock-student_view xblock-student_view-vertical" '
            f'data-usage-id="{usage_id}" data-block-type="{block["type"]}">{parts}</div></body></html>'
        )
        resp = Response(200, page.encode(), HTML)
        self._ensure_csrf_cookie(resp, req)
        return resp

    def static(self, req: Request, file: str) -> Response:
        found = self.static_bodies.get(file)
        if found is None:
            return not_found()
        resp = Response(200, found[1], found[0])
        resp.headers.append(("Cache-Control", f"max-age={STATIC_MAX_AGE}"))
        return resp

    def xblock_handler(self, req: Request, course_id: str, usage_id: str) -> Response:
        handler = req.path.rsplit("/", 1)[-1]
        reason = self.csrf_failure(req)
        if reason:
            return self.csrf_forbidden_page(reason)
        user = self.session_user(req)
        if user is None:
            return html_response(403, "Forbidden")  # handle_xblock_callback: anonymous -> PermissionDenied
        course = self.blocks.get(usage_id)
        if course is None or course.id != course_id:
            return Response(404, b"invalid location", "text/plain")
        if not self._is_enrolled(user, course_id):
            return Response(404, b"invalid location", "text/plain")
        try:
            data = json.loads(req.body or b"{}")
        except ValueError:
            return json_response(400, {"error": "Invalid JSON"})
        block = course.blocks[usage_id]
        if handler == "publish_completion":
            if block["type"] != "html":
                return json_response(400, {"error": "Block not configured for completion on view."})
            if data.get("completion") != 1.0:
                return json_response(400, {"error": "Invalid completion value {}. Must be 1.0".format(data.get("completion"))})
            self.completions[user["username"]][usage_id] = time.time()
            return json_response(200, {"result": "ok"})
        if handler == "get_completion" and block["type"] == "sequential":
            unit = data.get("usage_key")
            if unit not in block["children"]:
                return json_response(200, {"complete": False})
            return json_response(200, {"complete": self._complete(user, unit, course)})
        if handler == "goto_position" and block["type"] == "sequential":
            try:
                position = int(data.get("position"))
            except (TypeError, ValueError):
                return json_response(400, {"error": "position must be an integer"})
            return json_response(200, {"success": 1 <= position <= len(block["children"])})
        return Response(404, f"{handler} is not a handler of {block['type']}".encode(), "text/plain")

    # ---------------------------------------------------------------- programs
    def _programs_with(self, course_id: str) -> list[dict]:
        return [p for p in self.programs if any(run["key"] == course_id for c in p.get("courses", []) for run in c.get("course_runs", []))]

    def programs_page(self, req: Request) -> Response:
        user, denied = self._login_required(req)
        if denied:
            return denied
        if not self.programs:
            return not_found()  # ProgramsFragmentView: ProgramsApiConfig not enabled -> Http404
        mine = set(self.enrollments[user["username"]])  # ProgramProgressMeter.engaged_programs: a run enrolled in
        engaged = [p for p in self.programs if any(run["key"] in mine for c in p.get("courses", []) for run in c.get("course_runs", []))]
        cards = "".join(
            f'<div class="program-card"><a class="program-details" href="/dashboard/programs/{p["uuid"]}/">{escape(p["title"])}</a></div>' for p in engaged
        )
        empty = "" if engaged else '<div class="no-programs-message">You are not enrolled in any programs yet.</div>'
        links = "".join(f'<link rel="stylesheet" href="/static/{n}" type="text/css">' for n in UNIT_STATIC if n.endswith(".css"))
        page = f"<!DOCTYPE html><html><head><title>Programs | Open edX</title>{links}</head>"
        page += f"<body><main><h1>My Programs</h1>{cards}{empty}</main></body></html>"
        return Response(200, page.encode(), HTML)

    def program_details_page(self, req: Request, program_uuid: str) -> Response:
        _user, denied = self._login_required(req)
        if denied:
            return denied
        program = next((p for p in self.programs if p["uuid"] == program_uuid), None)
        if program is None:
            return not_found()  # not configured, or get_program_and_course_data found nothing
        runs = "".join(f'<li class="course-run">{escape(run["key"])}</li>' for c in program.get("courses", []) for run in c.get("course_runs", []))
        # program_details.html hands program_data (uuid, title, ...) to the page's JS as JSON
        data = json.dumps({"programData": {k: program.get(k) for k in ("uuid", "title", "type")}}).replace("<", "\\u003c")
        body = f'<h1 class="program-title">{escape(program["title"])}</h1><ul>{runs}</ul><script type="application/json" id="program-data">{data}</script>'
        return html_response(200, f"{program['title']} | Program Details", body)

    def program_progress(self, req: Request, program_uuid: str) -> Response:
        user, denied = self.api_user(req)
        if denied:
            return denied
        program = next((p for p in self.programs if p["uuid"] == program_uuid), None)
        if program is None:
            return json_response(404, {"detail": "Not found."})
        enrolled = set(self.enrollments[user["username"]])
        runs = [run["key"] for c in program.get("courses", []) for run in c.get("course_runs", [])]
        return json_response(
            200,
            {
                "urls": {"program_listing_url": "/dashboard/programs/", "commerce_api_url": None},
                "program_data": {"uuid": program["uuid"], "title": program["title"], "type": program.get("type")},
                "course_data": {
                    "completed": [],
                    "in_progress": [{"key": k} for k in runs if k in enrolled],
                    "not_started": [{"key": k} for k in runs if k not in enrolled],
                },
                "certificate_data": [],
                "industry_pathways": [],
                "credit_pathways": [],
            },
        )

    def heartbeat(self, req: Request) -> Response:
        return json_response(200, {"OK": True})


def load_lms(users_csv: Path, courses: list[str], **kwargs) -> Lms:
    return Lms(load_users(Path(users_csv)), courses, **kwargs)


__all__ = ["DEFAULT_COURSES", "BadConfig", "FixedWindowLimiter", "Lms", "Request", "Response", "load_lms", "load_users", "parse_rate", "write_users_csv"]
