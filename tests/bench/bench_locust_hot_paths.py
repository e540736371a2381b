"""Per-call cost of the worker hot paths our locustfile package replaces, stock Locust vs ours, side by side.

1. Cookie jar: http.cookiejar.CookieJar (what FastHttpUser uses) vs OriginCookieJar, per request after login.
2. TLS context: Locust's insecure_ssl_context_factory (a context + CA bundle per user) vs the shared context,
   per connection pool (one per user).
3. Spawn message: WorkerRunner's per-option default_args_dict() (a full argparse parser each) vs the cached one.

The unit tests prove the behaviour (same cookies, one context, no parser rebuilt); this measures what it saves.
Everything runs in one subprocess (Locust patches the process with gevent on import), CPU time per call.
"""

import json
import subprocess
import sys
from pathlib import Path

PKG_PARENT = Path(__file__).resolve().parents[2] / "roles" / "locust" / "files"

SCRIPT = """
import json, time
from types import SimpleNamespace
from http.cookiejar import CookieJar
from geventhttpclient.connectionpool import SSLConnectionPool
from geventhttpclient.header import Headers
from geventhttpclient.useragent import CompatRequest
from locust import argument_parser
from locust.contrib import fasthttp
from openedx_locust import fixes
from openedx_locust.cookies import OriginCookieJar

LMS = "https://lms.test:8443"

def response(*set_cookies):  # what the jars read of a response: info() -> its headers
    headers = Headers()
    for value in set_cookies:
        headers.add("Set-Cookie", value)
    return SimpleNamespace(info=lambda: headers)

def per_call(fn, n):
    fn()  # warm-up (first call fills caches on both sides)
    start = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - start) / n

def cookie_cost(jar):
    jar.extract_cookies(response("csrftoken=BBB; Path=/", "sessionid=S1; Path=/; HttpOnly"), CompatRequest(LMS + "/login", headers=Headers()))
    def one_request():
        req = CompatRequest(LMS + "/api/learner_home/init", headers=Headers())
        jar.add_cookie_header(req)
        jar.extract_cookies(response(), req)
    return per_call(one_request, 5000)

def pool_cost(factory, n):
    return per_call(lambda: SSLConnectionPool("127.0.0.1", 443, "127.0.0.1", 443, insecure=True, ssl_context_factory=factory), n)

def spawn_message_cost():
    opts = fixes._stock_default_args_dict()
    return per_call(lambda: {k: v for k, v in opts.items() if k not in argument_parser.default_args_dict() or k in ["expect_workers"]}, 5)

out = {
    "cookie": (cookie_cost(CookieJar()), cookie_cost(OriginCookieJar())),
    "tls": (pool_cost(fasthttp.insecure_ssl_context_factory, 30), pool_cost(fixes.shared_insecure_context, 300)),
}
stock_spawn = spawn_message_cost()
fixes.apply()
out["spawn"] = (stock_spawn, spawn_message_cost())
print(json.dumps(out))
"""

ROWS = (
    ("cookie", "cookie jar, per request after login"),
    ("tls", "TLS context, per user's connection pool"),
    ("spawn", "spawn message on a worker"),
)


def main() -> int:
    env = {"PYTHONPATH": str(PKG_PARENT), "PATH": "/usr/bin:/bin"}
    proc = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=False, env=env)
    if proc.returncode:
        print(proc.stderr[-2000:])
        return 1
    costs = json.loads(proc.stdout.strip().splitlines()[-1])
    width = max(len(r[1]) for r in ROWS)
    print(f"{'':{width}}  {'stock Locust':>14}  {'ours':>14}  ratio")
    rc = 0
    for key, label in ROWS:
        stock, ours = costs[key]
        ratio = stock / ours if ours > 0 else float("inf")
        print(f"{label:{width}}  {stock * 1e6:11.1f} us  {ours * 1e6:11.1f} us  {ratio:.1f}x")
        rc |= int(ours >= stock)  # a replacement that is not cheaper has no reason to exist
    return rc


if __name__ == "__main__":
    sys.exit(main())
