"""History of drift and action events: its port, and the local SQLite file with the queries `spd history`
runs on it.

`HistoryPort` is what the daemon's event outlet and `spd history` use; two adapters implement it:
`SqliteHistory` (this file, one host) and `spd.aws.history_table.HistoryTable` (the shared store's
table, every host), chosen by the composition root (`spd.connect.open_history`). `record` is
synchronous (it is called from the daemon's synchronous event sink): the local file writes at once,
the table buffers and writes in the background.

AWS Config has no stream-processor resource type, so nothing else remembers what drifted and what was
done about it. The daemon (`spd.daemon.service`) appends every drift and action event as it happens and
prunes what is older than `history_retention` days; `spd history` reads it. The file is one
`spd.store.sqlite_store.Database` (WAL, mode 0600), so the command can read while the daemon writes.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from spd.events import Event
from spd.store.sqlite_store import Database, Schema, StoreError, store_errors

SCHEMA = Schema(
    kind="spd history",
    application_id=0x53504448,  # "SPDH"
    migrations=[
        """
        CREATE TABLE events (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            stack TEXT NOT NULL,
            region TEXT,
            processor TEXT,
            event TEXT NOT NULL,
            fields TEXT NOT NULL
        );
        CREATE INDEX events_stack_at ON events (stack, at);
        """,
    ],
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One recorded event."""

    at: datetime
    stack: str
    region: str | None
    processor: str | None
    event: str
    fields: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        return {
            "time": self.at.isoformat().replace("+00:00", "Z"),
            "stack": self.stack,
            "region": self.region,
            "processor": self.processor,
            "event": self.event,
            "fields": self.fields,
        }


class History:
    """The history file. Not thread-safe: one owner (the daemon's event loop, or one command)."""

    def __init__(self, path: Path) -> None:
        self.db = Database(path, SCHEMA)

    def record(self, event: Event, *, stack: str, at: datetime) -> None:
        """Append one event (its own transaction: a killed daemon keeps everything recorded before)."""
        fields = event.fields
        self.db.conn.execute(
            "INSERT INTO events (at, stack, region, processor, event, fields) VALUES (?, ?, ?, ?, ?, ?)",
            (
                at.timestamp(),
                stack,
                _text(fields.get("region")),
                _text(fields.get("processor")),
                event.name,
                json.dumps(fields, default=str, separators=(",", ":")),  # enums, paths: as text
            ),
        )

    def prune(self, *, before: datetime) -> int:
        """Delete the events older than `before`; how many went."""
        cursor = self.db.conn.execute("DELETE FROM events WHERE at < ?", (before.timestamp(),))
        return cursor.rowcount

    def entries(
        self, stack: str, *, processor: str | None = None, since: datetime | None = None
    ) -> Iterator[Entry]:
        """The stack's events, oldest first, optionally of one processor and from `since` on.

        A damaged file (pages SQLite cannot read, a row whose fields are not JSON) raises `StoreError`
        naming it, not the bare `sqlite3` error: `spd history` reports it in one line."""
        query = "SELECT at, stack, region, processor, event, fields FROM events WHERE stack = ?"
        args: list[Any] = [stack]
        if processor is not None:
            query += " AND processor = ?"
            args.append(processor)
        if since is not None:
            query += " AND at >= ?"
            args.append(since.timestamp())
        with store_errors(self.db.path, SCHEMA.kind):
            rows = self.db.conn.execute(query + " ORDER BY at, id", args)
            for at, stk, region, name, event, fields in rows:
                yield Entry(datetime.fromtimestamp(at, UTC), stk, region, name, event, self._fields(fields))

    def rows(self) -> list[tuple[int, Entry]]:
        """Every event of every stack with its row id, oldest first (what `spd store copy` copies)."""
        with store_errors(self.db.path, SCHEMA.kind):
            rows = self.db.conn.execute(
                "SELECT id, at, stack, region, processor, event, fields FROM events ORDER BY at, id"
            ).fetchall()
        return [
            (row_id, Entry(datetime.fromtimestamp(at, UTC), stk, region, name, event, self._fields(fields)))
            for row_id, at, stk, region, name, event, fields in rows
        ]

    def _fields(self, text: str) -> dict[str, Any]:
        try:
            fields = json.loads(text)
        except (TypeError, ValueError):
            fields = None
        if not isinstance(fields, dict):
            raise StoreError(
                f"{self.db.path}: damaged {SCHEMA.kind} database (an event's fields are not JSON)"
            )
        return fields

    def close(self) -> None:
        self.db.close()


class HistoryPort(Protocol):
    """The history of one deployment, open. `where` names it in messages (a file, a table)."""

    where: str

    def record(self, event: Event, *, stack: str, at: datetime) -> None:
        """Append one event; `StoreError` when it cannot be (the caller logs it and goes on)."""
        ...

    async def entries(
        self, stack: str, *, processor: str | None = None, since: datetime | None = None
    ) -> list[Entry]:
        """The stack's events, oldest first; `StoreError` naming the store when it cannot be read."""
        ...

    async def prune(self, *, before: datetime) -> int:
        """Delete the events older than `before`; how many went (0 where expiry does it by itself)."""
        ...

    async def close(self) -> None:
        """Write what is buffered, then let go."""
        ...


class SqliteHistory:
    """`HistoryPort` over the local file (`History`)."""

    def __init__(self, path: Path) -> None:
        self.history = History(path)
        self.where = str(path)

    def record(self, event: Event, *, stack: str, at: datetime) -> None:
        with store_errors(self.history.db.path, SCHEMA.kind):
            self.history.record(event, stack=stack, at=at)

    async def entries(
        self, stack: str, *, processor: str | None = None, since: datetime | None = None
    ) -> list[Entry]:
        return list(self.history.entries(stack, processor=processor, since=since))

    async def prune(self, *, before: datetime) -> int:
        with store_errors(self.history.db.path, SCHEMA.kind):
            return self.history.prune(before=before)

    async def close(self) -> None:
        with contextlib.suppress(sqlite3.Error):
            self.history.close()


def retention_cutoff(now: datetime, days: float) -> datetime:
    return now - timedelta(days=days)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
