"""`spd.store.sqlite_store`: the generic layer every local state file uses (identity, versions, modes)."""

from __future__ import annotations

import os
import sqlite3
import stat
import threading
from contextlib import closing
from pathlib import Path

import pytest

from spd.store.sqlite_store import Database, Schema, StoreError

V1 = "CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT NOT NULL);"
V2 = "ALTER TABLE notes ADD COLUMN author TEXT;\nCREATE INDEX notes_by_author ON notes (author);"
NOTES = Schema(kind="example notes", application_id=0x54455354, migrations=(V1,))


def test_a_new_database_is_private_in_wal_mode_and_at_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "notes.db"
    old = os.umask(0o022)
    try:
        db = Database(path, NOTES)
    finally:
        os.umask(old)
    try:
        assert db.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert db.conn.execute("PRAGMA user_version").fetchone()[0] == 1
        with db.write() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('x')")
        for file in path.parent.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    finally:
        db.close()


def test_migrations_upgrade_an_older_database_once(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    Database(path, NOTES).close()
    newer = Schema(kind="example notes", application_id=NOTES.application_id, migrations=(V1, V2))
    first, second = Database(path, newer), Database(path, newer)  # the second finds it upgraded
    try:
        assert first.conn.execute("PRAGMA user_version").fetchone()[0] == 2
        first.conn.execute("INSERT INTO notes (text, author) VALUES ('x', 'me')")
        assert second.conn.execute("SELECT author FROM notes").fetchall() == [("me",)]
    finally:
        first.close()
        second.close()


def test_a_write_block_that_raises_is_rolled_back(tmp_path: Path) -> None:
    db = Database(tmp_path / "notes.db", NOTES)
    try:

        def insert_then_fail() -> None:
            with db.write() as conn:
                conn.execute("INSERT INTO notes (text) VALUES ('x')")
                raise RuntimeError("boom")

        with pytest.raises(RuntimeError):
            insert_then_fail()
        assert db.conn.execute("SELECT count(*) FROM notes").fetchone()[0] == 0
        assert not db.in_transaction
    finally:
        db.close()


def test_another_connections_commit_changes_data_version(tmp_path: Path) -> None:
    first, second = Database(tmp_path / "n.db", NOTES), Database(tmp_path / "n.db", NOTES)
    try:
        before = first.data_version()
        with first.write() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('own')")
        assert first.data_version() == before  # its own commit
        with second.write() as conn:
            conn.execute("INSERT INTO notes (text) VALUES ('other')")
        assert first.data_version() != before
    finally:
        first.close()
        second.close()


def test_refuses_a_newer_version_another_programs_database_and_a_non_database(tmp_path: Path) -> None:
    newer = tmp_path / "newer.db"
    Database(
        newer, Schema(kind="example notes", application_id=NOTES.application_id, migrations=(V1, V2))
    ).close()
    with pytest.raises(StoreError, match="version 2 is newer than this spd supports"):
        Database(newer, NOTES)

    foreign = tmp_path / "foreign.db"
    with closing(sqlite3.connect(foreign)) as conn:
        conn.execute("CREATE TABLE other (x)")
    before = foreign.read_bytes()
    with pytest.raises(StoreError, match="not an example notes database"):
        Database(foreign, NOTES)
    assert foreign.read_bytes() == before, "another program's database is left as it was"

    text = tmp_path / "text.db"
    text.write_text("just some text that is long enough to be mistaken for nothing at all\n" * 20)
    with pytest.raises(StoreError, match=str(text)):
        Database(text, NOTES)


def test_many_openers_of_a_new_file_all_see_it_as_theirs(tmp_path: Path) -> None:
    """Two daemons (or a daemon and a command) creating the same state file at once: the one that loses
    the race must see the other's finished schema, never "no id, no version, but tables" from reads
    taken in different snapshots."""
    for attempt in range(30):
        path = tmp_path / f"race-{attempt}.db"
        start = threading.Barrier(6)
        failures: list[BaseException] = []

        def open_it(
            path: Path = path, start: threading.Barrier = start, failures: list[BaseException] = failures
        ) -> None:
            start.wait()
            try:
                Database(path, NOTES).conn.close()
            except BaseException as exc:
                failures.append(exc)

        threads = [threading.Thread(target=open_it) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not failures, f"attempt {attempt}: {failures[0]}"
