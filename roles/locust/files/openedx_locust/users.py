"""Virtual learners that make the requests a browser makes on Open edX Verawood, page by page.

Every request comes from the table in routes.py; the order, headers and bodies follow the micro-frontends and
frontend-platform at release/verawood (research: docs/loadtest.md "What a virtual user does"):

- an MFE page load = ``/api/mfe_config/v1?mfe=<app>`` (cached by its Cache-Control, as frontend-platform's axios
  cache does), the JWT check (``POST /login_refresh`` when the JWT cookie is gone or its ``exp`` is past), then the
  page's API calls, the independent ones concurrently as the MFE's ``Promise.all``/sagas issue them;
- the first unsafe request of a page load fetches ``/csrf/api/v1/token`` and sends it as ``X-CSRFToken``;
- the unit is the LMS iframe ``/xblock/<usage_id>`` with the ``/static/`` files it references (once per user:
  the browser cache), then the completion-on-view posts its JavaScript makes.

Each page's wall time (what the learner waits) goes to pages.py, beside Locust's per-request statistics.
The flows run on FastHttpUser and on requests' HttpUser (``LmsHttpUser``, for the bench) alike.
"""

import base64
import json
import logging
import random
import re
import time
from urllib.parse import urlencode, urlsplit

import gevent
import urllib3
from locust import HttpUser, SequentialTaskSet, between, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser

from . import config, fixes, pages
from .cookies import OriginCookieJar
from .routes import ROUTES

logger = logging.getLogger("openedx_locust")

LOGIN_ATTEMPTS = 3
JWT_COOKIE = "edx-jwt-cookie-header-payload"  # tutor-mfe env ACCESS_TOKEN_COOKIE_NAME
MFE_CONFIG_TTL = 300.0  # frontend-platform LocalForageCache: 5 min when the response sets no max-age
BROWSER_TIMEZONE = "UTC"
AXIOS_ACCEPT = "application/json, text/plain, */*"
PAGE_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
# The unit page's assets: <link href> and <script src> under /static/ (Tutor serves them from the LMS's uWSGI).
STATIC_REF = re.compile(r'<(?:link|script)\b[^>]*?\b(?:href|src)="(/static/[^"?#]+(?:\?[^"#]*)?)"')
# Blocks the LMS marks complete once viewed (lms/static/completion/js/CompletionOnViewService.js).
BLOCK_TAG = re.compile(r"<div\b[^>]*\bxblock-student_view\b[^>]*>")
USAGE_ID = re.compile(r'\bdata-usage-id="([^"]+)"')
PROGRAM_LINK = re.compile(r"/dashboard/programs/([0-9a-f-]{32,36})/")
MAX_MFE_CONCURRENCY = 6  # a browser's connections per host


class Settings:
    """Per-process settings, set from the options at init/test_start (see plugin.py)."""

    course_ids: list[str] = config.parse_course_ids(config.DEFAULT_COURSE_IDS)
    pool: config.AccountPool | None = None
    pool_error: str | None = None
    static_files: bool = True
    mfe_origin: str | None = None  # None: Tutor's default, https://apps.<LMS host>


def _json(resp):
    body = resp.content
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _missing(payload, keys: tuple[str, ...]) -> list[str]:
    if not isinstance(payload, dict):
        return list(keys) or ["a JSON object"]
    return [k for k in keys if k not in payload]


def jwt_expiry(cookie_value: str | None) -> float | None:
    """The ``exp`` of the JWT header-payload cookie, as frontend-platform's jwtDecode reads it; None if unreadable."""
    if not cookie_value:
        return None
    parts = cookie_value.strip('"').split(".")
    if len(parts) < 2:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        exp = json.loads(base64.urlsafe_b64decode(payload)).get("exp")
    except (ValueError, TypeError, AttributeError):
        return None
    return float(exp) if isinstance(exp, (int, float)) else None


def mfe_origin_for(host: str) -> str:
    """Tutor's MFE_HOST default is apps.<LMS_HOST>; the MFE pages send that Origin/Referer to the LMS APIs."""
    parts = urlsplit(host)
    return f"{parts.scheme}://apps.{parts.netloc}"


