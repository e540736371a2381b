"""The LMS stand-in keeps the contract of openedx-platform at release/verawood (tests/sandbox/lms/routes.py names the
file each rule comes from): a permissive echo would let a broken locustfile pass."""

import base64
import json
import subprocess
import sys
import time
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
import requests

from tests.sandbox.lms import StandIn, write_users_csv
from tests.sandbox.lms.app import JWT_IN_COOKIE_EXPIRATION, SESSION_COOKIE_AGE, FixedWindowLimiter, Lms, Request, load_users
from tests.sandbox.lms.edx_platform import ACCOUNTS_ENV, PLATFORM

LOGIN = "/api/user/v2/account/login_session/"
COURSE = "course-v1:OpenedX+DemoX+DemoCourse"
PASSWORD = "Load-Test-Pass-1"


@pytest.fixture(scope="module")
def accounts_csv(tmp_path_factory):
    return write_users_csv(tmp_path_factory.mktemp("lms") / "users.csv", 50)


@pytest.fixture(scope="module")
def standin(tmp_path_factory, accounts_csv):
    with StandIn(tmp_path_factory.mktemp("lms-run"), accounts_csv, tls=True, enroll=()) as lms:
        yield lms


class Browser(requests.Session):
    """A learner's browser on an MFE page: cookies, the MFE origin on API calls, the CSRF token from the API."""

    def __init__(self, standin):
        super().__init__()
        self.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace our CA
        self.verify = standin.cert
        self.base = standin.url
        self.mfe = "https://apps." + standin.url.split("://", 1)[1]

    def api(self, method, path, **kw):
        headers = {"USE-JWT-COOKIE": "true", "Origin": self.mfe, "Referer": self.mfe + "/", **kw.pop("headers", {})}
        if method not in ("GET", "HEAD"):
            headers.setdefault("X-CSRFToken", self.token())
        return self.request(method, self.base + path, headers=headers, allow_redirects=False, **kw)

    def token(self):
        return self.get(self.base + "/csrf/api/v1/token", headers={"USE-JWT-COOKIE": "true"}).json()["csrfToken"]

    def login(self, username, password=PASSWORD):
        token = self.token()
        return self.post(
            self.base + LOGIN,
            data={"email_or_username": username, "password": password},
            headers={"X-CSRFToken": token, "Origin": self.mfe, "Referer": self.mfe + "/authn/login"},
        )


@pytest.fixture
def browser(standin):
    with Browser(standin) as b:
        yield b


def set_cookies(resp) -> dict[str, SimpleCookie]:
    out = {}
    for header in resp.raw.headers.getlist("Set-Cookie"):
        jar = SimpleCookie()
        jar.load(header)
        out.update(jar)
    return out


def enroll(b, course=COURSE):
    return b.api("POST", "/api/enrollment/v1/enrollment", json={"course_details": {"course_id": course}})


def test_login_rotates_csrf_and_sets_session_and_jwt_cookies_with_their_lifetimes(browser):
    before = browser.token()
    resp = browser.login("loaduser000001")
    assert resp.status_code == 200 and resp.json() == {"success": True, "redirect_url": browser.base + "/dashboard"}
    cookies = set_cookies(resp)
    assert cookies["csrftoken"].value != before, "django.contrib.auth.login rotates the CSRF token"
    assert int(cookies["edx-jwt-cookie-header-payload"]["max-age"]) == JWT_IN_COOKIE_EXPIRATION == 3600
    assert int(cookies["edx-jwt-cookie-signature"]["max-age"]) == 3600 and cookies["edx-jwt-cookie-signature"]["httponly"]
    assert not cookies["edx-jwt-cookie-header-payload"]["httponly"], "frontend-platform reads the header-payload cookie"
    for name in ("sessionid", "edxloggedin", "edx-user-info"):
        assert int(cookies[name]["max-age"]) == SESSION_COOKIE_AGE, name
    assert json.loads(cookies["edx-user-info"].value)["username"] == "loaduser000001"
    payload = cookies["edx-jwt-cookie-header-payload"].value.split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert abs(claims["exp"] - (time.time() + 3600)) < 60 and claims["preferred_username"] == "loaduser000001"
    # the pre-login token no longer passes
    stale = browser.api("POST", "/api/enrollment/v1/enrollment", json={"course_details": {"course_id": COURSE}}, headers={"X-CSRFToken": before})
    assert stale.status_code == 403 and "CSRF" in stale.json()["detail"]


