"""The route table (routes.py): every request the flows make comes from it and each row names its Verawood source.
(That docs/loadtest.md's LMS route table lists each of them with its source: tests/unit/sandbox/test_lms_routes.py.)"""

import re

from openedx_locust import routes
from openedx_locust_testlib import PKG_PARENT, run_python

SOURCES = ("openedx/frontend-platform@v8.7.1", "@release/verawood")


def test_every_route_names_its_release_source():
    names = [r.name for r in routes.ROUTES.values()]
    assert len(names) == len(set((r.method, r.name) for r in routes.ROUTES.values())), "one stats name per route"
    for key, route in routes.ROUTES.items():
        assert route.path.startswith("/") and "?" not in route.path, key
        assert route.source.startswith(SOURCES) or SOURCES[1] in route.source, f"{key}: {route.source}"
        assert route.method in ("GET", "POST", "PATCH"), key


def test_page_weight_names_table_routes_that_reach_django():
    """The sizing's page-weight class: routes of the table, none served without Django (Tutor's uwsgi.ini static-map
    answers /static/ itself) or from a cache alone."""
    assert routes.PAGE_WEIGHT <= set(routes.ROUTES), routes.PAGE_WEIGHT - set(routes.ROUTES)
    assert not routes.PAGE_WEIGHT & {"static", "mfe_config", "csrf_token", "event"}
    assert {"xblock", "login", "outline", "learner_home_init", "program_details"} <= routes.PAGE_WEIGHT


def test_flows_request_only_table_routes_and_use_all_of_them():
    """users.py builds every request from routes.ROUTES by key; no path literal bypasses the table."""
    source = (PKG_PARENT / "openedx_locust" / "users.py").read_text()
    used = set(re.findall(r'self\.call\(\s*"([a-z_]+)"', source)) | set(re.findall(r'_fail\(\s*"([a-z_]+)"', source))
    assert used - set(routes.ROUTES) == set(), "a call names a route the table does not have"
    assert set(routes.ROUTES) - used == set(), "a table route no flow requests"
    literals = re.findall(r'"(/(?:api|courses|xblock|dashboard|static|user_api|event|csrf|login)[^"]*)"', source)
    requests = [p for p in literals if "(" not in p and p not in ("/login", "/static/")]  # a regex, a Location test, a prefix
    assert requests == [], f"path literals outside routes.py: {requests}"


def test_page_parsing_and_jwt_expiry():
    out = run_python(
        r"""
import json
from openedx_locust import fixes
fixes.apply()
from openedx_locust import users
html = '''<link rel="stylesheet" href="/static/css/lms-course.css" type="text/css" media="all" />
<script type="text/javascript" src="/static/js/i18n/en/djangojs.js?v=1"></script>
<script src="https://cdn.example.com/x.js"></script><img src="/static/images/logo.png">
<div class="xblock xblock-student_view xblock-student_view-html" data-usage-id="block-v1:O+C+R+type@html+block@a1"
     data-block-type="html" data-mark-completed-on-view-after-delay="5">
<div class="xblock xblock-student_view xblock-student_view-video" data-usage-id="block-v1:O+C+R+type@video+block@v1" data-block-type="video">'''
refs = users.STATIC_REF.findall(html)
tags = [t for t in users.BLOCK_TAG.findall(html) if "data-mark-completed-on-view-after-delay" in t]
ids = [users.USAGE_ID.search(t).group(1) for t in tags]
import base64, time
payload = base64.urlsafe_b64encode(json.dumps({"exp": 1700000000, "preferred_username": "u"}).encode()).decode().rstrip("=")
print(json.dumps({"refs": refs, "ids": ids, "exp": users.jwt_expiry("eyJhbGciOiJSUzUxMiJ9." + payload),
                  "bad": [users.jwt_expiry(v) for v in (None, "", "x", "a.!!!")], "origin": users.mfe_origin_for("https://lms.example.com:8443")}))
"""
    )
    assert out["refs"] == ["/static/css/lms-course.css", "/static/js/i18n/en/djangojs.js?v=1"], "link/script under /static/ only"
    assert out["ids"] == ["block-v1:O+C+R+type@html+block@a1"], "only blocks the LMS completes on view"
    assert out["exp"] == 1700000000 and out["bad"] == [None, None, None, None]
    assert out["origin"] == "https://apps.lms.example.com:8443"


def test_page_totals_merge_worker_reports():
    out = run_python(
        """
import json
from openedx_locust import fixes
fixes.apply()
from openedx_locust.pages import PageTotals
worker, master = PageTotals(), PageTotals()
worker.record("dashboard", 120.0, 3, 3000, None)
worker.record("dashboard", 80.0, 3, 2000, "GET /api/learner_home/init: HTTP 500")
master.merge(json.loads(json.dumps(worker.drain())))
worker.record("dashboard", 100.0, 2, 1000, None)
master.merge(json.loads(json.dumps(worker.drain())))
print(json.dumps({"rows": master.rows(), "left": worker.rows()}))
"""
    )
    (row,) = out["rows"]
    assert row["Page"] == "dashboard" and row["Views"] == 3 and row["Failed views"] == 1
    assert row["Requests per view"] == round(8 / 3, 2) and row["Bytes per view"] == 2000
    assert out["left"] == [], "a drained worker starts its next report from zero"
