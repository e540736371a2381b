"""Workarounds for load-generator defects of Locust 2.47 / geventhttpclient 2.6 at 50k-user scale, and the TLS costs.

Each is small, applied once per process by ``apply()`` (the locustfile imports this before any user exists),
and covered by tests/unit/locust/test_fixes.py, which shows the defect on the stock code and its absence here.
"""

import functools
import select
import threading

import gevent.ssl
from gevent import monkey
from geventhttpclient import connectionpool
from locust import argument_parser, runners

_state = {"applied": False}
_lock = threading.Lock()


# --- (a) Defect: FastHttpUser loses keep-alive for every socket with fd >= 1024. ------------------------------------
# geventhttpclient checks a pooled socket with select.select(), which raises ValueError for fd >= FD_SETSIZE (1024);
# the error is swallowed, the socket is called dead and every request from then on opens a new TCP/TLS connection.
# poll() has no fd limit. We use the unpatched poll (timeout 0 never blocks) so the check costs no greenlet switch.
_original_poll = monkey.get_original("select", "poll")
_POLL_MASK = select.POLLIN | select.POLLPRI


def is_socket_alive(self, sock) -> bool:
    """An idle keep-alive socket is alive when it has nothing to read and no error/hang-up (any fd number)."""
    if sock is None:
        return False
    try:
        fd = sock.fileno()
        if fd < 0:
            return False
        poller = _original_poll()
        poller.register(fd, _POLL_MASK)
        return not poller.poll(0)
    except (OSError, ValueError):
        return False


# --- (b) Defect: one SSLContext + CA bundle per HTTPS user. ------------------------------------------------------------
# FastHttpSession gives every user its own connection pool, and geventhttpclient's init_ssl_context() calls the
# factory then load_verify_locations(certifi) for each: ~16 ms CPU and ~685 KB RSS per user (1.8 GB at 2,000 users).
# A factory that accepts ``cafile`` returns one context per process (per verification mode and CA file) instead.
_contexts: dict[tuple[bool, str | None], gevent.ssl.SSLContext] = {}
# TLS 1.2 cipher choice (TLS 1.3 suites are OpenSSL's, Python cannot set them): ECDHE only (forward secrecy, the
# cheap X25519/P-256 key exchange rather than finite-field DHE) and AES-128-GCM first (AES-NI, less work than
# AES-256 or ChaCha20 on x86). The edge's preference (ingress-nginx ssl-ciphers) wins where it insists on one.
TLS12_CIPHERS = "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE+AESGCM:ECDHE+CHACHA20"


def _shared_context(verify: bool, cafile: str | None) -> gevent.ssl.SSLContext:
    key = (verify, cafile if verify else None)
    ctx = _contexts.get(key)
    if ctx is None:
        with _lock:
            ctx = _contexts.get(key)
            if ctx is None:
                # The unverified context never loads the CA bundle: it would not be used.
                ctx = gevent.ssl.create_default_context(cafile=cafile) if verify else gevent.ssl._create_unverified_context()
                if TLS12_CIPHERS:
                    ctx.set_ciphers(TLS12_CIPHERS)
                _contexts[key] = ctx
    return ctx


def shared_insecure_context(cafile=None, **_ignored) -> gevent.ssl.SSLContext:
    """ssl_context_factory for FastHttpUser with ``insecure = True`` (Locust's default): one context per process."""
    return _shared_context(False, None)


def shared_verified_context(cafile=None, **_ignored) -> gevent.ssl.SSLContext:
    """ssl_context_factory for FastHttpUser with ``insecure = False``: one verifying context per CA file."""
    return _shared_context(True, cafile)


# --- (c) Defect: every spawn message costs a worker ~0.1 CPU-second. ----------------------------------------------------
# WorkerRunner handles "spawn" with a dict comprehension that calls argument_parser.default_args_dict() once per
# option (~80 calls, each building a full argparse parser). The master sends ~1 spawn message per worker per second
# while ramping; with 50 workers the CPU burn starves heartbeats, workers turn "missing", and the master over-spawns
# (59,200 users for a 50,000 target). The defaults never change within a process, so compute them once; callers get
# a copy so nobody can alter the cached dict.
_stock_default_args_dict = argument_parser.default_args_dict


@functools.lru_cache(maxsize=1)
def _cached_default_args() -> dict:
    return _stock_default_args_dict()


def cached_default_args_dict() -> dict:
    return dict(_cached_default_args())


# The master side of (c): once a worker is marked missing, a "spawning"/"spawning_complete" message from it sets its
# state back to spawning/running without re-adding it to the users dispatcher (only the heartbeat handler does
# that, and only while the state is still "missing"). The master keeps re-dispatching that worker's share to the
# others while it still runs its users: permanent over-spawn. Keep such a worker "missing" until its next heartbeat
# (the heartbeat handler resets the counter first, then heals the worker properly and rebalances).
def _get_state(self):
    return self.__dict__["_state"]


def _set_state(self, value):
    if self.__dict__.get("_state") == runners.STATE_MISSING and value != runners.STATE_MISSING and getattr(self, "heartbeat", 1) < 0:
        return
    self.__dict__["_state"] = value


missing_state_guard = property(_get_state, _set_state)


# --- (d) Cost: every reconnect of a user is a full TLS handshake. -------------------------------------------------------
# SSLConnectionPool wraps each new socket without the session of the one before, so whenever the edge closes an idle
# keep-alive connection (an idle timeout shorter than a think time, keep-alive-requests reached, a load balancer's
# idle timeout) the user pays a full handshake again (key exchange + certificate signature), on both sides. A browser
# resumes its own session (ticket or session id); so does our user now: its pool keeps the session of its last
# connection and offers it on the next. Per pool = per user, never another learner's session, so the edge still sees
# one full handshake per learner, like the real audience.
_stock_connect_socket = connectionpool.SSLConnectionPool._connect_socket
_stock_return_socket = connectionpool.SSLConnectionPool.return_socket


def resuming_connect_socket(self, sock, address):
    """SSLConnectionPool._connect_socket offering the pool's last TLS session (plain TCP connect + proxy as stock)."""
    sock = connectionpool.ConnectionPool._connect_socket(self, sock, address)
    if self._use_proxy:
        self._setup_proxy(sock)
    server_hostname = self.ssl_options.get("server_hostname", self._request_host)
    return self.ssl_context.wrap_socket(sock, server_hostname=server_hostname, session=self.__dict__.get("_tls_session"))


def session_keeping_return_socket(self, sock) -> None:
    """return_socket that keeps the session of a new connection once (TLS 1.3 tickets arrive with the first reply)."""
    if not getattr(sock, "_openedx_session_kept", False):
        try:
            self.__dict__["_tls_session"] = sock.session
            sock._openedx_session_kept = True
        except (AttributeError, ValueError, OSError):
            pass
    _stock_return_socket(self, sock)


def apply() -> None:
    """Install (a), (c) and its master-side guard, (d) process-wide; (b) is the user class's ``ssl_context_factory``. Idempotent."""
    with _lock:
        if _state["applied"]:
            return
        connectionpool.ConnectionPool._is_socket_alive = is_socket_alive
        argument_parser.default_args_dict = cached_default_args_dict
        runners.WorkerNode.state = missing_state_guard
        connectionpool.SSLConnectionPool._connect_socket = resuming_connect_socket
        connectionpool.SSLConnectionPool.return_socket = session_keeping_return_socket
        _state["applied"] = True