def test_csrf_needs_cookie_header_and_a_trusted_origin(browser):
    token = browser.token()
    creds = {"email_or_username": "loaduser000002", "password": PASSWORD}
    url = browser.base + LOGIN
    assert browser.post(url, data=creds, headers={"Origin": browser.mfe}).status_code == 403  # no header
    assert browser.post(url, data=creds, headers={"X-CSRFToken": token}).status_code == 403  # HTTPS: no Origin/Referer
    assert browser.post(url, data=creds, headers={"X-CSRFToken": token, "Origin": "https://evil.example"}).status_code == 403
    assert browser.post(url, data=creds, headers={"X-CSRFToken": "x" * 32, "Origin": browser.mfe}).status_code == 403
    assert browser.post(url, data=creds, headers={"X-CSRFToken": token, "Origin": browser.mfe}).status_code == 200
    # login_refresh is csrf_exempt; /event is not
    assert browser.post(browser.base + "/login_refresh").status_code == 200
    assert browser.post(browser.base + "/event", data={"event_type": "x", "event": "{}"}).status_code == 403


def test_wrong_password_is_400_like_the_lms(browser):
    resp = browser.login("loaduser000003", password="wrong")
    assert resp.status_code == 400
    assert resp.json()["success"] is False and resp.json()["error_code"] == "incorrect-email-or-password"
    assert "sessionid" not in browser.cookies


def test_login_refresh_401_without_a_session_and_new_jwt_with_one(browser):
    resp = browser.post(browser.base + "/login_refresh")
    assert resp.status_code == 401 and resp.json() == "Unauthorized"
    browser.login("loaduser000004")
    resp = browser.post(browser.base + "/login_refresh")
    assert resp.status_code == 200 and {"success", "user_id", "response_epoch_seconds", "expires_epoch_seconds"} <= set(resp.json())
    assert int(set_cookies(resp)["edx-jwt-cookie-header-payload"]["max-age"]) == 3600


def test_an_expired_jwt_is_401_even_with_a_session():
    users = {"ann": {"username": "ann", "email": "ann@example.com", "password": "p", "id": 1}}
    lms = Lms(users, [COURSE])
    header_payload, signature = lms.make_jwt(users["ann"], now=time.time() - JWT_IN_COOKIE_EXPIRATION - 5)
    lms.sessions["s1"] = "ann"
    cookie = f"sessionid=s1; edx-jwt-cookie-header-payload={header_payload}; edx-jwt-cookie-signature={signature}"
    req = Request("GET", "/api/learner_home/init", "", {"host": "lms", "cookie": cookie, "use-jwt-cookie": "true"}, b"", "10.0.0.1", False)
    resp = lms.handle(req)
    assert resp.status == 401 and json.loads(resp.body)["detail"] == "Signature has expired."
    req.headers.pop("use-jwt-cookie")  # without the header the JWT cookie is not used: the session authenticates
    assert lms.handle(req).status == 200


def test_no_credentials_give_401_on_apis_and_a_login_redirect_on_login_required_pages(browser):
    for path in ("/api/learner_home/init", "/api/user/v1/accounts/loaduser000005", f"/api/courseware/course/{COURSE}", f"/api/course_home/outline/{COURSE}"):
        assert browser.api("GET", path).status_code == 401, path
    for path in ("/dashboard", "/dashboard/programs/", f"/courses/{COURSE}/courseware"):
        resp = browser.get(browser.base + path, allow_redirects=False)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next="), path


