"""SQLite's "another connection holds the database" is known by its result code (SQLITE_BUSY 5,
SQLITE_LOCKED 6, extended codes by their low byte), never by the words of its message."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest

from spd.store.sqlite_store import Database, StoreTemporaryError, sqlite_error


def _error(message: str, code: int | None) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    if code is not None:
        exc.sqlite_errorcode = code
    return exc


def test_locked_is_told_by_code() -> None:
    from spd.store.sqlite_store import is_locked

    assert is_locked(_error("busy now", 5))
    assert is_locked(_error("table in use", 6))
    assert is_locked(_error("x", 5 | (2 << 8)))  # SQLITE_BUSY_SNAPSHOT
    assert not is_locked(_error("database is locked", 1))  # the words, with another code
    assert not is_locked(_error("database is locked", None))
    assert isinstance(
        sqlite_error(__import__("pathlib").Path("x.db"), "t", _error("zz", 6)), StoreTemporaryError
    )


class _Conn:
    """A connection whose journal-mode switch fails with `errors` first, then succeeds."""

    def __init__(self, errors: list[sqlite3.OperationalError]) -> None:
        self.errors = errors
        self.calls = 0

    def execute(self, sql: str) -> Any:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return None


def _database(conn: _Conn) -> Database:
    database = Database.__new__(Database)
    database.conn = conn  # type: ignore[assignment]
    return database


def test_wal_switch_waits_out_a_lock_whatever_its_message_says() -> None:
    conn = _Conn([_error("the file is busy", 5), _error("contention", 6)])
    _database(conn)._use_wal(busy_timeout=60.0)
    assert conn.calls == 3


def test_wal_switch_does_not_wait_on_other_errors_that_mention_locked() -> None:
    conn = _Conn([_error("database is locked (but really a damaged file)", 11)])
    with pytest.raises(sqlite3.OperationalError, match="damaged"):
        _database(conn)._use_wal(busy_timeout=60.0)
    assert conn.calls == 1  # not retried
