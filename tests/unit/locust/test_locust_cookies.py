"""The one-origin cookie jar: the cookie behaviour the LMS login needs (its CPU saving is measured by `make bench`)."""

from openedx_locust_testlib import run_python


def test_origin_cookie_jar_behaviour_and_cost():
    result = run_python(
        """
import json
from http.cookiejar import CookieJar
from geventhttpclient.header import Headers
from geventhttpclient.useragent import CompatRequest
from locust.contrib import fasthttp  # noqa: F401  (its CompatRequest patches that CookieJar needs)
from openedx_locust.cookies import OriginCookieJar

class Resp:
    def __init__(self, *cookies):
        self.headers = Headers()
        for c in cookies:
            self.headers.add("Set-Cookie", c)
    def info(self):
        return self.headers

LMS = "https://lms.test:8443"
def sent(jar, url=LMS + "/dashboard"):
    req = CompatRequest(url, headers=Headers())
    jar.add_cookie_header(req)
    return req.headers.get("Cookie")

jar = OriginCookieJar()
out = {"empty": sent(jar)}
jar.extract_cookies(Resp("csrftoken=AAA; Path=/; SameSite=Lax; Secure"), CompatRequest(LMS + "/api/user/v2/account/login_session/", headers=Headers()))
out["after_get"] = sent(jar)
jar.extract_cookies(Resp("csrftoken=BBB; Path=/", "sessionid=S1; Path=/; HttpOnly", 'edx-user-info="{\\\\"u\\\\": 1}"; Path=/'),
                    CompatRequest(LMS + "/api/user/v2/account/login_session/", headers=Headers()))
out["after_login"] = sent(jar)
out["csrf"] = jar.get("csrftoken")
out["other_origin"] = sent(jar, "https://apps.lms.test/learner-dashboard/")
out["other_port"] = sent(jar, "https://lms.test:9443/")
jar.extract_cookies(Resp("sessionid=evil; Path=/"), CompatRequest("https://apps.lms.test/", headers=Headers()))
jar.extract_cookies(Resp("edxloggedin=; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/"), CompatRequest(LMS + "/logout", headers=Headers()))
jar.extract_cookies(Resp('edx-user-info=""; expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/'), CompatRequest(LMS + "/logout", headers=Headers()))
out["after_delete"] = sent(jar)

import time
jar.extract_cookies(Resp("edx-jwt-cookie-header-payload=H.P; Max-Age=2; Path=/", "edx-jwt-cookie-signature=SIG; Max-Age=2; Path=/",
                         "later=1; expires=Fri, 01 Jan 2100 00:00:00 GMT; Path=/"), CompatRequest(LMS + "/login_refresh", headers=Headers()))
out["jwt_fresh"] = jar.get("edx-jwt-cookie-header-payload")
out["with_jwt"] = sent(jar)
real_time = time.time
time.time = lambda: real_time() + 3  # the JWT cookies' Max-Age has passed
out["jwt_expired"] = jar.get("edx-jwt-cookie-header-payload")
out["after_expiry"] = sent(jar)
time.time = real_time

req = CompatRequest(LMS + "/x", headers=Headers())
c = CookieJar()
c.extract_cookies(Resp("csrftoken=BBB; Path=/"), CompatRequest(LMS + "/", headers=Headers()))
c.add_cookie_header(req)
out["stock_sends"] = req.headers.get("Cookie")
print(json.dumps(out))
"""
    )
    assert result["empty"] is None
    assert result["after_get"] == "csrftoken=AAA"
    assert result["after_login"] == 'csrftoken=BBB; sessionid=S1; edx-user-info="{\\"u\\": 1}"', "rotated token replaces the old one"
    assert result["csrf"] == "BBB"
    assert result["other_origin"] is None and result["other_port"] is None, "cookies only go back to the LMS origin"
    assert result["after_delete"] == "csrftoken=BBB; sessionid=S1", "Django deletions (Max-Age=0) remove cookies; foreign ones are ignored"
    assert result["stock_sends"] == "csrftoken=BBB"  # the stock jar sends the same header for the same cookie
    assert result["jwt_fresh"] == "H.P" and "edx-jwt-cookie-signature=SIG" in result["with_jwt"]
    assert result["jwt_expired"] is None, "a cookie past its Max-Age is gone, as in a browser"
    assert result["after_expiry"] == "csrftoken=BBB; sessionid=S1; later=1", "expired cookies are no longer sent; far-future ones stay"
