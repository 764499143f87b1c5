"""The API token file as `spd run` uses it: read again for every request (a rotation is seen whatever
the file's times say), refused while its group or other users may read or write it, at start-up and at
run time. Real `spd run` against `spd emulator`.

Requests name a processor the spec lacks: with the right token that is a 404, with a wrong one a 401,
and no session is ever started.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_session_triggers import TOKEN, _daemon, _post, _spec, _token_file

from daemonproc import Daemon
from spd.daemon.api_token import MAX_TOKEN_BYTES, TokenFile, TokenFileProblem, read_token, token_file_problem
from spdrun import run_spd

NOWHERE = {"processor": "shed"}


def _rewrite_keeping_times(path: Path, text: str) -> None:
    """Write `text` into `path` and put its modification time back (`cp -p`, `touch -r`, a restore)."""
    before = path.stat()
    path.write_text(text)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert path.stat().st_mtime_ns == before.st_mtime_ns


def test_a_token_rotated_with_the_old_modification_time_takes_effect_at_once(emu, tmp_path):
    token = _token_file(tmp_path)
    d = _daemon(emu, tmp_path, _spec(emu, tmp_path), SPD_API_TOKEN_FILE=str(token))
    try:
        assert _post(d, NOWHERE)[0] == 404
        _rewrite_keeping_times(token, "rotated-token-2\n")
        assert _post(d, NOWHERE)[0] == 401
        assert _post(d, NOWHERE, token="rotated-token-2")[0] == 404
        # Rotated again, same length and same time: still the file's content that counts.
        _rewrite_keeping_times(token, "rotated-token-3\n")
        assert _post(d, NOWHERE, token="rotated-token-2")[0] == 401
        assert _post(d, NOWHERE, token="rotated-token-3")[0] == 404
    finally:
        d.kill()


def _insecure(d: Daemon) -> list[dict[str, object]]:
    return d.events("api_token_file_insecure")


def test_a_token_file_opened_to_others_at_run_time_is_refused_until_closed_again(emu, tmp_path):
    token = _token_file(tmp_path)
    d = _daemon(emu, tmp_path, _spec(emu, tmp_path), SPD_API_TOKEN_FILE=str(token))
    try:
        assert _post(d, NOWHERE)[0] == 404
        token.chmod(0o644)  # world-readable
        for _ in range(3):
            code, body = _post(d, NOWHERE)
            assert code == 503, body
            assert "token file" in body["error"]
        _, line = d.wait_for("api_token_file_insecure")
        assert line["level"] == "error"
        assert line["path"] == str(token)
        assert "0644" in str(line["error"])
        assert len(_insecure(d)) == 1  # once per change, not per request

        token.chmod(0o660)  # group-writable: another change, logged once more
        assert _post(d, NOWHERE)[0] == 503
        assert _post(d, NOWHERE)[0] == 503
        assert len(_insecure(d)) == 2
        assert "0660" in str(_insecure(d)[-1]["error"])

        token.chmod(0o600)
        assert _post(d, NOWHERE)[0] == 404
        assert _post(d, NOWHERE, token="wrong")[0] == 401
        d.wait_for("api_token_file_usable", path=str(token))
    finally:
        d.kill()
    assert "Traceback" not in d.stderr


def test_a_fifo_in_place_of_the_token_file_is_refused_without_stalling_the_daemon(emu, tmp_path):
    token = _token_file(tmp_path)
    d = _daemon(emu, tmp_path, _spec(emu, tmp_path), SPD_API_TOKEN_FILE=str(token))
    try:
        assert _post(d, NOWHERE)[0] == 404
        token.unlink()
        os.mkfifo(token, 0o600)
        code, body = _post(d, NOWHERE)
        assert code == 503, body
        _, line = d.wait_for("api_token_file_unusable")
        assert "not a regular file" in str(line["error"])
        assert d.get("/healthz")[0] == 200
    finally:
        d.kill()


def test_a_group_readable_token_file_is_refused_at_start_up(emu, tmp_path):
    token = _token_file(tmp_path)
    token.chmod(0o640)
    out = run_spd(
        ["run", "--endpoint-url", emu.url, "--spec", str(_spec(emu, tmp_path))],
        env={
            "SPD_API_TOKEN_FILE": str(token),
            "SPD_LOG_FORMAT": "json",
            "SPD_METRICS_ADDRESS": "127.0.0.1:0",
        },
        timeout=60,
    )
    assert out.returncode == 78, out.stdout + out.stderr
    assert "api_token_file" in out.stderr
    assert "readable or writable by its group or other users (mode 0640)" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout
    assert TOKEN not in out.stderr + out.stdout


class FakeLog:
    """The standard-library logger's two methods TokenFile uses, recorded."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, str]]] = []

    def error(self, event: str, *, extra: dict[str, str]) -> None:
        self.lines.append(("error", event, extra))

    def info(self, event: str, *, extra: dict[str, str]) -> None:
        self.lines.append(("info", event, extra))


def test_token_file_problems_are_logged_once_per_change(tmp_path: Path) -> None:
    path = _token_file(tmp_path)
    log = FakeLog()
    tokens = TokenFile(log)  # type: ignore[arg-type]
    assert tokens.token(path) == TOKEN.encode()
    path.chmod(0o604)
    assert [tokens.token(path) for _ in range(5)] == [None] * 5
    path.write_text("")
    path.chmod(0o600)
    assert tokens.token(path) is None
    assert tokens.token(path) is None
    path.write_text(" new \n")
    assert tokens.token(path) == b"new"
    assert tokens.token(path) == b"new"
    assert [(level, event) for level, event, _ in log.lines] == [
        ("error", "api_token_file_insecure"),
        ("error", "api_token_file_unusable"),
        ("info", "api_token_file_usable"),
    ]
    assert "mode 0604" in log.lines[0][2]["error"]
    assert "is empty" in log.lines[1][2]["error"]


def test_read_token_refuses_what_cannot_hold_a_token(tmp_path: Path) -> None:
    path = tmp_path / "token"
    assert "cannot read" in str(token_file_problem(path))
    path.write_bytes(b"x" * (MAX_TOKEN_BYTES + 1))
    path.chmod(0o600)
    assert "larger than" in str(token_file_problem(path))
    path.write_bytes(b"\n  tok\xffen \n")
    assert read_token(path) == b"tok\xffen"
    assert token_file_problem(path) is None
    path.chmod(0o620)  # writable by the group: it could choose the token
    with pytest.raises(TokenFileProblem) as raised:
        read_token(path)
    assert raised.value.event == "api_token_file_insecure"
    assert "is not a regular file" in str(token_file_problem(tmp_path))  # a directory
