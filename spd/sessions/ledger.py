"""The session ledger: every trigger's outcome and every session's notifications, in SQLite.

Written by the start path (`spd.sessions.start`, one row per trigger: started, coalesced or refused)
and by the results-queue reader (`record_notification`); read by `spd sessions`, the budget check and
the metrics. One file, `sessions.db` in the state directory, through `spd.store.sqlite_store` (WAL, mode
0600, migrations), so the daemon and a `spd session start` or `spd sessions` beside it share it safely.
Notifications are keyed by their event id: a redelivered SQS message changes nothing, and
`record_notification` says whether it was new (so counters count it once).

A trigger that may start a session is written before its StartStreamProcessor call, as an intent row
(`reserve`, outcome `starting`, in the same write transaction as its budget check), and completed once
its outcome is known (`complete`). So a ledger that cannot be written stops the start before any call,
and an intent whose process died before completing it still counts against the day's budget
(conservative: the Start may have been made) and shows as `starting` in `spd sessions`. Write failures
(disk full, a damaged file) surface as `LedgerError`.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
import threading
from collections.abc import Callable, Coroutine, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeVar

from spd.model import ProcessorId
from spd.sessions.ledger_port import (
    BUDGETED,
    INTENT_REASON,
    STARTING,
    Completion,
    LedgerError,
    Reservation,
    ReservationRequest,
    RowRef,
    SessionRecord,
    TriggerRow,
    utc_day,
)
from spd.sessions.notifications import Notification, NotificationType
from spd.store.sqlite_store import Database, Schema, sqlite_error

__all__ = [
    "INTENT_REASON",
    "LEDGER_FILE",
    "SCHEMA",
    "STARTING",
    "Ledger",
    "LedgerError",
    "Reservation",
    "SessionRecord",
    "SqliteLedger",
    "ledger_path",
    "utc_day",
]

LEDGER_FILE = "sessions.db"

_BUDGETED = BUDGETED

SCHEMA = Schema(
    kind="spd session ledger",
    application_id=0x53504453,  # "SPDS"
    migrations=(
        """
        CREATE TABLE sessions (
            id INTEGER PRIMARY KEY,
            at_ms INTEGER NOT NULL,
            processor TEXT NOT NULL,
            region TEXT NOT NULL,
            trigger TEXT NOT NULL,
            requested_seconds INTEGER,
            session_id TEXT,
            outcome TEXT NOT NULL,
            reason TEXT
        );
        CREATE INDEX sessions_by_processor ON sessions (processor, region, at_ms);
        CREATE INDEX sessions_by_time ON sessions (at_ms);
        CREATE UNIQUE INDEX sessions_by_id ON sessions (session_id) WHERE session_id IS NOT NULL;
        CREATE TABLE notifications (
            event_id TEXT PRIMARY KEY,
            session_id TEXT NOT NULL,
            type TEXT NOT NULL,
            received_ms INTEGER NOT NULL,
            processed_ms INTEGER
        );
        CREATE INDEX notifications_by_session ON notifications (session_id, type);
        CREATE TABLE labels (
            event_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            session_id TEXT NOT NULL,
            name TEXT NOT NULL,
            confidence REAL,
            offset_ms INTEGER,
            PRIMARY KEY (event_id, position)
        );
        CREATE INDEX labels_by_session ON labels (session_id);
        """,
        # Processor names are unique per target and region only: the same name in two accounts is two
        # processors, with a budget each.
        """
        ALTER TABLE sessions ADD COLUMN target TEXT NOT NULL DEFAULT '';
        DROP INDEX sessions_by_processor;
        CREATE INDEX sessions_by_processor ON sessions (processor, region, target, at_ms);
        """,
        # Intent rows: written before the Start, completed after it. `completed_ms` is NULL until then;
        # rows written before intents existed were complete when written.
        """
        ALTER TABLE sessions ADD COLUMN completed_ms INTEGER;
        UPDATE sessions SET completed_ms = at_ms;
        CREATE INDEX sessions_incomplete ON sessions (at_ms) WHERE completed_ms IS NULL;
        """,
    ),
)


def ledger_path(state_dir: Path) -> Path:
    return state_dir / LEDGER_FILE


def _ledger_error(path: Path, exc: sqlite3.Error) -> LedgerError:
    """A failed read as every state file says it (`spd.store.sqlite_store.sqlite_error`: "damaged ...",
    "disk full ..."), with that error's exit code (75 when it passes by itself, else 78)."""
    classified = sqlite_error(path, SCHEMA.kind, exc)
    error = LedgerError(str(classified))
    error.exit_code = classified.exit_code
    return error


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


