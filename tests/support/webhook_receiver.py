"""A loopback webhook receiver for the event-sink tests, and the check a receiver makes of what it gets."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SECRET = b"s3cret-for-tests"


class Receiver:
    """A loopback HTTP server that keeps every POST (headers and body) it gets."""

    def __init__(self) -> None:
        self.posts: list[tuple[dict[str, str], bytes]] = []
        self._changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver._changed:
                    receiver.posts.append((dict(self.headers), body))
                    receiver._changed.notify_all()
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/spd"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wait_for(self, event_type: str, subject: str, timeout: float = 20) -> tuple[dict[str, str], bytes]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for headers, body in self.posts:
                    event = json.loads(body)
                    if event["type"] == event_type and event.get("subject") == subject:
                        return headers, body
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [json.loads(b)["type"] for _, b in self.posts]
                    raise AssertionError(f"no {event_type} for {subject}; received {seen}")
                self._changed.wait(remaining)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook.secret"
    path.write_bytes(SECRET + b"\n")
    path.chmod(0o600)
    return path


def verify(headers: dict[str, str], body: bytes) -> dict[str, Any]:
    """The CloudEvent in `body`, after checking its signature the way a receiver should."""
    expected = hmac.new(SECRET, body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(headers["X-Spd-Signature"], expected)
    assert headers["Content-Type"] == "application/cloudevents+json"
    event: dict[str, Any] = json.loads(body)
    assert event["specversion"] == "1.0"
    assert event["source"] == "test-stack"
    assert event["datacontenttype"] == "application/json"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", event["time"])
    return event
