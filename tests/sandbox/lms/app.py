"""The Open edX LMS endpoint contract the load test relies on, implemented strictly.

What "strictly" means here (each rule mirrors Django/edx-platform behaviour the locustfile must cope with):
- ``GET /api/user/v2/account/login_session/`` (and ``/login``) set the ``csrftoken`` cookie (``ensure_csrf_cookie``).
- Every unsafe request (POST) needs an ``X-CSRFToken`` header matching the cookie (plain or Django-masked form) and
  a same-origin ``Referer``; otherwise 403 like ``CsrfViewMiddleware``.
- Login takes ``email_or_username`` (v2) or ``email`` (v1) + ``password``; bad credentials give 400 JSON; success
  rotates the CSRF token (``django.contrib.auth.login`` calls ``rotate_token``) and sets ``sessionid``.
- APIs without a session answer 401; pages that need login redirect to ``/login?next=...``.
- ``POST /api/enrollment/v1/enrollment`` with a body lacking ``course_details.course_id`` answers 400.
- Optional per-IP / per-email login rate limits (``LOGISTRATION_RATELIMIT_RATE`` style, fixed windows), off by default.
"""

import csv
import json
import secrets
import string
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from urllib.parse import parse_qs, quote, unquote, urlsplit

CSRF_CHARS = string.ascii_letters + string.digits
CSRF_SECRET_LENGTH = 32
RATE_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
DEFAULT_COURSES = ("course-v1:OpenedX+DemoX+DemoCourse",)
PROGRAM_UUID = "a3951294-926b-4247-8c3c-51c1e4347a15"

JSON = "application/json"
HTML = "text/html; charset=utf-8"


class BadConfig(ValueError):
    """Invalid stand-in configuration (users CSV, courses, rates)."""


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


@dataclass
class Response:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: list[tuple[str, str]] = field(default_factory=list)

    def set_cookie(self, name: str, value: str, *, secure: bool, http_only: bool = False) -> None:
        attrs = f"{name}={value}; Path=/; SameSite=Lax"
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


def redirect(location: str) -> Response:
    resp = Response(302, b"", HTML)
    resp.headers.append(("Location", location))
    return resp


def parse_rate(rate: str | None) -> tuple[int, int] | None:
    """'100/5m' -> (100, 300), like django-ratelimit's rate strings."""
    if not rate:
        return None
    try:
        count, period = rate.split("/")
        unit = period[-1]
        mult = int(period[:-1] or 1)
        return int(count), mult * RATE_UNITS[unit]
    except (ValueError, KeyError):
        raise BadConfig(f"rate {rate!r} is not like '100/5m' (count/[N]s|m|h|d)") from None


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


def _course_parts(course_id: str) -> tuple[str, str, str]:
    if not course_id.startswith("course-v1:") or course_id.count("+") != 2:
        raise BadConfig(f"course id {course_id!r} is not like course-v1:ORG+COURSE+RUN")
    org, number, run = course_id.removeprefix("course-v1:").split("+")
    return org, number, run


class Course:
    """A small course tree: 3 chapters x 2 sequences x 2 units, ids in the block-v1 format."""

    def __init__(self, course_id: str):
        self.id = course_id
        org, number, run = _course_parts(course_id)
        self.name = f"{number} ({org} {run})"
        self.org = org
        base = f"block-v1:{org}+{number}+{run}+type@"
        self.root = base + "course+block@course"
        self.blocks: dict[str, dict] = {}
        chapters = []
        for c in range(3):
            chapter = f"{base}chapter+block@chapter_{c}"
            sequences = []
            for s in range(2):
                seq = f"{base}sequential+block@sequence_{c}_{s}"
                units = [f"{base}vertical+block@unit_{c}_{s}_{u}" for u in range(2)]
                self.blocks[seq] = {"id": seq, "type": "sequential", "display_name": f"Lesson {c + 1}.{s + 1}", "children": units}
                sequences.append(seq)
            self.blocks[chapter] = {"id": chapter, "type": "chapter", "display_name": f"Section {c + 1}", "children": sequences}
            chapters.append(chapter)
        self.blocks[self.root] = {"id": self.root, "type": "course", "display_name": self.name, "children": chapters}
        self.first_sequence = self.blocks[chapters[0]]["children"][0]