P = ParamSpec("P")
R = TypeVar("R")


class Ledger:
    """The ledger file, open. Methods are safe to call from several threads of one process."""

    def __init__(self, path: Path) -> None:
        self._db = Database(path, SCHEMA)
        self._lock = threading.Lock()
        self.path = path

    @classmethod
    def open(cls, state_dir: Path) -> Ledger:
        return cls(ledger_path(state_dir))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        """One write transaction under the lock; any failure is a `LedgerError`, the transaction undone.

        A COMMIT that fails (SQLITE_FULL) leaves the transaction open; it is rolled back here, or every
        later write would fail too ("cannot start a transaction within a transaction") after the disk
        has room again."""
        with self._lock:
            try:
                with self._db.write() as conn:
                    yield conn
            except (sqlite3.Error, OSError) as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()
                raise LedgerError(f"{self.path}: the session ledger cannot be written: {exc}") from exc

    def reserve(self, request: ReservationRequest) -> Reservation:
        """Before a Start: check the day's budget and write the intent row, in one write transaction
        (two processes sharing the file cannot both squeeze under the budget). Raises `LedgerError`."""
        processor, budget_seconds = request.processor, request.budget_seconds
        with self._writing() as conn:
            used = self._used(conn, processor, request.at)
            if budget_seconds is not None and used + request.requested_seconds > budget_seconds:
                return Reservation(None, used)
            cursor = conn.execute(
                "INSERT INTO sessions (at_ms, processor, region, target, trigger, requested_seconds,"
                " outcome, reason) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    _ms(request.at),
                    processor.name,
                    processor.region,
                    processor.target,
                    request.trigger,
                    request.requested_seconds,
                    STARTING,
                    INTENT_REASON,
                ),
            )
            row = cursor.lastrowid
        assert row is not None
        return Reservation(row, used)

    def complete(self, row: RowRef, completion: Completion) -> None:
        """The outcome of the intent `row` (from `reserve`). Raises `LedgerError`; the row then stays an
        intent, still counted against the budget."""
        with self._writing() as conn:
            conn.execute(
                "UPDATE OR IGNORE sessions SET outcome = ?, session_id = ?, reason = ?, completed_ms = ?"
                " WHERE id = ?",
                (completion.outcome, completion.session_id, completion.reason, _ms(completion.at), row),
            )

    def record_trigger(self, row: TriggerRow) -> None:
        """One trigger's outcome, written at once (a trigger refused before any intent: malformed,
        over budget). Raises `LedgerError`."""
        with self._writing() as conn:
            conn.execute(
                "INSERT INTO sessions (at_ms, processor, region, target, trigger, requested_seconds,"
                " session_id, outcome, reason, completed_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " ON CONFLICT DO NOTHING",
                (
                    _ms(row.at),
                    row.processor,
                    row.region,
                    row.target,
                    row.trigger,
                    row.requested_seconds,
                    row.session_id,
                    row.outcome,
                    row.reason,
                    _ms(row.at),
                ),
            )

    def record_notification(self, notification: Notification, *, received: datetime) -> bool:
        """Store a notification; False when its event was stored before (a redelivery): nothing changes."""
        with self._lock, self._db.write() as conn:
            cursor = conn.execute(
                "INSERT INTO notifications (event_id, session_id, type, received_ms, processed_ms)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                (
                    notification.event_id,
                    notification.session_id,
                    notification.type.value,
                    _ms(received),
                    notification.processed_video_millis,
                ),
            )
            if cursor.rowcount == 0:
                return False
            conn.executemany(
                "INSERT INTO labels (event_id, position, session_id, name, confidence, offset_ms)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                [
                    (notification.event_id, i, notification.session_id, x.name, x.confidence, x.offset_ms)
                    for i, x in enumerate(notification.labels)
                ],
            )
            return True

    def processor_of(self, session_id: str) -> ProcessorId | None:
        """Which processor a session belongs to (for metrics labelled by processor), if it started here."""
        with self._lock:
            row = self._db.conn.execute(
                "SELECT region, processor, target FROM sessions WHERE session_id = ?", (session_id,)
            ).fetchone()
        return None if row is None else ProcessorId(row[0], row[1], row[2])

    def seconds_used(self, processor: ProcessorId, day_of: datetime) -> float:
        """Session seconds of `processor` on the UTC day of `day_of`: each started session's requested
        seconds, or its processed seconds once its completion notification has arrived; an intent row
        (a Start perhaps made, its outcome never recorded) counts its requested seconds."""
        with self._lock:
            return self._used(self._db.conn, processor, day_of)

    @staticmethod
    def _used(conn: sqlite3.Connection, processor: ProcessorId, day_of: datetime) -> float:
        start, end = utc_day(day_of)
        row = conn.execute(
            "SELECT COALESCE(SUM(COALESCE(c.processed_ms / 1000.0, s.requested_seconds)), 0)"
            " FROM sessions s LEFT JOIN ("
            "   SELECT session_id, MAX(processed_ms) AS processed_ms FROM notifications"
            "   WHERE type = ? GROUP BY session_id"
            " ) c ON c.session_id = s.session_id"
            " WHERE s.outcome IN (?, ?) AND s.processor = ? AND s.region = ? AND s.target = ?"
            " AND s.at_ms >= ? AND s.at_ms < ?",
            (
                NotificationType.STREAM_PROCESSING_COMPLETE.value,
                *_BUDGETED,
                processor.name,
                processor.region,
                processor.target,
                _ms(start),
                _ms(end),
            ),
        ).fetchone()
        return float(row[0])

    def sessions(self, *, since: datetime, processors: Iterable[str] | None = None) -> list[SessionRecord]:
        """Every trigger recorded since `since`, oldest first, with processed seconds and labels."""
        wanted = None if processors is None else set(processors)
        with self._lock:
            try:
                rows = self._rows(since)
            except sqlite3.Error as exc:
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()
                raise _ledger_error(self.path, exc) from exc
        return [
            SessionRecord(
                at=datetime.fromtimestamp(at_ms / 1000, UTC),
                processor=processor,
                region=region,
                target=target,
                trigger=trigger,
                outcome=outcome,
                requested_seconds=requested,
                session_id=session_id,
                reason=reason,
                processed_seconds=None if processed is None else processed / 1000,
                labels=tuple(labels.split(",")) if labels else (),
            )
            for (
                at_ms,
                processor,
                region,
                target,
                trigger,
                outcome,
                requested,
                session_id,
                reason,
                processed,
                labels,
            ) in rows
            if wanted is None or processor in wanted
        ]

    def source_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        """Every session row (with its processed milliseconds and labels) and every notification (with
        its labels), in one read snapshot: what `spd store copy` copies to the shared store."""
        with self._lock:
            self._db.begin_read()
            try:
                conn = self._db.conn
                sessions = conn.execute(
                    "SELECT s.id, s.at_ms, s.processor, s.region, s.target, s.trigger, s.requested_seconds,"
                    " s.session_id, s.outcome, s.reason, s.completed_ms,"
                    " (SELECT MAX(processed_ms) FROM notifications n"
                    "   WHERE n.session_id = s.session_id AND n.type = ?),"
                    " (SELECT group_concat(name, ',') FROM (SELECT DISTINCT name FROM labels l"
                    "   WHERE l.session_id = s.session_id ORDER BY name))"
                    " FROM sessions s ORDER BY s.at_ms, s.id",
                    (NotificationType.STREAM_PROCESSING_COMPLETE.value,),
                ).fetchall()
                notes = conn.execute(
                    "SELECT n.event_id, n.session_id, n.type, n.received_ms, n.processed_ms,"
                    " (SELECT group_concat(name, ',') FROM (SELECT name FROM labels l"
                    "   WHERE l.event_id = n.event_id ORDER BY position))"
                    " FROM notifications n ORDER BY n.received_ms, n.event_id"
                ).fetchall()
            except sqlite3.Error as exc:
                raise _ledger_error(self.path, exc) from exc
            finally:
                with contextlib.suppress(sqlite3.Error):
                    self._db.rollback()
        session_names = (
            "id",
            "at_ms",
            "processor",
            "region",
            "target",
            "trigger",
            "requested_seconds",
            "session_id",
            "outcome",
            "reason",
            "completed_ms",
            "processed_ms",
            "labels",
        )
        note_names = ("event_id", "session_id", "type", "received_ms", "processed_ms", "labels")
        return (
            [dict(zip(session_names, row, strict=True)) for row in sessions],
            [dict(zip(note_names, row, strict=True)) for row in notes],
        )

    def _rows(self, since: datetime) -> list[Any]:
        """The rows of `sessions` since `since`, in one read snapshot (under the caller's lock)."""
        self._db.begin_read()
        try:
            return self._db.conn.execute(
                "SELECT s.at_ms, s.processor, s.region, s.target, s.trigger, s.outcome, s.requested_seconds,"
                " s.session_id, s.reason,"
                " (SELECT MAX(processed_ms) FROM notifications n"
                "   WHERE n.session_id = s.session_id AND n.type = ?),"
                " (SELECT group_concat(name, ',') FROM (SELECT DISTINCT name FROM labels l"
                "   WHERE l.session_id = s.session_id ORDER BY name))"
                " FROM sessions s WHERE s.at_ms >= ? ORDER BY s.at_ms, s.id",
                (NotificationType.STREAM_PROCESSING_COMPLETE.value, _ms(since)),
            ).fetchall()
        finally:
            self._db.rollback()


