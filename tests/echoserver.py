"""A loopback HTTP server that echoes each request back, like a proxy's block page.

For the secret-leak tests (issue 12, item 2): an upstream or proxy that answers with the
request it received puts the query — ``api_key`` included — into the body. Each
:class:`Echo` mode is one such answer: a 200 HTML page, an error status with a text body,
a JSON body cut short of its ``Content-Length``, or a JSON body cut mid-document.

Import it as ``from echoserver import EchoServer, Echo`` (``tests/`` is on ``sys.path``).
"""

from __future__ import annotations

import json
from enum import StrEnum
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from httpreplay import LoopbackServer


class Echo(StrEnum):
    HTML_200 = "html_200"  # "<html>Blocked: series_id=...&api_key=...</html>" with status 200
    STATUS_500 = "status_500"  # a 500 whose text body echoes the request (retried, then fails)
    STATUS_403 = "status_403"  # a 403 whose text body echoes the request (not retried)
    JSON_SHORT = "json_short"  # JSON echoing the query, fewer bytes sent than Content-Length
    JSON_CUT = "json_cut"  # JSON echoing the query, cut mid-document, honest Content-Length


class EchoServer(LoopbackServer):
    """Context manager: every GET is answered by ``mode``'s echo of its path and query."""

    def __init__(self, mode: Echo) -> None:
        self.mode = mode
        self.seen: list[str] = []  # every request's path and query, as received

    def body(self, path_and_query: str) -> tuple[int, str, bytes, int | None]:
        """(status, content type, body, bytes actually sent or None for all)."""
        query = urlsplit(path_and_query).query
        key = parse_qs(query).get("api_key", [""])[0]
        if self.mode is Echo.HTML_200:
            page = (
                f"<!DOCTYPE html><html><body>Blocked: {query}"
                f"<p>Your key {key} is not allowed from this network.</p></body></html>"
            )
            return 200, "text/html", page.encode(), None
        if self.mode in (Echo.STATUS_500, Echo.STATUS_403):
            status = 500 if self.mode is Echo.STATUS_500 else 403
            return status, "text/plain", f"denied {path_and_query} (key {key})".encode(), None
        doc = json.dumps({"request": path_and_query, "api_key": key, "observations": []}).encode()
        if self.mode is Echo.JSON_SHORT:
            return 200, "application/json", doc, len(doc) // 2
        return 200, "application/json", doc[: len(doc) - 5], None

    def __enter__(self) -> EchoServer:
        echo = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:
                echo.seen.append(self.path)
                status, ctype, body, sent = echo.body(self.path)
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                if sent is not None:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    self.wfile.write(body if sent is None else body[:sent])
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def log_message(self, format: str, *args: object) -> None:
                pass  # the request line holds the key: never print it

        self._start(Handler)
        return self
