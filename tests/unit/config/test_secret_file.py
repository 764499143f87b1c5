"""Every file holding a secret (the API token, a webhook's HMAC key) is read by one reader with one set
of rules: settings loading, the daemon's per-request token read and the webhook sink agree on each file."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from spd.config.secret_file import secret_file_problem
from spd.config.settings import load_settings
from spd.daemon.api_token import token_file_problem
from spd.errors import SettingsError


def _file(tmp_path: Path, name: str, data: bytes, mode: int) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    path.chmod(mode)
    return path


def _cases(tmp_path: Path) -> list[Path]:
    from spd.config.secret_file import MAX_SECRET_BYTES

    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    return [
        _file(tmp_path, "ok", b"s3cret\n", 0o600),
        _file(tmp_path, "owner-only-read", b"s3cret", 0o400),
        _file(tmp_path, "group-readable", b"s3cret", 0o640),
        _file(tmp_path, "group-writable", b"s3cret", 0o620),
        _file(tmp_path, "world-readable", b"s3cret", 0o604),
        _file(tmp_path, "empty", b" \n", 0o600),
        _file(tmp_path, "huge", b"x" * (MAX_SECRET_BYTES + 1), 0o600),
        tmp_path / "missing",
        tmp_path,  # a directory
        fifo,
    ]


def test_the_token_file_and_a_webhook_secret_follow_the_same_rules(tmp_path: Path) -> None:
    accepted = {}
    for path in _cases(tmp_path):
        token = token_file_problem(path)
        secret = secret_file_problem(path, "secret_file")
        assert (token is None) == (secret is None), (path.name, token, secret)
        accepted[path.name] = secret is None
    assert accepted == {
        "ok": True,
        "owner-only-read": True,
        "group-readable": False,
        "group-writable": False,
        "world-readable": False,
        "empty": False,
        "huge": False,
        "missing": False,
        tmp_path.name: False,
        "fifo": False,
    }


def test_a_fifo_in_place_of_a_secret_never_blocks(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo, 0o600)
    outcome: list[str] = []
    reader = threading.Thread(target=lambda: outcome.append(str(secret_file_problem(fifo, "secret_file"))))
    reader.start()
    reader.join(timeout=30)
    assert not reader.is_alive(), "reading a FIFO blocked"
    assert "not a regular file" in outcome[0]


def test_the_reader_says_which_problem_is_a_mode_problem(tmp_path: Path) -> None:
    from spd.config.secret_file import SecretFileProblem, read_secret

    with pytest.raises(SecretFileProblem) as raised:
        read_secret(_file(tmp_path, "g", b"k", 0o660), "secret_file")
    assert raised.value.insecure
    assert "mode 0660" in str(raised.value)
    with pytest.raises(SecretFileProblem) as raised:
        read_secret(_file(tmp_path, "e", b"", 0o600), "secret_file")
    assert not raised.value.insecure
    assert read_secret(_file(tmp_path, "k", b"  key\n", 0o600), "secret_file") == b"key"


def test_settings_refuse_a_group_readable_webhook_key_and_token(tmp_path: Path) -> None:
    key = _file(tmp_path, "hook.key", b"k", 0o640)
    sink = {"type": "webhook", "url": "https://hooks.example.com/x", "secret_file": key}
    with pytest.raises(SettingsError) as raised:
        load_settings(environ={}, event_sinks=[sink])
    assert "group or other users" in str(raised.value)
    with pytest.raises(SettingsError) as raised:
        load_settings(environ={}, api_token_file=key)
    assert "group or other users" in str(raised.value)