def _awaitable(
    method: Callable[Concatenate[Ledger, P], R],
) -> Callable[Concatenate[SqliteLedger, P], Coroutine[Any, Any, R]]:
    """`method` of the sync `Ledger`, as a coroutine method of `SqliteLedger` that calls it on the wrapped
    ledger (same parameters, nothing awaited): the port's async face without restating each signature."""

    @functools.wraps(method)
    async def call(self: SqliteLedger, /, *args: P.args, **kwargs: P.kwargs) -> R:
        # Looked up on the instance, not called as `method`: what the wrapped ledger has there answers.
        bound: Callable[P, R] = getattr(self.ledger, method.__name__)
        return bound(*args, **kwargs)

    return call


class SqliteLedger:
    """`LedgerPort` over the local file: the sync `Ledger`'s answers behind async methods (SQLite answers
    in microseconds on the caller's thread, as it always has). Closing it closes the file."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.path = ledger.path

    @classmethod
    def open(cls, state_dir: Path) -> SqliteLedger:
        return cls(Ledger.open(state_dir))

    reserve = _awaitable(Ledger.reserve)
    complete = _awaitable(Ledger.complete)
    record_trigger = _awaitable(Ledger.record_trigger)
    record_notification = _awaitable(Ledger.record_notification)
    processor_of = _awaitable(Ledger.processor_of)
    seconds_used = _awaitable(Ledger.seconds_used)
    sessions = _awaitable(Ledger.sessions)
    close = _awaitable(Ledger.close)