def max_age(resp, default: float) -> float:
    control = resp.headers.get("Cache-Control") or resp.headers.get("cache-control") or ""
    match = re.search(r"max-age=(\d+)", control)
    return float(match.group(1)) if match else default


class Reply:
    """What a flow reads of a response that passed its checks: status, parsed JSON, body, headers."""

    __slots__ = ("content", "data", "headers", "status_code")

    def __init__(self, status_code: int, data, content: bytes, headers) -> None:
        self.status_code, self.data, self.content, self.headers = status_code, data, content, headers

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", "replace")


class FlowBase(SequentialTaskSet):
    """One journey: steps run in order with think time between them, then the user picks the next flow."""

    user: "LmsBehaviour"
    _steps_done = 0

    def get_next_task(self):
        # After the last step (and its think time) hand control back at once: one think time between page views.
        if self._steps_done >= len(self.tasks):
            self.interrupt(reschedule=True)
        self._steps_done += 1
        return super().get_next_task()


# ------------------------------------------------------------------------------------------------ the four flows
class DashboardProfileAccount(FlowBase):
    """Seed flow 1: Dashboard -> Profile -> Account."""

    @task
    def dashboard(self):
        self.user.dashboard_page()

    @task
    def profile(self):
        self.user.profile_page()

    @task
    def account(self):
        self.user.account_page()


class Enrollment(FlowBase):
    """Seed flow 2: open a course's home; not enrolled -> "Enroll now", and the MFE reloads the course home."""

    @task
    def course_home(self):
        course_id = self.user.pick_course(prefer_unenrolled=True)
        enrolled = self.user.course_home_page(course_id)
        if enrolled is False:
            with self.user.page("enroll", None, load=False):
                self.user.enroll(course_id)
            self.user.course_home_page(course_id, page_name="course home (after enrolling)")


class Courseware(FlowBase):
    """Seed flow 3: View courses (the dashboard's course list) -> Open course (home) -> Start course -> next unit."""

    course_id = ""
    unit: dict | None = None

    def on_start(self):
        self.course_id = ""
        self.unit = None

    @task
    def view_courses(self):
        data = self.user.dashboard_page()
        enrolled = [c for c in Settings.course_ids if c in self.user.enrolled_courses(data)]
        self.course_id = random.choice(enrolled or Settings.course_ids)

    @task
    def open_course(self):
        if self.user.course_home_page(self.course_id) is False:
            with self.user.page("enroll", None, load=False):
                self.user.enroll(self.course_id)  # the course home's "Enroll now", then the content shows

    @task
    def start_course(self):
        self.user.track("edx.course.home.resume_course.clicked", {"event_type": "start", "url": f"/course/{self.course_id}"})
        self.unit = self.user.courseware_page(self.course_id)

    @task
    def next_unit(self):
        if self.unit:
            self.user.next_unit_page(self.course_id, self.unit)


class Programs(FlowBase):
    """Seed flow 4: the programs page, then the first program's page (needs course discovery; weight 0 without)."""

    program: str | None = None

    @task
    def programs(self):
        self.program = self.user.programs_page()

    @task
    def program_details(self):
        if self.program:
            self.user.program_details_page(self.program)


FLOW_CLASSES = {
    "dashboard_profile_account": DashboardProfileAccount,
    "enrollment": Enrollment,
    "courseware": Courseware,
    "programs": Programs,
}


def weighted_tasks(weights: dict[str, int]) -> list:
    return [FLOW_CLASSES[name] for name, weight in weights.items() for _copy in range(weight)]