def test_legacy_pages_redirect_to_their_mfes(browser):
    resp = browser.get(browser.base + "/account/settings", allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"] == browser.mfe + "/account/", "RedirectView, no login"
    resp = browser.get(browser.base + "/courses", allow_redirects=False)
    assert resp.status_code == 301 and resp.headers["Location"] == browser.mfe + "/catalog/"
    browser.login("loaduser000006")
    resp = browser.get(browser.base + "/dashboard", allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"] == browser.mfe + "/learner-dashboard/"
    resp = browser.get(browser.base + "/login", allow_redirects=False)
    assert resp.status_code == 302 and resp.headers["Location"] == browser.mfe + "/authn/login"


def test_legacy_profile_page_is_gone(browser):
    """openedx-platform PR #36219 removed the legacy profile: /u/<username> resolves to nothing, logged in or not."""
    assert browser.get(browser.base + "/u/loaduser000007", allow_redirects=False).status_code == 404
    browser.login("loaduser000007")
    assert browser.get(browser.base + "/u/loaduser000007", allow_redirects=False).status_code == 404
    assert browser.get(browser.base + "/u/loaduser000007/", allow_redirects=False).status_code == 404


def test_learner_home_has_the_release_keys_and_no_learner_key(browser):
    browser.login("loaduser000008")
    data = browser.api("GET", "/api/learner_home/init").json()
    assert set(data) == {"emailConfirmation", "enterpriseDashboard", "platformSettings", "courses", "socialShareSettings", "suggestedCourses"}


def test_outline_is_null_until_enrolled_and_content_needs_the_enrollment(browser):
    browser.login("loaduser000009")
    outline = browser.api("GET", f"/api/course_home/outline/{COURSE}").json()
    assert outline["course_blocks"] is None and outline["enroll_alert"]["can_enroll"] is True
    assert browser.api("GET", f"/api/learning_sequences/v1/course_outline/{COURSE}").json()["outline"]["sections"] == []
    seq = "block-v1:OpenedX+DemoX+DemoCourse+type@sequential+block@sequence_0_0"
    assert browser.api("GET", f"/api/courseware/sequence/{seq}").status_code == 403
    resp = enroll(browser)
    assert resp.status_code == 200 and resp.json()["course_details"]["course_id"] == COURSE and resp.json()["is_active"] is True
    blocks = browser.api("GET", f"/api/course_home/outline/{COURSE}").json()["course_blocks"]["blocks"]
    assert blocks[seq]["type"] == "sequential"
    data = browser.api("GET", f"/api/courseware/sequence/{seq}").json()
    assert data["item_id"] == seq and len(data["items"]) == 2 and data["save_position"] is True
    home = browser.api("GET", "/api/learner_home/init").json()
    assert home["courses"][0]["courseRun"]["courseId"] == COURSE


def test_unit_render_static_files_and_completion(browser):
    browser.login("loaduser000010")
    enroll(browser)
    unit = "block-v1:OpenedX+DemoX+DemoCourse+type@vertical+block@unit_0_0_0"
    seq = "block-v1:OpenedX+DemoX+DemoCourse+type@sequential+block@sequence_0_0"
    resp = browser.get(f"{browser.base}/xblock/{unit}?view=student_view&show_title=0", headers={"Referer": browser.mfe + "/learning/"})
    assert resp.status_code == 200 and "data-mark-completed-on-view-after-delay" in resp.text
    assert browser.get(f"{browser.base}/xblock/{unit}?view=studio_view").status_code == 400
    statics = [part.split('"', 1)[0] for part in resp.text.split('="/static/')[1:]]
    assert statics and all(browser.get(f"{browser.base}/static/{s}").status_code == 200 for s in statics)
    assert browser.get(f"{browser.base}/static/no/such.js").status_code == 404
    ajax = {"X-CSRFToken": browser.cookies["csrftoken"], "Origin": browser.base, "X-Requested-With": "XMLHttpRequest"}
    handler = f"{browser.base}/courses/{COURSE}/xblock/{{}}/handler/{{}}"
    assert browser.post(handler.format(seq, "get_completion"), json={"usage_key": unit}, headers=ajax).json() == {"complete": False}
    for leaf in ("html_0_0_0_0", "html_0_0_0_1"):
        leaf_id = f"block-v1:OpenedX+DemoX+DemoCourse+type@html+block@{leaf}"
        assert leaf_id in resp.text
        done = browser.post(handler.format(leaf_id, "publish_completion"), json={"completion": 1.0}, headers=ajax)
        assert done.status_code == 200 and done.json() == {"result": "ok"}
    assert browser.post(handler.format(seq, "get_completion"), json={"usage_key": unit}, headers=ajax).json() == {"complete": True}
    assert browser.post(handler.format(seq, "goto_position"), json={"position": 2}, headers=ajax).json() == {"success": True}
    assert browser.post(handler.format(seq, "get_completion"), json={"usage_key": unit}, headers={"Origin": browser.base}).status_code == 403
    resume = browser.api("GET", f"/api/courseware/resume/{COURSE}").json()
    assert resume["unit_id"] == unit and resume["section_id"] == seq


def test_programs_pages_list_the_cached_program(browser):
    browser.login("loaduser000011")
    enroll(browser)
    page = browser.get(browser.base + "/dashboard/programs/", allow_redirects=False)
    assert page.status_code == 200
    link = page.text.split('href="/dashboard/programs/', 1)[1].split('"', 1)[0]
    assert browser.get(f"{browser.base}/dashboard/programs/{link}", allow_redirects=False).status_code == 200
    assert browser.get(f"{browser.base}/dashboard/programs/00000000-0000-0000-0000-000000000000/", allow_redirects=False).status_code == 404


def test_programs_are_404_without_discovery(tmp_path, accounts_csv):
    with StandIn(tmp_path, accounts_csv, programs=False, enroll=()) as lms, Browser(lms) as b:
        b.login("loaduser000012")
        assert b.get(b.base + "/dashboard/programs/", allow_redirects=False).status_code == 404


def test_preferences_patch_is_merge_patch_and_204(browser):
    browser.login("loaduser000013")
    url = "/api/user/v1/preferences/loaduser000013"
    assert browser.api("PATCH", url, data=json.dumps({"account_privacy": "all_users"}), headers={"Content-Type": "application/json"}).status_code == 415
    resp = browser.api("PATCH", url, data=json.dumps({"account_privacy": "all_users"}), headers={"Content-Type": "application/merge-patch+json"})
    assert resp.status_code == 204
    assert browser.api("GET", url).json()["account_privacy"] == "all_users"
    assert browser.api("GET", "/api/user/v1/preferences/loaduser000014").status_code == 403


def test_mfe_config_is_cached_one_second_and_unknown_routes_are_404_or_405(browser):
    resp = browser.get(browser.base + "/api/mfe_config/v1?mfe=learning")
    assert resp.status_code == 200 and resp.headers["Cache-Control"] == "max-age=1" and resp.json()["LMS_BASE_URL"] == browser.base
    assert browser.get(browser.base + "/api/no/such/route").status_code == 404
    assert browser.put(browser.base + "/api/learner_home/init").status_code == 405


def test_bad_enrollment_bodies_are_400_and_the_per_user_throttle_is_429(tmp_path, accounts_csv):
    with StandIn(tmp_path, accounts_csv, enroll=(), extra_args=["--enrollment-rate-limit", "3/m"]) as lms, Browser(lms) as b:
        b.login("loaduser000015")
        url = "/api/enrollment/v1/enrollment"
        assert b.api("POST", url, json={"course_id": COURSE}).status_code == 400
        assert b.api("POST", url, json={"course_details": {"course_id": "course-v1:No+Such+Course"}}).status_code == 400
        assert b.api("POST", url, data="not json", headers={"Content-Type": "application/json"}).status_code == 400
        resp = b.api("POST", url, json={"course_details": {"course_id": COURSE}})
        assert resp.status_code == 429 and "throttled" in resp.json()["detail"]


def test_login_rate_limits_per_email_and_mfe_context_per_ip(tmp_path, accounts_csv):
    args = ["--login-rate-limit-email", "2/1m", "--mfe-context-rate-limit", "2/m"]
    with StandIn(tmp_path, accounts_csv, extra_args=args) as lms, Browser(lms) as b:
        codes = [b.login("loaduser000016").status_code for _i in range(3)]
        assert codes == [200, 200, 400]
        assert lms.stats()["logins"]["rate_limited"] == 1
        b.cookies.clear()
        assert [b.get(b.base + "/api/mfe_context").status_code for _i in range(3)] == [200, 200, 429]


def test_seeded_state_enrolls_and_caches_programs(tmp_path, accounts_csv):
    """What seeding does through the LMS container's manage.py (import, create_test_users --course, cache_programs)
    reaches the HTTP side (--state): the first course visit is an enrolled learner's, the program page lists it."""
    state = tmp_path / "accounts.json"
    env = {ACCOUNTS_ENV: str(state), "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin"}

    def manage(*args):
        run = subprocess.run(["./manage.py", *args], cwd=PLATFORM, env=env, capture_output=True, text=True, check=False)
        assert run.returncode == 0, run.stderr

    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "course.xml").write_text('<course url_name="DemoCourse" org="OpenedX" course="DemoX"/>')
    manage("cms", "import", str(tmp_path), "demo")
    manage("lms", "create_test_users", "--course", COURSE, "--password", PASSWORD, "loaduser000017")
    program = {"uuid": "1f2e3d4c-0000-4000-8000-000000000001", "title": "Seeded", "courses": [{"key": "OpenedX+DemoX", "course_runs": [{"key": COURSE}]}]}
    state.write_text(json.dumps({**json.loads(state.read_text()), "discovery": {"programs": [program]}}))  # course discovery's side
    manage("lms", "cache_programs")
    with StandIn(tmp_path, accounts_csv, programs=False, enroll=(), state=state) as lms, Browser(lms) as b:
        b.login("loaduser000017")
        assert b.api("GET", f"/api/course_home/outline/{COURSE}").json()["course_blocks"] is not None
        assert f"/dashboard/programs/{program['uuid']}/" in b.get(b.base + "/dashboard/programs/").text
        b2 = Browser(lms)
        b2.login("loaduser000018")  # not seeded with --course
        assert b2.api("GET", f"/api/course_home/outline/{COURSE}").json()["course_blocks"] is None


def test_by_default_the_stand_in_is_a_seeded_platform(tmp_path, accounts_csv):
    with StandIn(tmp_path, accounts_csv) as lms, Browser(lms) as b:
        b.login("loaduser000019")
        assert b.api("GET", f"/api/course_home/outline/{COURSE}").json()["course_blocks"] is not None
        assert 'href="/dashboard/programs/' in b.get(b.base + "/dashboard/programs/").text


def test_fixed_window_limiter():
    limiter = FixedWindowLimiter((3, 60))
    assert [limiter.hit("10.0.0.1", now=1000.0) for _i in range(4)] == [False, False, False, True]
    assert limiter.hit("10.0.0.2", now=1000.0) is False  # per key
    assert limiter.hit("10.0.0.1", now=1000.0 + 60) is False  # next window


def test_stats_count_hits_per_route(standin, browser):
    before = standin.stats()["routes"].get("GET /courses/<course_id>/about", {}).get("200", 0)
    browser.get(f"{browser.base}/courses/{COURSE}/about")
    assert standin.stats()["routes"]["GET /courses/<course_id>/about"]["200"] == before + 1


def test_bad_configuration_is_refused(tmp_path, accounts_csv):
    (tmp_path / "u.csv").write_text("a,b\n")
    cmd = [sys.executable, "-m", "tests.sandbox.lms", "--port", "0", "--users-csv", str(tmp_path / "u.csv")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "expected username,email,password" in proc.stderr
    for flag in ("--login-rate-limit-ip", "--enrollment-rate-limit"):
        proc = subprocess.run([sys.executable, "-m", "tests.sandbox.lms", "--users-csv", "x.csv", flag, "fast"], capture_output=True, text=True, check=False)
        assert proc.returncode == 2 and flag in proc.stderr
    cmd = [sys.executable, "-m", "tests.sandbox.lms", "--port", "0", "--users-csv", str(accounts_csv), "--enroll", "course-v1:No+Such+Run"]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "is not one of --courses" in proc.stderr
    assert load_users(accounts_csv)["loaduser000000"]["email"] == "loaduser000000@example.com"
