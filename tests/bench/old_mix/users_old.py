"""Bench only: the locustfile's flows before issue #26 (the "old mix"), kept to compare its cost with the realistic one.

Frozen copy of openedx_locust/users.py as it was: one request per page plus one JSON call, a `/u/<username>` page and
a `learner` key Verawood does not have (those checks fail against the contract stand-in; the bench reports the
failures beside the cost). Shares the package's settings (account pool, course ids) so plugin.py drives it.
"""

import json
import logging
import random
import re

from locust import SequentialTaskSet, between, task
from locust.contrib.fasthttp import FastHttpUser
from locust.exception import StopUser
from openedx_locust import config, fixes
from openedx_locust.cookies import OriginCookieJar
from openedx_locust.users import Settings

logger = logging.getLogger("openedx_locust")

LOGIN_PATH = "/api/user/v2/account/login_session/"
LOGIN_ATTEMPTS = 3
PROGRAM_LINK = re.compile(r'href="/dashboard/programs/([0-9a-f-]{36})/"')


def _is_login_redirect(resp) -> bool:
    location = resp.headers.get("Location") or resp.headers.get("location") or ""
    return "/login" in location


def _json(resp):
    body = resp.content  # bytes: json.loads needs no str decode first
    try:
        return json.loads(body) if body else None
    except ValueError:
        return None


def _missing(payload, keys: tuple[str, ...]) -> list[str]:
    if not isinstance(payload, dict):
        return list(keys)
    return [k for k in keys if k not in payload]


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


class DashboardProfileAccount(FlowBase):
    """Dashboard -> Profile -> Account, with the JSON the micro-frontends load."""

    @task
    def dashboard(self):
        self.user.page("/dashboard", "/dashboard")
        self.user.get_json("/api/learner_home/init", "/api/learner_home/init", ("learner", "courses"), self._learner_is_me)

    @task
    def profile(self):
        me = self.user.account.username
        self.user.page(f"/u/{me}", "/u/[username]")
        self.user.get_json(f"/api/user/v1/accounts/{me}", "/api/user/v1/accounts/[username]", ("username", "email"), self._account_is_me)

    @task
    def account_settings(self):
        me = self.user.account.username
        self.user.page("/account/settings", "/account/settings")
        self.user.get_json(f"/api/user/v1/accounts/{me}", "/api/user/v1/accounts/[username]", ("username", "email"), self._account_is_me)
        self.user.get_json(f"/api/user/v1/preferences/{me}", "/api/user/v1/preferences/[username]", ())

    def _learner_is_me(self, data) -> str | None:
        learner = data.get("learner") or {}
        if learner.get("username") != self.user.account.username:
            return f"learner is {learner.get('username')!r}, expected {self.user.account.username!r}"
        return None if isinstance(data.get("courses"), list) else "courses is not a list"

    def _account_is_me(self, data) -> str | None:
        return None if data.get("username") == self.user.account.username else f"account of {data.get('username')!r}"


class Enrollment(FlowBase):
    """Enroll in a course through the enrollment API, then list my enrollments."""

    @task
    def enroll(self):
        self.user.enroll(random.choice(Settings.course_ids))

    @task
    def my_enrollments(self):
        with self.user.client.get("/api/enrollment/v1/enrollment", name="/api/enrollment/v1/enrollment", catch_response=True) as resp:
            data = _json(resp)
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
            elif not isinstance(data, list) or not all(isinstance(e, dict) and "course_details" in e for e in data):
                resp.failure("expected a JSON list of enrollments with course_details")