# ------------------------------------------------------------------------------------------------ the browser
class LmsBehaviour:
    """A learner's browser: cookies, the MFEs' per-page caches, and the pages of the four flows."""

    wait_time = between(5, 15)
    tasks = weighted_tasks(config.parse_flow_weights(config.DEFAULT_FLOW_WEIGHTS))
    account: config.Account | None = None
    _page = None
    concurrent = True  # issue a page's independent API calls at once, as the MFE does

    # -- cookies: FastHttpSession.cookiejar and requests.Session.cookies both answer .get(name)
    def _jar(self):
        raise NotImplementedError

    def cookie(self, name: str) -> str | None:
        return self._jar().get(name)

    # -- lifecycle
    def on_start(self):
        self._page: pages.PageVisit | None = None
        self._csrf: str | None = None  # frontend-platform's per-page-load CSRF token cache
        self._mfe_config_until: dict[str, float] = {}
        self._static_seen: set[str] = set()
        self._enrolled: set[str] = set()
        self._origin = Settings.mfe_origin or mfe_origin_for(self.host)
        pool = Settings.pool
        if pool is None:
            raise StopUser()  # plugin.py already logged why (no CSV loaded) and set the exit code
        self.account = pool.acquire()
        if self.account is None:
            self.environment.events.request.fire(
                request_type="ACCOUNT",
                name="accounts exhausted",
                response_time=0,
                response_length=0,
                exception=RuntimeError(f"--users-csv: all {pool.size} accounts of this worker are in use; add accounts"),
                context={},
            )
            raise StopUser()
        for attempt in range(1, LOGIN_ATTEMPTS + 1):
            if self.login():
                return
            if attempt < LOGIN_ATTEMPTS:
                self.wait()
        logger.error("user %s could not log in after %d attempts; stopping this virtual user", self.account.username, LOGIN_ATTEMPTS)
        raise StopUser()

    def on_stop(self):
        if self.account is not None and Settings.pool is not None:
            Settings.pool.release(self.account)
            self.account = None

    # -- requests
    def page(self, name: str, app: str | None, *, public: bool = False, load: bool = True) -> pages.PageVisit:
        """A page: a load (load=True) starts new per-page caches and, for an MFE, its runtime config and JWT check;
        load=False is a view inside the page already loaded (the MFE's router, the unit iframe's JavaScript)."""
        if load:
            self._csrf = None
        visit = pages.PageVisit(name, owner=self)
        if app is not None:
            visit.boot = lambda: self._boot_mfe(app, public)
        return visit

    def _boot_mfe(self, app: str, public: bool) -> bool:
        if time.monotonic() >= self._mfe_config_until.get(app, 0.0):
            resp = self.call("mfe_config", query={"mfe": app}, client="config", check=lambda d, r: None if isinstance(d, dict) else "not a JSON object")
            if resp is not None:
                self._mfe_config_until[app] = time.monotonic() + max_age(resp, MFE_CONFIG_TTL)
        if public:
            return True
        return self.ensure_jwt()

    def _headers(self, client: str, unsafe: bool, content_type: str | None) -> dict:
        if client in ("page", "iframe"):
            headers = {"Accept": PAGE_ACCEPT}
            if client == "iframe":
                headers["Referer"] = f"{self._origin}/learning/"
            return headers
        if client == "iframe_ajax":  # jQuery in the LMS page: same origin, CSRF token from the cookie
            headers = {"Accept": "*/*", "X-Requested-With": "XMLHttpRequest", "X-CSRFToken": self.cookie("csrftoken") or ""}
            headers.update({"Origin": self.host.rstrip("/"), "Referer": f"{self.host.rstrip('/')}/xblock/"})
        else:  # an MFE's axios: cross-origin from the MFE host, with credentials
            headers = {"Accept": AXIOS_ACCEPT, "Origin": self._origin, "Referer": f"{self._origin}/"}
            if client in ("mfe", "csrf"):
                headers["USE-JWT-COOKIE"] = "true"
        if content_type:
            headers["Content-Type"] = content_type
        return headers

    def call(
        self,
        key: str,
        *,
        path: dict | None = None,
        query: dict | None = None,
        body: str | bytes | None = None,
        content_type: str | None = None,
        client: str = "mfe",
        expect: tuple[int, ...] = (200,),
        keys: tuple[str, ...] = (),
        check=None,
        is_json: bool = True,
    ):
        """One request from routes.py. client: mfe (authenticated axios), public (isPublic), config (mfe_config),
        csrf (the token API), refresh (login_refresh), page / iframe (navigation), iframe_ajax (jQuery in the unit).
        Returns the response when it passed every check, else None (the failure is recorded)."""
        route = ROUTES[key]
        unsafe = route.method in ("POST", "PUT", "PATCH", "DELETE")
        if client == "mfe" and not self.ensure_jwt():
            return None
        headers = self._headers(client, unsafe, content_type)
        if unsafe and client in ("mfe", "public"):
            token = self.csrf_token()
            if token is None:
                return None
            headers["X-CSRFToken"] = token
        url = route.url(**(path or {}))
        if query:
            url = f"{url}?{urlencode(query)}"
        visit = self._page
        with self.client.request(route.method, url, name=route.name, data=body, headers=headers, allow_redirects=False, catch_response=True) as resp:
            if visit is not None:
                visit.add(len(resp.content or b""))
            problem = None
            data = _json(resp) if is_json else None
            if resp.status_code not in expect:
                location = resp.headers.get("Location") or ""
                problem = f"HTTP {resp.status_code}" + (f" -> {location}" if location else "") + f" (expected {'/'.join(map(str, expect))})"
            elif is_json and resp.status_code == 200:
                missing = _missing(data, keys) if keys else ([] if data is not None else ["JSON"])
                if missing:
                    problem = f"expected JSON with {', '.join(keys) or 'a body'}; missing {', '.join(missing)}"
            if problem is None and check is not None:
                problem = check(data, resp)
            if problem:
                resp.failure(problem)
                if visit is not None:
                    visit.failed(f"{route.method} {route.name}: {problem}")
                return None
            resp.success()  # an expected non-2xx (a 401 before login, a 302, a tolerated 404) is not a failure
            return Reply(resp.status_code, data, resp.content or b"", resp.headers)

    def together(self, *calls):
        """Independent requests of one page, at once as the MFE's Promise.all (in order on HttpUser)."""
        if not self.concurrent:
            return [c() for c in calls]
        jobs = [gevent.spawn(c) for c in calls]
        gevent.joinall(jobs)
        return [j.value for j in jobs]

    # -- frontend-platform: CSRF and JWT
    def csrf_token(self) -> str | None:
        if self._csrf is None:
            resp = self.call("csrf_token", client="csrf", keys=("csrfToken",))
            if resp is None:
                return None
            self._csrf = resp.data["csrfToken"]
        return self._csrf

    def ensure_jwt(self) -> bool:
        """getJwtToken(): refresh when the header-payload cookie is gone or expired; 401 = logged out."""
        exp = jwt_expiry(self.cookie(JWT_COOKIE))
        if exp is not None and exp >= time.time():
            return True
        resp = self.call("login_refresh", client="refresh", is_json=False, expect=(200, 401))
        if resp is None:
            return False
        if resp.status_code == 401:
            self._relogin("login_refresh answered 401: the session ended")
            return False
        exp = jwt_expiry(self.cookie(JWT_COOKIE))
        if exp is None or exp < time.time():
            self._fail("login_refresh", "no valid JWT cookie after a successful refresh")
            return False
        return True

    def _fail(self, key: str, message: str) -> None:
        route = ROUTES[key]
        self.environment.events.request.fire(
            request_type=route.method, name=route.name, response_time=0, response_length=0, exception=RuntimeError(message), context={}
        )
        if self._page is not None:
            self._page.failed(f"{route.method} {route.name}: {message}")

    def _relogin(self, why: str) -> None:
        self._fail("login_refresh", why)
        self.login()

    # -- tracking log
    def track(self, event_type: str, event: dict) -> None:
        body = urlencode({"event_type": event_type, "event": json.dumps(event), "page": f"{self._origin}/"})
        self.call("event", body=body, content_type="application/x-www-form-urlencoded", is_json=False)

    # -- login (authn MFE)
    def login(self) -> bool:
        with self.page("login", "authn", public=True) as visit:
            # The authn MFE does not require a user, but initialize() still asks for one: no JWT yet -> 401.
            self.call("login_refresh", client="refresh", is_json=False, expect=(401, 200))
            self.call("mfe_context", client="public", content_type="application/x-www-form-urlencoded", check=self._is_object)
            before = self.cookie("csrftoken")
            body = urlencode({"email_or_username": self.account.email, "password": self.account.password})
            resp = self.call(
                "login",
                client="public",
                body=body,
                content_type="application/x-www-form-urlencoded",
                keys=("success",),
                check=self._login_ok,
                expect=(200, 400, 403, 429),
            )
            if resp is None:
                return False
            if self.cookie("csrftoken") == before:
                self._fail("login", "login succeeded but the CSRF token was not rotated")
                return False
            if jwt_expiry(self.cookie(JWT_COOKIE)) is None:
                self._fail("login", "login succeeded without a JWT cookie")
                return False
            # The browser follows redirect_url ({LMS}/dashboard), which sends it on to the learner dashboard MFE.
            self.call("dashboard_redirect", client="page", expect=(301, 302), is_json=False, check=self._not_to_login)
            return visit.ok

    def _login_ok(self, data, resp) -> str | None:
        data = data if isinstance(data, dict) else {}
        if resp.status_code == 200 and data.get("success") is True:
            return None
        value = data.get("value") or data.get("error_code") or ""
        if resp.status_code == 429 or "Too many" in str(value):
            return f"HTTP {resp.status_code} rate-limited login ({value}); see the ramp plan / LOGISTRATION_RATELIMIT_RATE"
        return f"HTTP {resp.status_code} login failed for {self.account.username}: {value or (resp.text or '')[:120]}"

    @staticmethod
    def _not_to_login(_data, resp) -> str | None:
        location = resp.headers.get("Location") or resp.headers.get("location") or ""
        return "redirected to login: session lost" if "/login" in location else None

    @staticmethod
    def _is_object(data, _resp) -> str | None:
        return None if isinstance(data, dict) else "not a JSON object"

    @staticmethod
    def _is_list(data, _resp) -> str | None:
        return None if isinstance(data, list) else "not a JSON list"

    # -- learner dashboard
    def dashboard_page(self) -> dict | None:
        with self.page("dashboard", "learner-dashboard") as visit:
            if not visit.ok:
                return None
            resp = self.call("learner_home_init", keys=("courses", "platformSettings"), check=self._courses_listed)
            data = resp.data if resp is not None else None
            self._enrolled = self.enrolled_courses(data) or self._enrolled
            return data

    @staticmethod
    def _courses_listed(data, _resp) -> str | None:
        courses = data.get("courses")
        if not isinstance(courses, list):
            return "courses is not a list"
        bad = [c for c in courses if not isinstance((c or {}).get("courseRun"), dict)]
        return f"{len(bad)} course(s) without courseRun" if bad else None

    @staticmethod
    def enrolled_courses(data) -> set[str]:
        return {((c or {}).get("courseRun") or {}).get("courseId") for c in ((data or {}).get("courses") or [])} - {None}

    def pick_course(self, prefer_unenrolled: bool) -> str:
        fresh = [c for c in Settings.course_ids if c not in self._enrolled] if prefer_unenrolled else []
        return random.choice(fresh or Settings.course_ids)

    # -- profile and account
    def _account_is_me(self, data, _resp) -> str | None:
        return None if data.get("username") == self.account.username else f"account of {data.get('username')!r}"

    def _hydrate(self):
        """frontend-platform hydrateAuthenticatedUser (not awaited by the MFE): the account of the user."""
        return self.call("account", path={"username": self.account.username}, keys=("username",), check=self._account_is_me)

    def profile_page(self) -> None:
        me = {"username": self.account.username}
        with self.page("profile", "profile") as visit:
            if not visit.ok:
                return
            account, *_rest = self.together(
                lambda: self.call("account", path=me, keys=("username", "account_privacy"), check=self._account_is_me),
                lambda: self.call("certificates", path=me, check=self._is_list),
                lambda: self.call("registration_form", keys=("fields",)),
                lambda: self.call("preferences", path=me, check=self._is_object),
                self._hydrate,
            )
            if account is not None and account.data.get("account_privacy") == "all_users":
                visibility = {
                    f"visibility.{k}": "all_users"
                    for k in (
                        "name",
                        "bio",
                        "course_certificates",
                        "country",
                        "date_joined",
                        "level_of_education",
                        "language_proficiencies",
                        "social_links",
                        "time_zone",
                    )
                }
                self.call(
                    "preferences_patch",
                    path=me,
                    body=json.dumps({"account_privacy": "custom", **visibility}),
                    content_type="application/merge-patch+json",
                    expect=(200, 204),
                    is_json=False,
                )

    def account_page(self) -> None:
        me = {"username": self.account.username}
        with self.page("account", "account") as visit:
            if not visit.ok:
                return
            _notifications, account, *_rest = self.together(
                lambda: self.call("notification_preferences", check=self._is_object),
                lambda: self.call("account", path=me, keys=("username",), check=self._account_is_me),
                lambda: self.call("preferences", path=me, check=self._is_object),
                lambda: self.call("third_party_auth", check=self._is_list),
                lambda: self.call("time_zones", check=self._is_list),
                lambda: self.call("registration_form", keys=("fields",)),
                self._hydrate,
            )
            self.call("verified_name_history", check=self._is_object)
            country = account.data.get("country") if account is not None else None
            if country:
                self.call("time_zones", query={"country_code": country}, check=self._is_list)
            self.track("edx.user.settings.viewed", {"page": "account", "visibility": None, "user_id": None})

    # -- learning MFE
    def course_home_page(self, course_id: str, page_name: str = "course home") -> bool | None:
        """The course home (outline tab). True enrolled, False not enrolled (outline course_blocks null), None failed."""
        c = {"course_id": course_id}
        with self.page(page_name, "learning") as visit:
            if not visit.ok:
                return None
            meta, outline, *_rest = self.together(
                lambda: self.call(
                    "course_home_metadata", path=c, query={"browser_timezone": BROWSER_TIMEZONE}, keys=("course_access", "is_enrolled"), check=self._has_access
                ),
                lambda: self.call("outline", path=c, expect=(200, 403), check=self._outline_shape),
                lambda: self.call("search_enabled", path=c, keys=("enabled",)),
                lambda: self.call("proctoring_onboarding", query={"is_learning_mfe": "true", "course_id": course_id}, expect=(200, 404), is_json=False),
            )
            if meta is None or outline is None:
                return None
            enrolled = bool(meta.data.get("is_enrolled"))
            blocks = (outline.data or {}).get("course_blocks")
            if enrolled and not (isinstance(blocks, dict) and blocks.get("blocks")):
                self._fail("outline", "enrolled learner's outline has no course_blocks")
                return None
            if enrolled:
                self._enrolled.add(course_id)
            return enrolled

    @staticmethod
    def _has_access(data, _resp) -> str | None:
        """On the outline tab the MFE stays for enrollment_required (shows "Enroll now"); other denials redirect."""
        access = data.get("course_access") or {}
        if access.get("has_access") is True or (access.get("error_code") == "enrollment_required" and not data.get("is_enrolled")):
            return None
        return f"course_access denied: {access.get('error_code')!r}"

    @staticmethod
    def _outline_shape(data, resp) -> str | None:
        # 403: a course-access error the MFE leaves to the metadata call (getOutlineTabData returns {}).
        return None if resp.status_code == 403 or (isinstance(data, dict) and "course_blocks" in data) else "no course_blocks key"

    def enroll(self, course_id: str) -> bool:
        resp = self.call(
            "enroll",
            body=json.dumps({"course_details": {"course_id": course_id}}),
            content_type="application/json",
            keys=("course_details", "is_active"),
            check=lambda d, r: (
                None
                if (d.get("course_details") or {}).get("course_id") == course_id and d.get("is_active") is True
                else f"expected an active enrollment in {course_id}"
            ),
        )
        if resp is not None:
            self._enrolled.add(course_id)
        return resp is not None

    def courseware_page(self, course_id: str) -> dict | None:
        """Start the course: courseware metadata, resume point, the sequence, the outline sidebar, the unit."""
        c = {"course_id": course_id}
        with self.page("courseware", "learning") as visit:
            if not visit.ok:
                return None
            course, ls_outline, *_rest = self.together(
                lambda: self.call(
                    "courseware_course",
                    path=c,
                    query={"browser_timezone": BROWSER_TIMEZONE},
                    keys=("id",),
                    check=lambda d, r: None if d.get("id") == course_id else f"course id {d.get('id')!r}, expected {course_id!r}",
                ),
                lambda: self.call("learning_sequences", path=c, keys=("outline",), check=self._has_sequences),
                lambda: self.call("course_home_metadata", path=c, query={"browser_timezone": BROWSER_TIMEZONE}, keys=("course_access",)),
                lambda: self.call("sidebar_toggles", path=c, check=self._is_object),
            )
            if course is None or ls_outline is None:
                return None
            resume = self.call("resume", path=c, keys=("section_id", "unit_id"))
            sequence_id = (resume.data.get("section_id") if resume is not None else None) or self._first_sequence(ls_outline.data)
            if not sequence_id:
                self._fail("learning_sequences", "no sequence to start")
                return None
            sequence, *_rest = self.together(
                lambda: self.call(
                    "sequence",
                    path={"usage_id": sequence_id},
                    query={"preview": "0"},
                    keys=("item_id", "items"),
                    check=lambda d, r: self._is_sequence(d, sequence_id),
                ),
                lambda: self.call("navigation", path=c, keys=("blocks",)),
                lambda: self.call("search_enabled", path=c, keys=("enabled",)),
            )
            if sequence is None:
                return None
            units = [u["id"] for u in sequence.data["items"]]
            wanted = resume.data.get("unit_id") if resume is not None else None
            index = units.index(wanted) if wanted in units else max(0, int(sequence.data.get("position") or 1) - 1)
            unit = {"sequence": sequence_id, "units": units, "index": index, "save_position": bool(sequence.data.get("save_position"))}
            unit["completable"] = self.unit_iframe(units[index], sequence.data.get("format"))
        self.complete_on_view(course_id, unit.get("completable") or [])
        return unit

    def next_unit_page(self, course_id: str, unit: dict) -> None:
        """The learner clicks Next: tracking event, position saved, the previous unit's completion, the new unit."""
        c = {"course_id": course_id}
        previous = unit["units"][unit["index"]]
        with self.page("next unit", None, load=False) as visit:
            self.track(
                "edx.ui.lms.sequence.next_selected",
                {"current_tab": unit["index"] + 1, "id": previous, "tab_count": len(unit["units"]), "widget_placement": "top"},
            )
            if unit["index"] + 1 >= len(unit["units"]):
                return  # the last unit: the MFE goes to the next sequence (a new courseware page)
            unit["index"] += 1
            current = unit["units"][unit["index"]]
            calls = [
                lambda: self.call(
                    "get_completion",
                    path={**c, "usage_id": unit["sequence"]},
                    body=json.dumps({"usage_key": previous}),
                    content_type="application/json",
                    keys=("complete",),
                )
            ]
            if unit["save_position"]:
                calls.append(
                    lambda: self.call(
                        "goto_position",
                        path={**c, "usage_id": unit["sequence"]},
                        body=json.dumps({"position": unit["index"] + 1}),
                        content_type="application/json",
                        check=self._is_object,
                    )
                )
            self.together(*calls)
            unit["completable"] = self.unit_iframe(current, None) if visit.ok else []
        self.complete_on_view(course_id, unit["completable"] or [])

    @staticmethod
    def _has_sequences(data, _resp) -> str | None:
        outline = data.get("outline") or {}
        return None if isinstance(outline.get("sections"), list) and outline.get("sequences") else "outline has no sections/sequences"

    @staticmethod
    def _first_sequence(data) -> str | None:
        for section in ((data or {}).get("outline") or {}).get("sections") or []:
            for seq in section.get("sequence_ids") or []:
                return seq
        return None

    @staticmethod
    def _is_sequence(data, sequence_id: str) -> str | None:
        if data.get("item_id") != sequence_id:
            return f"sequence {data.get('item_id')!r}, expected {sequence_id!r}"
        items = data.get("items")
        return None if isinstance(items, list) and items and all("id" in u for u in items) else "sequence has no items"

    def unit_iframe(self, usage_id: str, fmt: str | None) -> list[str]:
        """The unit's iframe (learning MFE getIFrameUrl), its /static/ files; returns the blocks completed on view."""
        query = {"preview": "false", "recheck_access": "1", "show_bookmark": "0", "show_title": "0", "view": "student_view"}
        if fmt:
            query["format"] = fmt
        resp = self.call(
            "xblock",
            path={"usage_id": usage_id},
            query=dict(sorted(query.items())),
            client="iframe",
            is_json=False,
            check=lambda d, r: None if b"xblock" in (r.content or b"") else "no xblock markup in the unit page",
        )
        if resp is None:
            return []
        html = resp.text or ""
        if Settings.static_files:
            self.static_files(html)
        completable = []
        for tag in BLOCK_TAG.findall(html):
            if "data-mark-completed-on-view-after-delay" in tag:
                match = USAGE_ID.search(tag)
                if match:
                    completable.append(match.group(1))
        return completable

    def static_files(self, html: str) -> None:
        """Fetch the page's /static/ references not yet in this browser's cache, six at a time."""
        todo = []
        for ref in STATIC_REF.findall(html):
            if ref not in self._static_seen:
                self._static_seen.add(ref)
                todo.append(ref)
        for start in range(0, len(todo), MAX_MFE_CONCURRENCY):
            self.together(
                *[
                    (lambda ref=ref: self.call("static", path={"file": ref.removeprefix("/static/")}, client="iframe", is_json=False))
                    for ref in todo[start : start + MAX_MFE_CONCURRENCY]
                ]
            )

    def complete_on_view(self, course_id: str, blocks: list[str]) -> None:
        """What the unit's JavaScript posts once each block has been in view for its delay (during the think time)."""
        if not blocks:
            return
        with self.page("unit completion", None, load=False):
            for usage_id in blocks:
                self.call(
                    "publish_completion",
                    path={"course_id": course_id, "usage_id": usage_id},
                    body=json.dumps({"completion": 1.0}),
                    client="iframe_ajax",
                    content_type="application/x-www-form-urlencoded; charset=UTF-8",
                    check=self._is_object,
                )

    # -- programs (LMS pages)
    def programs_page(self) -> str | None:
        with self.page("programs", None):
            resp = self.call("programs", client="page", is_json=False, check=self._program_listed)
            if resp is None:
                return None
            if Settings.static_files:
                self.static_files(resp.text or "")
            return PROGRAM_LINK.search(resp.text or "").group(1)

    @staticmethod
    def _is_html(_data, resp) -> str | None:
        head = (resp.content or b"")[:2000].lower()
        if b"<html" not in head:
            return "not an HTML page"
        return "the login form instead of the page" if b"login_session" in head else None

    @staticmethod
    def _program_listed(_data, resp) -> str | None:
        return None if PROGRAM_LINK.search(resp.text or "") else "the programs page lists no program (is the program seeded and cached?)"

    def program_details_page(self, program_uuid: str) -> None:
        with self.page("program details", None):
            resp = self.call(
                "program_details",
                path={"program_uuid": program_uuid},
                client="page",
                is_json=False,
                check=self._is_html,
            )
            if resp is not None and Settings.static_files:
                self.static_files(resp.text or "")


