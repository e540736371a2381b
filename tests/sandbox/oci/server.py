"""The HTTP server: one base URL serving Identity, Compute and Container Engine as OCI does.

Request pipeline (`Handler._dispatch`):
  1. route lookup; /_sandbox/* control endpoints skip everything below;
  2. signature verification (401 NotAuthenticated), then unknown route -> 404 NotAuthorizedOrNotFound;
  3. under the store lock: the client's reported sleep advances the clock, the fast clock
     charges the request, due events run, the call is counted;
  4. 429 throttling, then a scripted fault for this call (answered before or after doing the work);
  5. opc-retry-token replay: the same token on the same operation answers the stored response;
  6. the handler; 2xx answers to retry-token calls are stored for replay.
Every answer carries opc-request-id; errors are JSON {"code", "message"}.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from .api import SERVICES
from .clock import VirtualClock
from .errors import ApiError, not_found, too_many_requests
from .faults import matches
from .hooks import Hooks
from .router import Context, Reply, match
from .scenario import Scenario
from .signing import Credentials, add_service_endpoint, ensure_credentials, verify_request
from .state import RETRY_TOKEN_SECONDS, Store

# On PYTHONPATH, it swaps the modules' wall clock for this sandbox's virtual clock.
PYHOOK_DIR = Path(__file__).resolve().parent / "pyhook"

# OKE's token check: GET /cluster_request/<cluster OCID>?authorization=...&date=... (see _cluster_request).
CLUSTER_REQUEST = "/cluster_request/"
BOOT_WAIT_SECONDS = 5.0

LOG = logging.getLogger("tests.sandbox.oci")
SLEPT_HEADER = "opc-sandbox-slept-seconds"


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, scenario: Scenario, state_dir: Path, host: str = "127.0.0.1", port: int = 0, clock_mode: str | None = None, boot_hook=None):
        self.scenario = scenario
        self.state_dir = Path(state_dir)
        self.creds: Credentials = ensure_credentials(self.state_dir, scenario.region)
        self._overrides: dict = {}
        self._file_settings: tuple[float, dict] = (0.0, {})
        clock = VirtualClock(clock_mode or scenario.clock.mode, scenario.clock.request_seconds)
        settings = self.settings()
        hooks = Hooks(scenario.boot_hook, settings["private_ip_range"], settings["node_ip_range"], python_callable=boot_hook)
        self.store = Store(scenario, clock, hooks, self.settings)
        super().__init__((host, port), Handler)
        LOG.debug("serving %s on %s", ", ".join(m.__name__.rsplit(".", 1)[-1] for m in SERVICES), self.url)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def settings(self) -> dict:
        """Scenario settings, overlaid by DIR/settings.yaml (re-read when it changes), then PUTs."""
        merged = dataclasses.asdict(self.scenario.settings)
        path = self.state_dir / "settings.yaml"
        if path.exists():
            mtime = path.stat().st_mtime
            if mtime != self._file_settings[0]:
                data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
                if not isinstance(data, dict):
                    raise ValueError(f"{path}: must be a YAML mapping of settings")
                self._file_settings = (mtime, data)
            merged.update(self._file_settings[1])
        merged.update(self._overrides)
        return merged

    def override_settings(self, values: dict) -> None:
        known = {f.name for f in dataclasses.fields(self.scenario.settings)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ApiError(400, "InvalidParameter", f"Unknown setting {unknown[0]!r} (known: {', '.join(sorted(known))})")
        self._overrides.update(values)

    def write_files(self) -> None:
        """DIR/config gets service_endpoint; DIR/env (shell-sourceable), DIR/sandbox.json, then DIR/endpoint."""
        # The SDK ignores unknown profile keys; our client factory reads `service_endpoint` from it.
        add_service_endpoint(self.state_dir / "config", self.url)
        env = {
            "OCI_SANDBOX_ENDPOINT": self.url,
            "OPENEDX_SCALE_OCI_SERVICE_ENDPOINT": self.url,
            "OPENEDX_SCALE_OCI_SANDBOX_CLOCK": self.url,
            # The hook that puts our modules' waits on this sandbox's clock (pyhook/oci_sandbox_clock.py).
            "PYTHONPATH": str(PYHOOK_DIR),
            "OCI_CONFIG_FILE": str(self.state_dir / "config"),
            "OCI_CLI_PROFILE": "DEFAULT",
        }
        (self.state_dir / "env").write_text("".join(f"export {k}={v}\n" for k, v in env.items()), encoding="utf-8")
        info = {
            "url": self.url,
            "config_file": str(self.state_dir / "config"),
            "profile": "DEFAULT",
            "scenario": self.scenario.name,
            "tenancy": self.creds.tenancy,
            "env": env,
        }
        (self.state_dir / "sandbox.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        # Last and atomic: whoever waits for DIR/endpoint finds every other file in place.
        partial = self.state_dir / "endpoint.tmp"
        partial.write_text(self.url + "\n", encoding="utf-8")
        partial.replace(self.state_dir / "endpoint")

    def dump_state(self) -> dict:
        state = self.store.dump()
        (self.state_dir / "state.json").write_text(json.dumps(state, indent=1, default=str), encoding="utf-8")
        return state

    def server_close(self) -> None:
        # A stopped sandbox must not be found through a stale endpoint file.
        endpoint = self.state_dir / "endpoint"
        if endpoint.exists() and endpoint.read_text(encoding="utf-8").strip() == self.url:
            endpoint.unlink()
        self.store.hooks.close()
        super().server_close()


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the SDK's requests session expects
    server: SandboxServer

    def setup(self):
        super().setup()
        # Headers and body go out in separate writes: without TCP_NODELAY, Nagle + delayed ACK add
        # ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format, *args):
        LOG.debug("%s %s", self.address_string(), format % args)

    def do_GET(self):
        self._dispatch()

    def do_POST(self):
        self._dispatch()

    def do_PUT(self):
        self._dispatch()

    def do_DELETE(self):
        self._dispatch()

    def do_PATCH(self):
        self._dispatch()

    def do_HEAD(self):
        self._dispatch()

    def _dispatch(self) -> None:
        store = self.server.store
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        found, params = match(self.command, parts.path)
        client_request_id = self.headers.get("opc-request-id")
        request_id = f"{client_request_id}/{store.request_id()}" if client_request_id else store.request_id()
        if parts.path.startswith("/_sandbox/"):
            self._control(found, params, parts, body, request_id)
            return
        if parts.path.startswith(CLUSTER_REQUEST):
            self._send(self._cluster_request(parts), request_id)
            return
        operation = found.operation if found else "unknown"
        stall, reply = 0.0, None
        try:
            verify_request(self.server.creds, self.command, self.path, self.headers, body)
        except ApiError as exc:
            with store.lock:
                store.auth_failures.append({"operation": operation, "path": parts.path, "reason": getattr(exc, "reason", exc.message)})
                store.count_status(operation, exc.status, self.command, parts.path)
            self._send(self._error_reply(exc), request_id)
            return
        self._let_boots_run(self.headers.get(SLEPT_HEADER))
        try:
            with store.lock:
                reply, stall = self._handle(found, params, parts, body, operation)
        except ApiError as exc:
            reply = self._error_reply(exc)
        except Exception as exc:
            LOG.exception("sandbox bug on %s %s", self.command, self.path)
            reply = self._error_reply(ApiError(500, "InternalServerError", f"Sandbox bug: {type(exc).__name__}: {exc}"))
        with store.lock:
            store.count_status(operation, reply.status, self.command, parts.path)
        if stall:
            time.sleep(stall)  # real time: the client's read timeout must fire
        self._send(reply, request_id)

    def _cluster_request(self, parts) -> Reply:
        """What OKE's API server checks of a bearer token (the `oci ce cluster generate-token` kind): a GET of
        /cluster_request/<cluster> signed by a known key, its authorization and date carried in the query string."""
        store = self.server.store
        operation = "ce.ClusterRequest"
        query = parse_qs(parts.query)
        signed_headers = {"authorization": (query.get("authorization") or [None])[0], "date": (query.get("date") or [None])[0],
                          "host": self.headers.get("host")}
        try:
            verify_request(self.server.creds, "GET", parts.path, signed_headers, b"")
            with store.lock:
                cluster = store.get("clusters", parts.path[len(CLUSTER_REQUEST):])
                if cluster["lifecycleState"] != "ACTIVE":
                    raise not_found()
            reply = Reply(200, {"clusterId": cluster["id"], "keyId": self.server.creds.key_id})
        except ApiError as exc:
            reply = self._error_reply(exc)
        with store.lock:
            store.count_status(operation, reply.status, "GET", parts.path)
        return reply

    def _let_boots_run(self, slept) -> None:
        """A client that slept N virtual seconds while a boot hook brings up a real machine also gives that boot up
        to min(N, 5) real seconds, before the store lock (the API keeps answering); otherwise a fast poll loop spends
        its whole virtual deadline before one boot ends. A bad value is left to the caller's own check."""
        try:
            seconds = float(slept or 0)
        except ValueError:
            return
        self.server.store.hooks.wait_idle(min(seconds, BOOT_WAIT_SECONDS))

    def _handle(self, found, params, parts, body: bytes, operation: str) -> tuple[Reply, float]:
        store = self.server.store
        slept = self.headers.get(SLEPT_HEADER)
        if slept:
            try:
                store.clock.advance(max(0.0, float(slept)), by_client=True)
            except ValueError as exc:
                raise ApiError(400, "InvalidParameter", f"{SLEPT_HEADER} must be a number of seconds") from exc
        store.clock.on_request()
        store.tick()
        call_no = store.count_call(operation)
        if found is None:
            raise not_found()
        now = store.now()
        if store.throttler.throttled(operation, now):
            store.faults_fired.append({"operation": operation, "call": call_no, "status": 429, "code": "TooManyRequests", "time": now})
            raise too_many_requests()
        if matches(store.sc.iam_denied, operation):
            store.iam_denials.append({"operation": operation, "call": call_no, "time": now})
            raise not_found()
        fault = store.faults.pick(operation, call_no)
        if fault is not None:
            store.faults_fired.append(
                {"operation": operation, "call": call_no, "status": fault.status, "code": fault.code, "applied": fault.applied, "time": now}
            )
            if not fault.applied:
                return self._error_reply(ApiError(fault.status, fault.code, fault.message)), fault.stall_seconds
        token = self.headers.get("opc-retry-token") if found.retry_token else None
        digest = hashlib.sha256(body).hexdigest()
        cached = store.retry_tokens.get((operation, token)) if token else None
        if cached is not None and store.now() - cached["time"] >= RETRY_TOKEN_SECONDS:
            del store.retry_tokens[(operation, token)]  # OCI forgets a token after 24 h: the same token is a new request
            cached = None
        if cached is not None and store.token_resource_gone(cached):
            # OCI's errors reference: InvalidatedRetryToken "can happen, for example, in cases where an entity created
            # with the same token has since been deleted" (https://docs.oracle.com/iaas/Content/API/References/apierrors.htm).
            cached["invalidated"] = cached.get("invalidated", 0) + 1
            raise ApiError(409, "InvalidatedRetryToken", "The provided retry token was used in an earlier request that resulted in a "
                           "system update, but a subsequent operation invalidated the token.")
        if cached is not None:
            cached["replays"] += 1
            if cached["body_sha256"] != digest:
                cached["mismatched_bodies"] += 1
            reply = Reply(cached["status"], cached["body"], dict(cached["headers"]), cached["content_type"])
        else:
            ctx = Context(store, self.command, parts.path, parts.query, self.headers, body, params)
            ctx.server = self.server
            reply = found.handler(ctx)
            if token and 200 <= reply.status < 300:
                store.retry_tokens[(operation, token)] = {
                    "status": reply.status,
                    "body": json.loads(json.dumps(reply.body)) if reply.body is not None else None,
                    "headers": dict(reply.headers),
                    "content_type": reply.content_type,
                    "body_sha256": digest,
                    "resource_id": (reply.body or {}).get("id") if isinstance(reply.body, dict) else None,
                    "work_request_id": reply.headers.get("opc-work-request-id"),
                    "time": store.now(),
                    "replays": 0,
                    "mismatched_bodies": 0,
                }
        if fault is not None and fault.applied:
            # The work was done; the client is told otherwise (false LimitExceeded, lost answer).
            return self._error_reply(ApiError(fault.status, fault.code, fault.message)), fault.stall_seconds
        return reply, 0.0

    def _control(self, found, params, parts, body: bytes, request_id: str) -> None:
        store = self.server.store
        try:
            if found is None:
                raise not_found()
            if found.operation == "_sandbox.AdvanceClock":
                self._let_boots_run((parse_qs(parts.query).get("seconds") or ["0"])[0])
            with store.lock:
                ctx = Context(store, self.command, parts.path, parts.query, self.headers, body, params)
                ctx.server = self.server
                reply = found.handler(ctx)
        except ApiError as exc:
            reply = self._error_reply(exc)
        self._send(reply, request_id)

    @staticmethod
    def _error_reply(exc: ApiError) -> Reply:
        return Reply(exc.status, {"code": exc.code, "message": exc.message}, dict(exc.headers))

    def _send(self, reply: Reply, request_id: str) -> None:
        if reply.body is None or reply.status == 204:
            payload = b""
        elif isinstance(reply.body, bytes):
            payload = reply.body
        elif isinstance(reply.body, str):
            payload = reply.body.encode()
        else:
            payload = json.dumps(reply.body, default=str).encode()
        try:
            self.send_response(reply.status)
            self.send_header("opc-request-id", request_id)
            if payload:
                self.send_header("content-type", reply.content_type)
            self.send_header("content-length", str(len(payload)))
            for key, value in reply.headers.items():
                self.send_header(key, str(value))
            self.end_headers()
            if payload and self.command != "HEAD":
                self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up (read timeout during a stall): what OCI sees as a dropped answer.
            self.close_connection = True


def start_in_thread(server: SandboxServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="oci-sandbox", daemon=True)
    thread.start()
    return thread
