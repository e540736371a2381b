"""The three load-generator defects: each test shows the defect on the stock code, then that the fix removes it.
(d), TLS session resumption, needs a real TLS edge: tests/integration/loadtest/test_locust_tls.py.

Each runs in a fresh interpreter because importing locust monkey-patches the process with gevent.
"""

from openedx_locust_testlib import run_python


def test_a_keep_alive_check_works_above_fd_1023():
    result = run_python(
        """
import json, os, resource, socket
from openedx_locust import fixes
from geventhttpclient import connectionpool
stock = connectionpool.ConnectionPool._is_socket_alive
soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 4096)), hard))
a, b = socket.socketpair()
high = socket.socket(fileno=os.dup2(a.fileno(), 1500))   # an idle, healthy keep-alive socket at fd 1500
low_a, low_b = socket.socketpair()
out = {
    "fd": high.fileno(),
    "stock_high": stock(None, high),
    "stock_low": stock(None, low_a),
    "fixed_high": fixes.is_socket_alive(None, high),
    "fixed_low": fixes.is_socket_alive(None, low_a),
}
b.close()                                          # the server closed the connection: must be seen as dead
out["fixed_high_after_peer_close"] = fixes.is_socket_alive(None, high)
low_b.sendall(b"junk")                             # unread data on an idle socket: dirty, not reusable
out["fixed_low_with_pending_data"] = fixes.is_socket_alive(None, low_a)
fixes.apply()
out["installed"] = connectionpool.ConnectionPool._is_socket_alive is fixes.is_socket_alive
print(json.dumps(out))
"""
    )
    assert result["fd"] >= 1024
    assert result["stock_low"] is True
    assert result["stock_high"] is False, "the defect: stock check calls a healthy fd>=1024 socket dead"
    assert result["fixed_high"] is True and result["fixed_low"] is True
    assert result["fixed_high_after_peer_close"] is False
    assert result["fixed_low_with_pending_data"] is False
    assert result["installed"] is True


def test_b_one_ssl_context_per_process_instead_of_per_user():
    result = run_python(
        """
import json
from geventhttpclient.connectionpool import SSLConnectionPool
from locust.contrib.fasthttp import insecure_ssl_context_factory
from openedx_locust import fixes

def pools(factory, n):
    return [SSLConnectionPool("127.0.0.1", 443, "127.0.0.1", 443, insecure=True, ssl_context_factory=factory) for _ in range(n)]

stock = pools(insecure_ssl_context_factory, 20)   # what every FastHttpUser does today
shared = pools(fixes.shared_insecure_context, 200)
print(json.dumps({
    "stock_contexts": len({id(p.ssl_context) for p in stock}),
    "stock_ca_certs": stock[0].ssl_context.cert_store_stats()["x509_ca"],
    "shared_contexts": len({id(p.ssl_context) for p in shared}),
    "shared_ca_certs": shared[0].ssl_context.cert_store_stats()["x509_ca"],
    "verified_is_separate": fixes.shared_verified_context(cafile=None) is not fixes.shared_insecure_context(),
}))
"""
    )
    assert result["stock_contexts"] == 20 and result["stock_ca_certs"] > 50, "the defect: a context + CA bundle per user"
    assert result["shared_contexts"] == 1 and result["shared_ca_certs"] == 0
    assert result["verified_is_separate"] is True


def test_c_spawn_message_no_longer_rebuilds_the_parser_per_option():
    result = run_python(
        """
import json
from locust import argument_parser
from openedx_locust import fixes

builds = []
stock_empty_parser = argument_parser.get_empty_argument_parser
def counting_empty_parser(*args, **kwargs):
    builds.append(1)
    return stock_empty_parser(*args, **kwargs)
argument_parser.get_empty_argument_parser = counting_empty_parser

def parsers_built_per_spawn_message():
    # runners.py WorkerRunner "spawn": one default_args_dict() call per option in the message
    opts = fixes._stock_default_args_dict()
    builds.clear()
    {k: v for k, v in opts.items() if k not in argument_parser.default_args_dict() or k in ["expect_workers"]}
    return len(builds), len(opts)

stock_builds, n_options = parsers_built_per_spawn_message()
fixes.apply()
parsers_built_per_spawn_message()              # the first message after start fills the cache
fixed_builds, _ = parsers_built_per_spawn_message()
d = argument_parser.default_args_dict()
d["mutated"] = 1
print(json.dumps({
    "options": n_options, "stock_builds": stock_builds, "fixed_builds": fixed_builds,
    "same_content": argument_parser.default_args_dict() == fixes._stock_default_args_dict(),
    "copy_is_isolated": "mutated" not in argument_parser.default_args_dict(),
}))
"""
    )
    assert result["options"] > 50
    assert result["stock_builds"] == result["options"], "the defect: a full argparse parser per option, per spawn message"
    assert result["fixed_builds"] == 0, "the defaults are computed once per process"
    assert result["same_content"] and result["copy_is_isolated"]


def test_c_master_keeps_a_missing_worker_missing_until_its_heartbeat():
    """The over-spawn half of (c): a spawning message must not revive a missing worker behind the dispatcher's back."""
    result = run_python(
        """
import json
from locust import runners
from openedx_locust import fixes

def scenario():
    node = runners.WorkerNode("w1")
    node.state = runners.STATE_RUNNING
    node.heartbeat = -1                          # heartbeats stopped: heartbeat_worker() marks it missing
    node.state = runners.STATE_MISSING
    node.state = runners.STATE_SPAWNING          # a late "spawning" message from that worker
    after_spawning_msg = node.state
    node.heartbeat = runners.HEARTBEAT_LIVENESS  # the heartbeat handler resets the counter, heals, sets the state
    node.state = runners.STATE_RUNNING
    return after_spawning_msg, node.state

stock = scenario()
fixes.apply()
fixed = scenario()
print(json.dumps({"stock": stock, "fixed": fixed}))
"""
    )
    assert result["stock"][0] == "spawning", "the defect: the worker leaves 'missing' without rejoining the dispatcher"
    assert result["fixed"] == ["missing", "running"]
