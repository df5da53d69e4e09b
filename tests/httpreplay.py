"""A loopback HTTP server that replays recorded payloads, for tests of live fetchers.

A real ``http.server.ThreadingHTTPServer`` on 127.0.0.1 (port 0 → a free port) runs in a
daemon thread. Each route (a URL path) has a script: a list of :class:`Reply` served in
order, the last one repeating. A reply can carry a status, a body, headers, a delay
before answering (to trigger a client read timeout) and a truncated body (announce more
bytes in Content-Length than are sent, then close). Every request received is recorded
(path, query, headers) so tests can assert on retries and on the User-Agent.

Import it as ``from httpreplay import ReplayServer, Reply`` (pytest puts ``tests/`` on
``sys.path``; there is no ``tests`` package).

Usage::

    with ReplayServer({"/VIX_History.csv": [Reply(500), Reply(200, body=data)]}) as srv:
        session.get(srv.url + "/VIX_History.csv")
        assert len(srv.requests_for("/VIX_History.csv")) == 2
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

HTML_BOT_CHECK = (
    b"<!DOCTYPE html>\n<html><head><title>Just a moment...</title></head>"
    b"<body>Checking your browser before accessing the site.</body></html>\n"
)


@dataclass
class Reply:
    """One scripted response."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to sleep before sending anything
    truncate_to: int | None = None  # send only this many body bytes, Content-Length says more
    content_type: str = "text/csv"


@dataclass
class RecordedRequest:
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]


class LoopbackServer:
    """A threaded HTTP server on 127.0.0.1 and a free port, shut down on exit.

    The shared lifecycle of this module's :class:`ReplayServer` and ``echoserver.EchoServer``:
    a subclass builds its request handler in ``__enter__`` and calls :meth:`_start`.
    """

    _server: ThreadingHTTPServer | None = None

    def _start(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321``."""
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"


class ReplayServer(LoopbackServer):
    """Context manager serving scripted replies per path; unknown paths get 404."""

    def __init__(self, routes: dict[str, list[Reply]]) -> None:
        self.routes = {path: list(replies) for path, replies in routes.items()}
        self.requests: list[RecordedRequest] = []
        self._served: dict[str, int] = {}
        self._lock = threading.Lock()

    # ---- lifecycle
    def __enter__(self) -> ReplayServer:
        replay = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                replay._handle(self)

            def do_HEAD(self) -> None:
                replay._handle(self, head=True)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep test output quiet

        self._start(Handler)
        return self

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    # ---- serving
    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            script = self.routes.get(path)
            if not script:
                return None
            n = self._served.get(path, 0)
            self._served[path] = n + 1
            return script[min(n, len(script) - 1)]

    def _handle(self, h: BaseHTTPRequestHandler, head: bool = False) -> None:
        parts = urlsplit(h.path)
        with self._lock:
            self.requests.append(
                RecordedRequest(parts.path, parse_qs(parts.query), dict(h.headers.items()))
            )
        # a route may name one query parameter too ("/fredgraph.csv?id=DTB3"): FRED's
        # endpoints tell series apart by query, not path
        reply = None
        for key, values in parse_qs(parts.query).items():
            reply = reply or self._next_reply(f"{parts.path}?{key}={values[0]}")
        reply = reply or self._next_reply(parts.path)
        if reply is None:
            reply = Reply(404, body=b"not found", content_type="text/plain")
        if reply.delay:
            time.sleep(reply.delay)
        body = reply.body
        sent = body if reply.truncate_to is None else body[: reply.truncate_to]
        try:
            h.send_response(reply.status)
            h.send_header("Content-Type", reply.content_type)
            h.send_header("Content-Length", str(len(body)))
            if reply.truncate_to is not None:
                h.send_header("Connection", "close")
                h.close_connection = True
            for k, v in reply.headers.items():
                h.send_header(k, v)
            h.end_headers()
            if not head:
                h.wfile.write(sent)
                h.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (timeout test): nothing to do
