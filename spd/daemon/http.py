"""A minimal HTTP/1.1 responder for `/healthz` and `/metrics`, served from the daemon's event loop.

Started by `spd.daemon.service.Daemon`. It runs on the same asyncio loop as the passes on purpose: a
wedged loop then also stops answering health checks, instead of a helper thread reporting "healthy"
for a daemon that no longer does anything. GET and HEAD only, one request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass

# A response: status code, content type, body.
Response = tuple[int, str, bytes]
Route = Callable[[], Response]

_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    405: "Method Not Allowed",
    500: "Internal Server Error",
    503: "Service Unavailable",
}
_READ_TIMEOUT = 10.0
_MAX_HEADER_BYTES = 16 * 1024


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


async def serve(address: str, routes: Mapping[str, Route]) -> Listening:
    """Listen on `address` (port 0 picks a free one) and answer GET/HEAD of `routes`' paths."""
    host, port = split_address(address)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(_answer(reader, writer, routes), _READ_TIMEOUT)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError):
            pass  # a client that stalls, hangs up or sends garbage is dropped; the daemon carries on
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, TimeoutError):
                await asyncio.wait_for(writer.wait_closed(), _READ_TIMEOUT)

    server = await asyncio.start_server(handle, host, port, limit=_MAX_HEADER_BYTES)
    bound = server.sockets[0].getsockname()
    return Listening(server, host, int(bound[1]))


async def _answer(
    reader: asyncio.StreamReader, writer: asyncio.StreamWriter, routes: Mapping[str, Route]
) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    request_line = head.split(b"\r\n", 1)[0].decode("latin-1")
    parts = request_line.split()
    if len(parts) != 3 or not parts[2].startswith("HTTP/"):
        _write(writer, (400, "text/plain; charset=utf-8", b"bad request\n"), head_only=False)
        return
    method, target, _ = parts
    path = target.split("?", 1)[0]
    if method not in ("GET", "HEAD"):
        response: Response = (405, "text/plain; charset=utf-8", b"method not allowed\n")
    elif path not in routes:
        response = (404, "text/plain; charset=utf-8", b"not found: try /healthz or /metrics\n")
    else:
        try:
            response = routes[path]()
        except Exception as exc:  # a broken collector must not take the server down
            response = (500, "text/plain; charset=utf-8", f"{type(exc).__name__}\n".encode())
    _write(writer, response, head_only=method == "HEAD")
    await writer.drain()


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
