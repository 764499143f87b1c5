"""Intent rows: the budget check and the row written before a Start in one transaction, completed after;
an intent never completed counts against the budget and shows in `spd sessions`; an older ledger is
migrated; a write that fails is a `LedgerError` and leaves the ledger usable once it can be written."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from old_ledgers import write_old_ledger
from spd.model import ProcessorId
from spd.sessions.ledger import INTENT_REASON, SCHEMA, STARTING, Ledger, LedgerError, ledger_path
from spd.sessions.ledger_port import Completion, ReservationRequest
from spdrun import home, run_spd, write_spec

NOON = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
PORCH = ProcessorId("us-east-1", "porch")


def test_reserve_checks_the_budget_and_writes_the_intent(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        first = ledger.reserve(
            ReservationRequest(
                at=NOON, processor=PORCH, trigger="http", requested_seconds=60, budget_seconds=100
            )
        )
        assert first.row is not None
        assert first.used == 0
        over = ledger.reserve(
            ReservationRequest(
                at=NOON, processor=PORCH, trigger="http", requested_seconds=60, budget_seconds=100
            )
        )
        assert (over.row, over.used) == (None, 60)  # the uncompleted intent counts
        assert [r.outcome for r in ledger.sessions(since=NOON)] == [STARTING]  # nothing written for `over`
        ledger.complete(first.row, Completion(at=NOON, outcome="started", session_id="s-1"))
        [row] = ledger.sessions(since=NOON)
        assert (row.outcome, row.session_id, row.reason) == ("started", "s-1", None)
        assert ledger.processor_of("s-1") == PORCH
        # A completed refusal no longer counts.
        second = ledger.reserve(
            ReservationRequest(
                at=NOON, processor=PORCH, trigger="http", requested_seconds=30, budget_seconds=100
            )
        )
        assert second.row is not None
        ledger.complete(second.row, Completion(at=NOON, outcome="refused", reason="not_leader"))
        assert ledger.seconds_used(PORCH, NOON) == 60


def test_a_ledger_of_the_previous_version_is_migrated(tmp_path: Path) -> None:
    write_old_ledger(tmp_path, versions=len(SCHEMA.migrations) - 1, at=NOON)
    with Ledger.open(tmp_path) as ledger:
        assert ledger.seconds_used(PORCH, NOON) == 40
        pending = ledger.reserve(
            ReservationRequest(
                at=NOON, processor=PORCH, trigger="cli", requested_seconds=10, budget_seconds=None
            )
        )
        assert pending.row is not None
    conn = sqlite3.connect(ledger_path(tmp_path))
    try:
        rows = conn.execute("SELECT session_id, completed_ms IS NULL FROM sessions ORDER BY id").fetchall()
    finally:
        conn.close()
    assert rows == [("s-1", 0), (None, 1)]


def test_a_failed_write_is_a_ledger_error_and_the_ledger_recovers(tmp_path: Path) -> None:
    with Ledger.open(tmp_path) as ledger:
        # A concurrent writer holding the lock past the busy timeout stands in for any failed write.
        ledger._db.conn.execute("PRAGMA busy_timeout = 10")
        blocker = sqlite3.connect(ledger_path(tmp_path), isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")
        try:
            with pytest.raises(LedgerError, match="cannot be written"):
                ledger.reserve(
                    ReservationRequest(
                        at=NOON, processor=PORCH, trigger="http", requested_seconds=5, budget_seconds=None
                    )
                )
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        assert ledger.reserve(
            ReservationRequest(
                at=NOON, processor=PORCH, trigger="http", requested_seconds=5, budget_seconds=None
            )
        ).row


def test_spd_sessions_shows_an_intent_left_by_a_crash(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    now = datetime.now(UTC) - timedelta(minutes=1)
    with Ledger.open(tmp_path / "state") as ledger:
        ledger.reserve(
            ReservationRequest(
                at=now, processor=PORCH, trigger="sqs", requested_seconds=30, budget_seconds=None
            )
        )
    env = {"SPD_STATE_DIR": str(tmp_path / "state")}
    listed = run_spd(["sessions", str(spec), "--output", "json"], env=env)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)["sessions"]
    assert (row["outcome"], row["requested_seconds"], row["reason"]) == (STARTING, 30, INTENT_REASON)
    text = run_spd(["sessions", str(spec)], env=env)
    assert text.returncode == 0, text.stderr
    assert " starting " in text.stdout
    assert "1 with no outcome recorded (starting: counted against the budget)" in text.stdout
