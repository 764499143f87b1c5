"""A minimal HTTP/1.1 responder for `/healthz` and `/metrics`, served from the daemon's event loop.

Started by `spd.daemon.service.Daemon`. It runs on the same asyncio loop as the passes on purpose: a
wedged loop then also stops answering health checks, instead of a helper thread reporting "healthy"
for a daemon that no longer does anything. GET and HEAD of `routes`, POST of `post_routes` (an async
handler given the request's headers and its body, at most `MAX_BODY_BYTES`), one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from spd.daemon.logs import LOGGER_NAME

_log = logging.getLogger(LOGGER_NAME)

# A response: status code, content type, body.
Response = tuple[int, str, bytes]
Route = Callable[[], Response]


@dataclass(frozen=True, slots=True)
class Request:
    """A POST request as a handler sees it: header names lower-cased, the body read whole."""

    path: str
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


PostRoute = Callable[[Request], Awaitable[Response]]
MAX_BODY_BYTES = 64 * 1024
"""A POST body beyond this is answered 413 unread: a trigger is a few hundred bytes."""

_REASONS = {
    200: "OK",
    201: "Created",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    411: "Length Required",
    413: "Content Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_READ_TIMEOUT = 10.0
_MAX_HEADER_BYTES = 16 * 1024
_MAX_LENGTH_DIGITS = 18


@dataclass(frozen=True, slots=True)
class Listening:
    server: asyncio.Server
    host: str
    port: int

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"


def split_address(address: str) -> tuple[str, int]:
    """`host:port` (IPv6 hosts may be bracketed) -> (host, port)."""
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def serve(
    address: str, routes: Mapping[str, Route], post_routes: Mapping[str, PostRoute] | None = None
) -> Listening:
    """Listen on `address` (port 0 picks a free one) and answer GET/HEAD of `routes`' paths and POST
    of `post_routes`' paths."""
    posts = post_routes or {}
    host, port = split_address(address)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await _answer(reader, writer, routes, posts)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that stalls, hangs up or sends garbage is dropped; the daemon carries on
        except Exception as exc:
            # Whatever a request's bytes provoke, the client gets an answer and the log one line, never
            # asyncio's "Unhandled exception" traceback (the handlers already answer 500 for their own).
            _log.error("http_request_failed", extra={"error": str(exc), "error_type": type(exc).__name__})
            with contextlib.suppress(Exception):
                _write(writer, _text(500, "internal error; see the daemon's log"), head_only=False)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), _READ_TIMEOUT)

    server = await asyncio.start_server(handle, host, port, limit=_MAX_HEADER_BYTES)
    bound = server.sockets[0].getsockname()
    return Listening(server, host, int(bound[1]))


async def _answer(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    routes: Mapping[str, Route],
    posts: Mapping[str, PostRoute],
) -> None:
    # The timeout bounds the client (reading the request, taking the answer), not the handler: a POST
    # that is starting a session under load must get its answer, not a dropped connection.
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _READ_TIMEOUT)
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        _write(writer, (400, "text/plain; charset=utf-8", b"bad request\n"), head_only=False)
        return
    method, target, _ = parts
    path = target.split("?", 1)[0]
    if method == "POST" and path in posts:
        response: Response = await _post(reader, head, path, posts[path])
    elif method not in ("GET", "HEAD"):
        response = (405, "text/plain; charset=utf-8", b"method not allowed\n")
    elif path not in routes:
        response = (404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n")
    else:
        try:
            response = routes[path]()
        except Exception as exc:  # a broken collector must not take the server down
            response = (500, "text/plain; charset=utf-8", f"{type(exc).__name__}\n".encode())
    _write(writer, response, head_only=method == "HEAD")
    await asyncio.wait_for(writer.drain(), _READ_TIMEOUT)


def _headers(head: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    for line in head.split(b"\r\n")[1:]:
        name, sep, value = line.decode("latin-1").partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    return headers


def _text(code: int, message: str) -> Response:
    return code, "text/plain; charset=utf-8", f"{message}\n".encode()


def content_length(value: str) -> int | None:
    """A Content-Length header's value as a number of bytes; None unless it is ASCII digits only.

    `str.isdigit` alone is not enough: it accepts digits `int` refuses ("²", from the latin-1 decoded
    head) and numbers too long for `int` to parse; a huge length is capped, not parsed, and then
    answered 413 like any body beyond `MAX_BODY_BYTES`.
    """
    if not value or not value.isascii() or not value.isdigit():
        return None
    digits = value.lstrip("0") or "0"
    return int(digits) if len(digits) <= _MAX_LENGTH_DIGITS else MAX_BODY_BYTES + 1


async def _post(reader: asyncio.StreamReader, head: bytes, path: str, handler: PostRoute) -> Response:
    headers = _headers(head)
    given = headers.get("content-length")
    if given is None:
        return _text(411, "Content-Length required")
    length = content_length(given)
    if length is None:
        return _text(400, "bad Content-Length: expected a decimal number of bytes")
    if length > MAX_BODY_BYTES:
        return _text(413, f"body larger than {MAX_BODY_BYTES} bytes")
    body = await asyncio.wait_for(reader.readexactly(length), _READ_TIMEOUT)
    try:
        return await handler(Request(path, headers, body))
    except Exception as exc:  # a broken handler must not take the server down, nor show a traceback
        return _text(500, type(exc).__name__)


def _write(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
    code, content_type, body = response
    headers = (
        f"HTTP/1.1 {code} {_REASONS.get(code, 'Error')}\r\n"
        f"Content-Type: {content_type}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Cache-Control: no-store\r\n"
        "Connection: close\r\n\r\n"
    )
    writer.write(headers.encode("latin-1") + (b"" if head_only else body))