class Courseware(FlowBase):
    """View courses -> open a course -> start it (outline, courseware metadata, first sequence)."""

    course_id = ""
    first_sequence: str | None = None

    def on_start(self):
        self.course_id = random.choice(Settings.course_ids)
        self.first_sequence = None

    @task
    def courses(self):
        self.user.page("/courses", "/courses", login_required=False)

    @task
    def about(self):
        self.user.page(f"/courses/{self.course_id}/about", "/courses/[course_id]/about", login_required=False)

    @task
    def outline(self):
        data = self.user.get_json(f"/api/course_home/outline/{self.course_id}", "/api/course_home/outline/[course_id]", ("course_blocks",), self._has_sequence)
        self.first_sequence = self._sequence_of(data) if data else None

    @task
    def start(self):
        data = self.user.get_json(f"/api/courseware/course/{self.course_id}", "/api/courseware/course/[course_id]", ("id", "enrollment"), self._is_course)
        if data and not (data.get("enrollment") or {}).get("is_active"):
            self.user.enroll(self.course_id)  # the Learning MFE's "Enroll now" before the content shows
        if self.first_sequence:
            self.user.get_json(
                f"/api/courseware/sequence/{self.first_sequence}", "/api/courseware/sequence/[usage_id]", ("items", "item_id"), self._is_sequence
            )

    @staticmethod
    def _sequence_of(data) -> str | None:
        blocks = ((data or {}).get("course_blocks") or {}).get("blocks") or {}
        course = next((b for b in blocks.values() if b.get("type") == "course"), None)
        for chapter in (course or {}).get("children", []):
            for seq in blocks.get(chapter, {}).get("children", []):
                if blocks.get(seq, {}).get("type") == "sequential":
                    return seq
        return None

    def _has_sequence(self, data) -> str | None:
        return None if self._sequence_of(data) else "outline has no course -> chapter -> sequential block"

    def _is_course(self, data) -> str | None:
        return None if data.get("id") == self.course_id else f"course id {data.get('id')!r}, expected {self.course_id!r}"

    def _is_sequence(self, data) -> str | None:
        if data.get("item_id") != self.first_sequence:
            return f"sequence {data.get('item_id')!r}, expected {self.first_sequence!r}"
        return None if isinstance(data.get("items"), list) and data["items"] else "sequence has no items"


class Programs(FlowBase):
    """The programs dashboard, then the first program's progress when the page lists one."""

    program: str | None = None

    @task
    def programs(self):
        resp = self.user.page("/dashboard/programs/", "/dashboard/programs/")
        match = PROGRAM_LINK.search(resp.text or "") if resp is not None and resp.status_code == 200 else None
        self.program = match.group(1) if match else None

    @task
    def progress(self):
        if self.program:
            self.user.get_json(
                f"/api/dashboard/v0/programs/{self.program}/progress_details/",
                "/api/dashboard/v0/programs/[uuid]/progress_details/",
                ("program_data", "course_data"),
            )


FLOW_CLASSES = {
    "dashboard_profile_account": DashboardProfileAccount,
    "enrollment": Enrollment,
    "courseware": Courseware,
    "programs": Programs,
}


def weighted_tasks(weights: dict[str, int]) -> list:
    return [FLOW_CLASSES[name] for name, weight in weights.items() for _copy in range(weight)]


