"""A lean asyncio HTTP/1.1 server (keep-alive, pipelining, optional TLS) for the LMS stand-in.

asyncio.Protocol instead of a WSGI stack: thousands of idle keep-alive connections cost one small object
each and no greenlet or thread, so the stand-in stays cheaper than the load generator it serves.
"""

import asyncio
import contextlib
import json
import os
import signal
import ssl
from http import HTTPStatus
from pathlib import Path

from .app import Lms, Request, Response

MAX_HEADER_BYTES = 65536
MAX_BODY_BYTES = 1 << 20
REASONS = {s.value: s.phrase for s in HTTPStatus}


def encode_response(resp: Response, keep_alive: bool) -> bytes:
    head = [f"HTTP/1.1 {resp.status} {REASONS.get(resp.status, 'Unknown')}"]
    head.append(f"Content-Type: {resp.content_type}")
    head.append(f"Content-Length: {len(resp.body)}")
    if not keep_alive:
        head.append("Connection: close")
    head.extend(f"{k}: {v}" for k, v in resp.headers)
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + resp.body


class HttpProtocol(asyncio.Protocol):
    def __init__(self, app: Lms, secure: bool):
        self.app = app
        self.secure = secure
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.client_ip = ""

    def connection_made(self, transport) -> None:
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.client_ip = peer[0] if peer else ""
        conns = self.app.connections
        conns["current"] += 1
        conns["total"] += 1
        conns["peak"] = max(conns["peak"], conns["current"])

    def connection_lost(self, exc) -> None:
        self.app.connections["current"] -= 1
        self.transport = None

    def _fail(self, status: int, message: str) -> None:
        if self.transport is not None:
            self.transport.write(encode_response(Response(status, message.encode(), "text/plain"), keep_alive=False))
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while self.transport is not None:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEADER_BYTES:
                    self._fail(431, "headers too large")
                return
            lines = bytes(self.buf[:end]).decode("latin-1").split("\r\n")
            try:
                method, target, version = lines[0].split(" ", 2)
            except ValueError:
                self._fail(400, "bad request line")
                return
            headers: dict[str, str] = {}
            for line in lines[1:]:
                name, _sep, value = line.partition(":")
                key = name.strip().lower()
                value = value.strip()
                if key in headers:  # repeated headers (e.g. two Cookie lines) are joined like a proxy would
                    value = headers[key] + ("; " if key == "cookie" else ", ") + value
                headers[key] = value
            if "chunked" in headers.get("transfer-encoding", "").lower():
                self._fail(501, "chunked request bodies are not supported")
                return
            try:
                length = int(headers.get("content-length", "0") or 0)
            except ValueError:
                self._fail(400, "bad content-length")
                return
            if length > MAX_BODY_BYTES:
                self._fail(413, "body too large")
                return
            if len(self.buf) < end + 4 + length:
                return
            body = bytes(self.buf[end + 4 : end + 4 + length])
            del self.buf[: end + 4 + length]
            path, _sep, query = target.partition("?")
            conn = headers.get("connection", "").lower()
            keep_alive = conn != "close" if version == "HTTP/1.1" else conn == "keep-alive"
            try:
                # Behind a TLS terminator (nginx on loopback) the scheme comes from X-Forwarded-Proto, as with
                # Django's SECURE_PROXY_SSL_HEADER behind ingress-nginx: Secure cookies and https redirects.
                secure = self.secure or headers.get("x-forwarded-proto") == "https"
                resp = self.app.handle(Request(method, path, query, headers, body, self.client_ip, secure))
            except Exception as exc:  # a bug in a handler must show as a 500, not a hung client
                resp = Response(500, f"stand-in error: {exc!r}".encode(), "text/plain")
            self.transport.write(encode_response(resp, keep_alive))
            if not keep_alive:
                self.transport.close()
                return


def tls_context(cert: Path, key: Path) -> ssl.SSLContext:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(str(cert), str(key))
    return ctx


async def serve(app: Lms, host: str, port: int, ssl_ctx: ssl.SSLContext | None, ready_file: Path | None, cert: Path | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: HttpProtocol(app, ssl_ctx is not None), host, port, ssl=ssl_ctx, backlog=8192, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    scheme = "https" if ssl_ctx else "http"
    shown = f"[{host}]" if ":" in host else host
    info = {"url": f"{scheme}://{shown}:{bound}", "port": bound, "pid": os.getpid(), "cert": str(cert) if cert else None}
    if ready_file:
        ready_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(info))
        tmp.replace(ready_file)
    print(f"LMS stand-in listening on {info['url']}", flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()
