"""The LMS stand-in speaks the contract strictly: a permissive echo would let a broken locustfile pass."""

import subprocess
import sys

import pytest
import requests

from tests.sandbox.lms import StandIn
from tests.sandbox.lms.app import FixedWindowLimiter

LOGIN = "/api/user/v2/account/login_session/"
COURSE = "course-v1:OpenedX+DemoX+DemoCourse"


@pytest.fixture
def session(standin):
    s = requests.Session()
    s.trust_env = False  # REQUESTS_CA_BUNDLE in the environment would replace our CA
    s.verify = standin.cert  # the stand-in's generated self-signed certificate (SAN 127.0.0.1)
    s.base = standin.url
    yield s
    s.close()


def login(s, username="loaduser000151", password="Load-Test-Pass-1"):
    s.get(s.base + LOGIN)
    token = s.cookies["csrftoken"]
    resp = s.post(s.base + LOGIN, data={"email_or_username": username, "password": password}, headers={"X-CSRFToken": token, "Referer": s.base + "/"})
    return token, resp


def test_login_sets_csrf_then_rotates_it_and_sets_a_session(session):
    old, resp = login(session)
    assert resp.status_code == 200 and resp.json()["success"] is True
    assert session.cookies["csrftoken"] != old, "Django rotates the CSRF token at login"
    assert session.cookies.get("sessionid")
    body = {"course_details": {"course_id": COURSE}}
    stale = session.post(session.base + "/api/enrollment/v1/enrollment", json=body, headers={"X-CSRFToken": old, "Referer": session.base + "/"})
    assert stale.status_code == 403 and "CSRF" in stale.json()["detail"]
    fresh = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": session.base + "/"}
    ok = session.post(session.base + "/api/enrollment/v1/enrollment", json=body, headers=fresh)
    assert ok.status_code == 200 and ok.json()["course_details"]["course_id"] == COURSE and ok.json()["is_active"] is True


def test_post_without_csrf_header_or_referer_is_forbidden(session):
    session.get(session.base + LOGIN)
    token = session.cookies["csrftoken"]
    creds = {"email_or_username": "loaduser000152", "password": "Load-Test-Pass-1"}
    assert session.post(session.base + LOGIN, data=creds, headers={"Referer": session.base + "/"}).status_code == 403
    assert session.post(session.base + LOGIN, data=creds, headers={"X-CSRFToken": token}).status_code == 403
    wrong_origin = {"X-CSRFToken": token, "Referer": "https://evil.example/"}
    assert session.post(session.base + LOGIN, data=creds, headers=wrong_origin).status_code == 403
    assert session.post(session.base + LOGIN, data=creds, headers={"X-CSRFToken": "x" * 32, "Referer": session.base + "/"}).status_code == 403


def test_wrong_password_is_400_like_the_lms(session):
    resp = login(session, password="wrong")[1]
    assert resp.status_code == 400
    assert resp.json()["success"] is False and resp.json()["error_code"] == "incorrect-email-or-password"
    assert "sessionid" not in session.cookies


def test_no_session_gives_401_on_apis_and_a_login_redirect_on_pages(session):
    for path in ("/api/learner_home/init", "/api/user/v1/accounts/loaduser000151", f"/api/courseware/course/{COURSE}"):
        assert session.get(session.base + path).status_code == 401, path
    for path in ("/dashboard", "/account/settings", "/u/loaduser000151", "/dashboard/programs/"):
        resp = session.get(session.base + path, allow_redirects=False)
        assert resp.status_code == 302 and resp.headers["Location"].startswith("/login?next="), path
    assert session.get(session.base + "/courses").status_code == 200  # the catalog is public


def test_bad_enrollment_body_is_400(session):
    login(session, "loaduser000153")
    headers = {"X-CSRFToken": session.cookies["csrftoken"], "Referer": session.base + "/"}
    url = session.base + "/api/enrollment/v1/enrollment"
    assert session.post(url, json={"course_id": COURSE}, headers=headers).status_code == 400
    assert session.post(url, json={"course_details": {"course_id": "course-v1:No+Such+Course"}}, headers=headers).status_code == 400
    assert session.post(url, data="not json", headers={**headers, "Content-Type": "application/json"}).status_code == 400


def test_courseware_shapes_and_enrollment_gate(session):
    login(session, "loaduser000154")
    outline = session.get(f"{session.base}/api/course_home/outline/{COURSE}").json()
    blocks = outline["course_blocks"]["blocks"]
    course = next(b for b in blocks.values() if b["type"] == "course")
    sequence = blocks[blocks[course["children"][0]]["children"][0]]
    assert sequence["type"] == "sequential"
    url = f"{session.base}/api/courseware/sequence/{sequence['id']}"
    assert session.get(url).status_code == 403, "content needs an enrollment"
    session.post(
        session.base + "/api/enrollment/v1/enrollment",
        json={"course_details": {"course_id": COURSE}},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": session.base + "/"},
    )
    seq = session.get(url).json()
    assert seq["item_id"] == sequence["id"] and len(seq["items"]) == 2
    home = session.get(session.base + "/api/learner_home/init").json()
    assert home["learner"]["username"] == "loaduser000154" and home["courses"][0]["courseRun"]["courseId"] == COURSE


def test_stats_count_hits_per_route(standin, session):
    before = standin.stats()["routes"].get("GET /courses/<course_id>/about", {}).get("200", 0)
    session.get(f"{session.base}/courses/{COURSE}/about")
    assert standin.stats()["routes"]["GET /courses/<course_id>/about"]["200"] == before + 1


def test_fixed_window_limiter():
    limiter = FixedWindowLimiter((3, 60))
    assert [limiter.hit("10.0.0.1", now=1000.0) for _i in range(4)] == [False, False, False, True]
    assert limiter.hit("10.0.0.2", now=1000.0) is False  # per key
    assert limiter.hit("10.0.0.1", now=1000.0 + 60) is False  # next window


def test_login_rate_limit_per_email(tmp_path, accounts_csv):
    with StandIn(tmp_path, accounts_csv, extra_args=["--login-rate-limit-email", "2/1m"]) as lms:
        s = requests.Session()
        s.base = lms.url
        codes = [login(s, "loaduser000155")[1].status_code for _i in range(3)]
        assert codes == [200, 200, 400]
        assert lms.stats()["logins"]["rate_limited"] == 1


def test_bad_configuration_is_refused(tmp_path):
    (tmp_path / "u.csv").write_text("a,b\n")
    cmd = [sys.executable, "-m", "tests.sandbox.lms", "--port", "0", "--users-csv", str(tmp_path / "u.csv")]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    assert proc.returncode == 2 and "expected username,email,password" in proc.stderr
    proc = subprocess.run(
        [sys.executable, "-m", "tests.sandbox.lms", "--users-csv", "x.csv", "--login-rate-limit-ip", "fast"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 2 and "--login-rate-limit-ip" in proc.stderr
