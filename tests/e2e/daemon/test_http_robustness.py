"""A `Content-Length` that is not a plain decimal number gets an answer (400, or 413 when too large),
never a dropped connection with a traceback in the log. Raw requests over a socket to a real `spd run`
against `spd emulator`; one test module-wide daemon would do, but each case is cheap next to start-up.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import pytest
from test_session_triggers import TOKEN, _daemon, _spec, _starts, _token_file

from daemonproc import Daemon
from spd.daemon.http import MAX_BODY_BYTES, content_length, serve


def _raw(d: Daemon, request: bytes) -> bytes:
    host, _, port = d.http.removeprefix("http://").rpartition(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def _post_with_length(length: bytes, body: bytes = b'{"processor": "porch"}') -> bytes:
    return (
        b"POST /v1/sessions HTTP/1.1\r\nHost: spd\r\n"
        + f"Authorization: Bearer {TOKEN}\r\n".encode()
        + b"Content-Length: "
        + length
        + b"\r\n\r\n"
        + body
    )


BAD_LENGTHS = [
    (b"abc", 400),
    (b"-1", 400),
    (b"+22", 400),
    (b"0x16", 400),
    (b"2 2", 400),
    (b"\xb2", 400),  # "superscript two": str.isdigit() says yes, int() says no
    (b"\xb9\xb2", 400),
    (b"9" * 5000, 413),  # more digits than int() parses
    (b"99999999999999999999", 413),
    (b"1048577", 413),
]


def test_bad_content_lengths_are_answered_and_never_logged_as_tracebacks(emu, tmp_path):
    d = _daemon(emu, tmp_path, _spec(emu, tmp_path), SPD_API_TOKEN_FILE=str(_token_file(tmp_path)))
    try:
        before = _starts(emu)
        for length, status in BAD_LENGTHS:
            answer = _raw(d, _post_with_length(length))
            assert answer.startswith(f"HTTP/1.1 {status} ".encode()), (length[:20], answer[:200])
        # A well-formed length with leading zeros is still a length (22 bytes: the body).
        answer = _raw(d, _post_with_length(b"0022", b'{"processor": "shed"}'.ljust(22)))
        assert answer.startswith(b"HTTP/1.1 404 "), answer[:200]
        assert _starts(emu) == before
        assert d.get("/healthz")[0] == 200
    finally:
        d.kill()
    log = "".join(d.raw) + d.stderr
    assert "Traceback" not in log
    assert "Unhandled exception" not in log


@pytest.mark.parametrize(
    ("value", "expected"),
    [("0", 0), ("22", 22), ("0022", 22), ("", None), ("²", None), ("-1", None), ("1_0", None), (" 1", None)],
)
def test_content_length_parsing(value: str, expected: int | None) -> None:
    assert content_length(value) == expected


def test_a_content_length_too_long_to_parse_counts_as_too_large() -> None:
    parsed = content_length("9" * 5000)
    assert parsed is not None
    assert parsed > MAX_BODY_BYTES


class _Exploding(dict[str, Any]):
    """Routes whose lookup fails: an error nobody foresaw while answering a request."""

    def __contains__(self, key: object) -> bool:
        raise RuntimeError("lookup failed")


async def test_an_unforeseen_error_is_answered_500_and_logged_in_one_line(caplog) -> None:
    listening = await serve("127.0.0.1:0", _Exploding())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", listening.port)
        writer.write(b"GET /healthz HTTP/1.1\r\n\r\n")
        await writer.drain()
        answer = await asyncio.wait_for(reader.read(), 10)
        writer.close()
    finally:
        listening.server.close()
        await listening.server.wait_closed()
    assert answer.startswith(b"HTTP/1.1 500 ")
    [record] = [r for r in caplog.records if r.getMessage() == "http_request_failed"]
    assert record.exc_info is None
    assert record.__dict__["error_type"] == "RuntimeError"
