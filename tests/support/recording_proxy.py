"""A loopback HTTP proxy in front of the emulator that keeps the JSON body of every Rekognition call.

The emulator counts calls per operation but does not keep their parameters; tests that must see what
spd sent (the StartSelector and StopSelector of a session) point the client here instead. Requests and
responses pass through unchanged, over real HTTP both ways.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class RecordingProxy:
    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.calls: list[tuple[str, dict[str, Any]]] = []
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target = self.headers.get("X-Amz-Target", "")
                try:
                    proxy.calls.append((target.rpartition(".")[2], json.loads(body or b"{}")))
                except ValueError:
                    proxy.calls.append((target.rpartition(".")[2], {}))
                skip = {"host", "content-length", "connection", "expect"}
                request = urllib.request.Request(
                    proxy.upstream + self.path,
                    data=body,
                    method="POST",
                    headers={k: v for k, v in self.headers.items() if k.lower() not in skip},
                )
                try:
                    with urllib.request.urlopen(request, timeout=30) as response:
                        status, headers, payload = response.status, response.headers, response.read()
                except urllib.error.HTTPError as error:
                    status, headers, payload = error.code, error.headers, error.read()
                self.send_response(status)
                for key, value in headers.items():
                    if key.lower() not in {
                        "content-length",
                        "connection",
                        "transfer-encoding",
                        "date",
                        "server",
                    }:
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> RecordingProxy:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()

    def requests(self, operation: str) -> list[dict[str, Any]]:
        return [body for name, body in self.calls if name == operation]