class LmsBehaviour:
    """Login and request helpers shared by the FastHttpUser and HttpUser variants."""

    wait_time = between(5, 15)
    tasks = weighted_tasks(config.parse_flow_weights(config.DEFAULT_FLOW_WEIGHTS))
    account: config.Account | None = None

    # -- cookies: FastHttpSession.cookiejar and requests.Session.cookies are both http.cookiejar jars
    def _jar(self):
        raise NotImplementedError

    def csrf_token(self) -> str:
        return self._jar().get("csrftoken") or ""

    def unsafe_headers(self, extra: dict | None = None) -> dict:
        """Django's CSRF contract: header token = current cookie, plus a same-origin Referer."""
        headers = {"X-CSRFToken": self.csrf_token(), "Referer": f"{self.host}/"}
        headers.update(extra or {})
        return headers

    def on_start(self):
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

    def login(self) -> bool:
        """GET login_session for the csrftoken cookie, POST the credentials; Django rotates the token on success."""
        with self.client.get(LOGIN_PATH, name=LOGIN_PATH, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code} (is --host an Open edX LMS?)")
                return False
            if not self.csrf_token():
                resp.failure("no csrftoken cookie set by login_session GET")
                return False
        before = self.csrf_token()
        with self.client.post(
            LOGIN_PATH,
            data={"email_or_username": self.account.email, "password": self.account.password},
            headers=self.unsafe_headers({"Content-Type": "application/x-www-form-urlencoded"}),
            name=LOGIN_PATH,
            catch_response=True,
        ) as resp:
            data = _json(resp)
            if resp.status_code == 200 and isinstance(data, dict) and data.get("success") is True:
                if self.csrf_token() == before:
                    resp.failure("login succeeded but the CSRF token was not rotated")
                    return False
                return True
            value = data.get("value") if isinstance(data, dict) else None
            if value and "Too many" in value:
                resp.failure(f"HTTP {resp.status_code} rate-limited login ({value}); see the ramp plan / LOGISTRATION_RATELIMIT_RATE")
            else:
                resp.failure(f"HTTP {resp.status_code} login failed for {self.account.username}: {value or (resp.text or '')[:120]}")
            return False

    def page(self, path: str, name: str, login_required: bool = True):
        """An LMS page: 200, or a redirect to its micro-frontend. A redirect to /login means the session was lost."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as resp:
            if resp.status_code in (301, 302) and _is_login_redirect(resp):
                resp.failure("redirected to login: session lost")
            elif resp.status_code not in (200, 301, 302):
                resp.failure(f"HTTP {resp.status_code}")
            elif resp.status_code == 200 and login_required and b"/login_session/" in (resp.content or b"")[:2000]:
                resp.failure("login form served instead of the page")
            return resp

    def get_json(self, path: str, name: str, keys: tuple[str, ...], check=None):
        """GET a JSON API; fail on status, shape (required keys) or the flow's own check. Returns the payload or None."""
        with self.client.get(path, name=name, headers={"Accept": "application/json", "USE-JWT-COOKIE": "true"}, catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
                return None
            data = _json(resp)
            missing = _missing(data, keys)
            if data is None or missing:
                resp.failure(f"expected JSON object with {', '.join(keys) or 'a body'}; missing {', '.join(missing) or 'JSON'}")
                return None
            problem = check(data) if check else None
            if problem:
                resp.failure(problem)
                return None
            return data

    def enroll(self, course_id: str) -> bool:
        with self.client.post(
            "/api/enrollment/v1/enrollment",
            data=json.dumps({"course_details": {"course_id": course_id}}),
            headers=self.unsafe_headers({"Content-Type": "application/json", "Accept": "application/json"}),
            name="/api/enrollment/v1/enrollment",
            catch_response=True,
        ) as resp:
            data = _json(resp)
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}: {(resp.text or '')[:120]}")
                return False
            details = data.get("course_details") if isinstance(data, dict) else None
            if not isinstance(details, dict) or details.get("course_id") != course_id or data.get("is_active") is not True:
                resp.failure(f"expected an active enrollment in {course_id}")
                return False
            return True


class OldLmsUser(LmsBehaviour, FastHttpUser):
    """The load-test user: FastHttpUser with one shared TLS context per process (defect (b) in fixes.py)."""

    abstract = False
    insecure = True  # the test targets may use self-signed certificates; set False (--tls-verify) to verify
    ssl_context_factory = staticmethod(fixes.shared_insecure_context)
    network_timeout = 60.0
    connection_timeout = 30.0

    def __init__(self, environment):
        super().__init__(environment)
        # One-origin jar instead of http.cookiejar.CookieJar: same cookies, a fraction of the CPU (cookies.py).
        self.client.cookiejar = self.client.client.cookiejar = OriginCookieJar()

    def _jar(self):
        return self.client.cookiejar