class LmsUser(LmsBehaviour, FastHttpUser):
    """The load-test user: FastHttpUser with one shared TLS context per process (defect (b) in fixes.py)."""

    abstract = False
    insecure = True  # the test targets may use self-signed certificates; set False (--tls-verify) to verify
    ssl_context_factory = staticmethod(fixes.shared_insecure_context)
    network_timeout = 60.0
    connection_timeout = 30.0
    concurrency = MAX_MFE_CONCURRENCY

    def __init__(self, environment):
        super().__init__(environment)
        # One-origin jar instead of http.cookiejar.CookieJar: same cookies, a fraction of the CPU (cookies.py).
        self.client.cookiejar = self.client.client.cookiejar = OriginCookieJar()

    def _jar(self):
        return self.client.cookiejar


class LmsHttpUser(LmsBehaviour, HttpUser):
    """Same journey on requests' HttpUser, requests in order; only for the bench's comparison (abstract)."""

    abstract = True
    concurrent = False

    def on_start(self):
        # Like FastHttpUser's default (insecure). trust_env off: REQUESTS_CA_BUNDLE would otherwise override verify.
        self.client.trust_env = False
        self.client.verify = False
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)  # one warning per request costs CPU
        super().on_start()

    def _jar(self):
        return self.client.cookies