class Lms:
    """State and routes. One instance per server process; handlers are plain synchronous functions."""

    def __init__(
        self,
        users: dict[str, dict],
        courses: list[str],
        *,
        mfe_base: str | None = None,
        ip_rate: str | None = None,
        email_rate: str | None = None,
    ):
        if not courses:
            raise BadConfig("at least one course id is needed (--courses)")
        self.users = users
        self.by_email = {u["email"].lower(): u for u in users.values()}
        self.courses = {cid: Course(cid) for cid in courses}
        self.sequences = {seq: course for course in self.courses.values() for seq in course.blocks if "+type@sequential+" in seq}
        self.mfe_base = mfe_base.rstrip("/") if mfe_base else None
        self.ip_limiter = FixedWindowLimiter(parse_rate(ip_rate)) if ip_rate else None
        self.email_limiter = FixedWindowLimiter(parse_rate(email_rate)) if email_rate else None
        self.sessions: dict[str, str] = {}
        self.enrollments: dict[str, dict[str, dict]] = defaultdict(dict)
        self.started = time.time()
        self.hits: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.logins: dict[str, int] = defaultdict(int)
        self.connections = {"current": 0, "peak": 0, "total": 0}
        self._outline_cache: dict[str, bytes] = {}

    # ---------------------------------------------------------------- plumbing
    def handle(self, req: Request) -> Response:
        route, resp = self._dispatch(req)
        self.hits[f"{req.method} {route}"][str(resp.status)] += 1
        return resp

    def _dispatch(self, req: Request) -> tuple[str, Response]:
        path = unquote(req.path)
        parts = [p for p in path.split("/") if p]
        m = req.method
        if path in ("/api/user/v2/account/login_session/", "/api/user/v1/account/login_session/"):
            route = path
            if m == "GET":
                return route, self.login_form(req, path)
            if m == "POST":
                return route, self.login(req, email_field="email" if "/v1/" in path else "email_or_username")
            return route, self.not_allowed()
        if path == "/_standin/stats":
            return path, json_response(200, self.stats())
        if path == "/heartbeat":
            return path, json_response(200, {"OK": True})
        if path in ("/login", "/login/"):
            return "/login", self.login_page(req)
        if path.rstrip("/") == "/dashboard" and m == "GET":
            return "/dashboard", self.page(req, "Dashboard", "learner-dashboard/", "<h1>My Courses</h1>")
        if parts[:1] == ["u"] and len(parts) == 2 and m == "GET":
            return "/u/<username>", self.profile_page(req, parts[1])
        if path.rstrip("/") == "/account/settings" and m == "GET":
            return "/account/settings", self.page(req, "Account Settings", "account/", "<h1>Account Settings</h1>")
        if path.rstrip("/") == "/dashboard/programs" and m == "GET":
            return "/dashboard/programs/", self.programs_page(req)
        if path.rstrip("/") == "/courses" and m == "GET":
            return "/courses", self.courses_page()
        if parts[:1] == ["courses"] and len(parts) == 3 and m == "GET":
            if parts[2] == "about":
                return "/courses/<course_id>/about", self.about_page(parts[1])
            if parts[2] == "courseware":
                return "/courses/<course_id>/courseware", self.courseware_page(req, parts[1])
        if parts[:2] == ["api", "learner_home"] and parts[2:3] == ["init"] and m == "GET":
            return "/api/learner_home/init", self.api(req, self.learner_home)
        if parts[:4] == ["api", "user", "v1", "accounts"] and len(parts) == 5 and m == "GET":
            return "/api/user/v1/accounts/<username>", self.api(req, self.account, parts[4])
        if parts[:4] == ["api", "user", "v1", "preferences"] and len(parts) == 5 and m == "GET":
            return "/api/user/v1/preferences/<username>", self.api(req, self.preferences, parts[4])
        if parts == ["api", "enrollment", "v1", "enrollment"]:
            if m == "POST":
                return "/api/enrollment/v1/enrollment", self.api(req, self.enroll, unsafe=True)
            if m == "GET":
                return "/api/enrollment/v1/enrollment", self.api(req, self.list_enrollments)
            return "/api/enrollment/v1/enrollment", self.not_allowed()
        if parts[:3] == ["api", "course_home", "outline"] and len(parts) == 4 and m == "GET":
            return "/api/course_home/outline/<course_id>", self.api(req, self.outline, parts[3])
        if parts[:3] == ["api", "courseware", "course"] and len(parts) == 4 and m == "GET":
            return "/api/courseware/course/<course_id>", self.api(req, self.courseware_course, parts[3])
        if parts[:3] == ["api", "courseware", "sequence"] and len(parts) == 4 and m == "GET":
            return "/api/courseware/sequence/<usage_id>", self.api(req, self.sequence, parts[3])
        if parts[:4] == ["api", "dashboard", "v0", "programs"] and parts[5:] == ["progress_details"] and m == "GET":
            return "/api/dashboard/v0/programs/<uuid>/progress_details/", self.api(req, self.program_progress, parts[4])
        return "<unknown>", html_response(404, "Page not found", "<h1>Page not found</h1>")

    def stats(self) -> dict:
        return {
            "uptime_seconds": round(time.time() - self.started, 3),
            "routes": {route: dict(codes) for route, codes in sorted(self.hits.items())},
            "logins": dict(self.logins),
            "sessions": len(self.sessions),
            "enrollments": sum(len(v) for v in self.enrollments.values()),
            "connections": dict(self.connections),
        }

    @staticmethod
    def not_allowed() -> Response:
        return json_response(405, {"detail": "Method not allowed."})

    # ---------------------------------------------------------------- CSRF and sessions
    def _new_csrf(self, resp: Response, req: Request) -> str:
        token = "".join(secrets.choice(CSRF_CHARS) for _pos in range(CSRF_SECRET_LENGTH))
        resp.set_cookie("csrftoken", token, secure=req.secure)
        return token

    @staticmethod
    def _unmask(token: str) -> str:
        """Django's masked tokens are 64 chars: mask + (secret + mask) mod alphabet."""
        mask, cipher = token[:CSRF_SECRET_LENGTH], token[CSRF_SECRET_LENGTH:]
        idx = CSRF_CHARS.index
        return "".join(CSRF_CHARS[(idx(c) - idx(m)) % len(CSRF_CHARS)] for c, m in zip(cipher, mask, strict=True))

    def csrf_failure(self, req: Request) -> str | None:
        """The reason CsrfViewMiddleware would reject this unsafe request, or None."""
        cookie = req.cookies.get("csrftoken")
        if not cookie:
            return "CSRF cookie not set."
        referer = req.headers.get("referer")
        if not referer:
            return "Referer checking failed - no Referer."
        ref = urlsplit(referer)
        if ref.netloc != req.headers.get("host", "") or (req.secure and ref.scheme != "https"):
            return f"Referer checking failed - {referer} does not match any trusted origins."
        header = req.headers.get("x-csrftoken", "")
        if len(header) == 2 * CSRF_SECRET_LENGTH and all(c in CSRF_CHARS for c in header):
            header = self._unmask(header)
        if not header:
            return "CSRF token missing."
        if not secrets.compare_digest(header, cookie):
            return "CSRF token incorrect."
        return None

    def session_user(self, req: Request) -> dict | None:
        sid = req.cookies.get("sessionid")
        username = self.sessions.get(sid) if sid else None
        return self.users.get(username) if username else None

    def api(self, req: Request, handler, *args, unsafe: bool = False) -> Response:
        user = self.session_user(req)
        if user is None:
            return json_response(401, {"detail": "Authentication credentials were not provided."})
        if unsafe:
            reason = self.csrf_failure(req)
            if reason:
                return json_response(403, {"detail": f"CSRF Failed: {reason}"})
        return handler(req, user, *args)

    def _login_required(self, req: Request) -> Response | None:
        if self.session_user(req) is None:
            return redirect(f"/login?next={quote(req.path)}")
        return None

    # ---------------------------------------------------------------- authentication
    def login_form(self, req: Request, path: str) -> Response:
        resp = json_response(
            200,
            {
                "method": "post",
                "submit_url": path,
                "fields": [
                    {"name": "email_or_username" if "/v2/" in path else "email", "type": "text", "required": True},
                    {"name": "password", "type": "password", "required": True},
                ],
            },
        )
        if "csrftoken" not in req.cookies:
            self._new_csrf(resp, req)
        return resp

    def login_page(self, req: Request) -> Response:
        resp = html_response(200, "Sign in", '<form method="post" action="/api/user/v2/account/login_session/"></form>')
        if "csrftoken" not in req.cookies:
            self._new_csrf(resp, req)
        return resp

    def login(self, req: Request, email_field: str) -> Response:
        reason = self.csrf_failure(req)
        if reason:
            self.logins["csrf_rejected"] += 1
            return html_response(403, "Forbidden", f"<h1>Forbidden (403)</h1><p>CSRF verification failed. {escape(reason)}</p>")
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
            return json_response(400, {"success": False, "value": "Too many failed login attempts. Try again later."})
        if not ident or "password" not in form:
            self.logins["bad_request"] += 1
            return json_response(400, {"success": False, "value": f"There was an error receiving your login information. ({email_field}, password)"})
        user = self.by_email.get(ident.lower()) or self.users.get(ident)
        if user is None or not secrets.compare_digest(user["password"], form["password"]):
            self.logins["bad_credentials"] += 1
            return json_response(
                400,
                {
                    "success": False,
                    "value": "Email or password is incorrect.",
                    "error_code": "incorrect-email-or-password",
                    "email": ident,
                },
            )
        self.logins["ok"] += 1
        old = req.cookies.get("sessionid")
        if old:
            self.sessions.pop(old, None)
        sid = secrets.token_hex(16)
        self.sessions[sid] = user["username"]
        scheme = "https" if req.secure else "http"
        resp = json_response(200, {"success": True, "redirect_url": f"{scheme}://{req.headers.get('host', '')}/dashboard"})
        self._new_csrf(resp, req)  # rotate_token(): the old token is no longer valid
        resp.set_cookie("sessionid", sid, secure=req.secure, http_only=True)
        resp.set_cookie("edxloggedin", "true", secure=req.secure)
        resp.set_cookie("edx-user-info", quote(json.dumps({"username": user["username"], "version": 1})), secure=req.secure)
        return resp

    # ---------------------------------------------------------------- pages
    def page(self, req: Request, title: str, mfe_path: str, body: str) -> Response:
        denied = self._login_required(req)
        if denied:
            return denied
        if self.mfe_base:
            return redirect(f"{self.mfe_base}/{mfe_path}")
        user = self.session_user(req)
        return html_response(200, title, f'{body}<span class="username">{escape(user["username"])}</span>')

    def profile_page(self, req: Request, username: str) -> Response:
        denied = self._login_required(req)
        if denied:
            return denied
        if username not in self.users:
            return html_response(404, "Page not found")
        if self.mfe_base:
            return redirect(f"{self.mfe_base}/profile/u/{username}")
        return html_response(200, f"{username} | Profile", f'<h1 class="username">{escape(username)}</h1>')

    def programs_page(self, req: Request) -> Response:
        denied = self._login_required(req)
        if denied:
            return denied
        return html_response(
            200,
            "Programs",
            f'<h1>My Programs</h1><a class="program" href="/dashboard/programs/{PROGRAM_UUID}/">Open edX Fundamentals</a>',
        )

    def courses_page(self) -> Response:
        items = "".join(f'<li><a href="/courses/{quote(c.id)}/about">{escape(c.name)}</a></li>' for c in self.courses.values())
        return html_response(200, "Courses", f'<ul class="courses">{items}</ul>')

    def about_page(self, course_id: str) -> Response:
        course = self.courses.get(course_id)
        if course is None:
            return html_response(404, "Page not found")
        return html_response(200, f"About {course.name}", f'<h1 class="course-title">{escape(course.name)}</h1>')

    def courseware_page(self, req: Request, course_id: str) -> Response:
        denied = self._login_required(req)
        if denied:
            return denied
        if course_id not in self.courses:
            return html_response(404, "Page not found")
        if self.mfe_base:
            return redirect(f"{self.mfe_base}/learning/course/{course_id}/home")
        return html_response(200, "Courseware")

    # ---------------------------------------------------------------- JSON APIs
    def learner_home(self, req: Request, user: dict) -> Response:
        courses = []
        for course_id, enr in self.enrollments[user["username"]].items():
            course = self.courses[course_id]
            courses.append(
                {
                    "courseProvider": {"name": course.org},
                    "course": {"courseName": course.name, "courseNumber": course_id.split("+")[1]},
                    "courseRun": {"courseId": course_id, "homeUrl": f"/courses/{course_id}/course/", "isStarted": True},
                    "enrollment": {"mode": enr["mode"], "isEnrolled": enr["is_active"], "isAudit": enr["mode"] == "audit"},
                }
            )
        return json_response(
            200,
            {
                "platformSettings": {"supportEmail": "support@example.com", "courseSearchUrl": "/courses"},
                "learner": {"name": user["username"], "email": user["email"], "username": user["username"]},
                "courses": courses,
                "emailConfirmation": {"isNeeded": False},
                "enterpriseDashboard": None,
                "suggestedCourses": [],
            },
        )

    def account(self, req: Request, user: dict, username: str) -> Response:
        target = self.users.get(username)
        if target is None:
            return json_response(404, {"detail": "Not found."})
        if username != user["username"]:  # other learners: the limited profile
            return json_response(200, {"username": username, "account_privacy": "private", "profile_image": {"has_image": False}})
        return json_response(
            200,
            {
                "id": user["id"],
                "username": username,
                "email": user["email"],
                "name": username,
                "is_active": True,
                "date_joined": "2026-01-01T00:00:00Z",
                "language_proficiencies": [],
                "account_privacy": "private",
                "profile_image": {"has_image": False},
                "requires_parental_consent": False,
            },
        )

    def preferences(self, req: Request, user: dict, username: str) -> Response:
        if username != user["username"]:
            return json_response(403, {"developer_message": "You do not have permission to access this resource."})
        return json_response(200, {"pref-lang": "en", "account_privacy": "private"})

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

    def enroll(self, req: Request, user: dict) -> Response:
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
        enr = mine.setdefault(course_id, {"created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "mode": "audit", "is_active": True})
        return json_response(200, self._enrollment(user, course, enr))

    def list_enrollments(self, req: Request, user: dict) -> Response:
        mine = self.enrollments[user["username"]]
        return json_response(200, [self._enrollment(user, self.courses[cid], enr) for cid, enr in mine.items()])

    def outline(self, req: Request, user: dict, course_id: str) -> Response:
        course = self.courses.get(course_id)
        if course is None:
            return json_response(404, {"detail": "Not found."})
        cached = self._outline_cache.get(course_id)
        if cached is None:
            blocks = {
                bid: {
                    **block,
                    "complete": False,
                    "resume_block": False,
                    "lms_web_url": f"/courses/{course_id}/jump_to/{bid}",
                    "legacy_web_url": f"/courses/{course_id}/jump_to/{bid}?experience=legacy",
                }
                for bid, block in course.blocks.items()
                if block["type"] != "vertical"
            }
            cached = json.dumps(
                {
                    "course_blocks": {"blocks": blocks},
                    "course_goals": {"selected_goal": None, "weekly_learning_goal_enabled": False},
                    "enroll_alert": {"can_enroll": True, "extra_text": None},
                    "resume_course": {"has_visited_course": False, "url": f"/courses/{course_id}/jump_to/{course.first_sequence}"},
                    "user_has_passing_grade": False,
                },
                separators=(",", ":"),
            ).encode()
            self._outline_cache[course_id] = cached
        return Response(200, cached)

    def courseware_course(self, req: Request, user: dict, course_id: str) -> Response:
        course = self.courses.get(course_id)
        if course is None:
            return json_response(404, {"detail": "Not found."})
        enr = self.enrollments[user["username"]].get(course_id)
        return json_response(
            200,
            {
                "id": course_id,
                "name": course.name,
                "number": course_id.split("+")[1],
                "org": course.org,
                "start": "2026-01-01T00:00:00Z",
                "is_staff": False,
                "is_enrolled": bool(enr and enr["is_active"]),
                "enrollment": {"mode": enr["mode"] if enr else None, "is_active": bool(enr and enr["is_active"])},
                "course_access": {"has_access": True, "error_code": None},
                "tabs": [{"title": "Course", "url": f"/courses/{course_id}/course/"}],
                "verified_mode": None,
            },
        )

    def sequence(self, req: Request, user: dict, usage_id: str) -> Response:
        course = self.sequences.get(usage_id)
        if course is None:
            return json_response(404, {"detail": "Not found."})
        enr = self.enrollments[user["username"]].get(course.id)
        if not (enr and enr["is_active"]):
            return json_response(403, {"detail": "You must be enrolled in the course to view this content."})
        block = course.blocks[usage_id]
        return json_response(
            200,
            {
                "item_id": usage_id,
                "display_name": block["display_name"],
                "position": 1,
                "save_position": True,
                "banner_text": None,
                "is_time_limited": False,
                "is_proctored": False,
                "gated_content": {"gated": False},
                "items": [
                    {"id": unit, "type": "vertical", "page_title": f"Unit {n + 1}", "complete": False, "bookmarked": False, "path": block["display_name"]}
                    for n, unit in enumerate(block["children"])
                ],
            },
        )

    def program_progress(self, req: Request, user: dict, uuid: str) -> Response:
        if uuid != PROGRAM_UUID:
            return json_response(404, {"detail": "Not found."})
        enrolled = set(self.enrollments[user["username"]])
        return json_response(
            200,
            {
                "urls": {"program_listing_url": "/dashboard/programs/", "commerce_api_url": None},
                "program_data": {"uuid": PROGRAM_UUID, "title": "Open edX Fundamentals", "type": "XSeries"},
                "course_data": {
                    "completed": [],
                    "in_progress": [{"key": cid} for cid in self.courses if cid in enrolled],
                    "not_started": [{"key": cid} for cid in self.courses if cid not in enrolled],
                },
                "certificate_data": [],
                "industry_pathways": [],
                "credit_pathways": [],
            },
        )


def load_lms(users_csv: Path, courses: list[str], **kwargs) -> Lms:
    return Lms(load_users(Path(users_csv)), courses, **kwargs)
