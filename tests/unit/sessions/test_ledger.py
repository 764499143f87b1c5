"""The notification parser and the ledger: round trip, redelivery, budget arithmetic, the file itself."""

from __future__ import annotations

import json
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger_messages import complete_message, label_message, sns
from old_ledgers import write_old_ledger
from spd.model import ProcessorId
from spd.sessions.ledger import Ledger, ledger_path
from spd.sessions.ledger_port import TriggerRow
from spd.sessions.notifications import (
    DetectedLabel,
    MalformedNotification,
    NotificationType,
    parse_notification,
)
from spd.store.sqlite_store import StoreError

PORCH = ProcessorId("us-east-1", "porch")
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
# -- the parser --------------------------------------------------------------------------------------


def test_label_detected_in_an_sns_envelope() -> None:
    got = parse_notification(sns(label_message("s-1", "e-1", "PERSON", "PACKAGE")))
    assert got.type is NotificationType.LABEL_DETECTED
    assert (got.session_id, got.event_id, got.processor) == ("s-1", "e-1", "porch")
    assert got.labels == (DetectedLabel("PERSON", 91.5, 1200), DetectedLabel("PACKAGE", 91.5, 1200))


def test_completion_raw_delivery_and_bytes() -> None:
    got = parse_notification(json.dumps(complete_message("s-1", "e-9", 29_500)).encode())
    assert got.type is NotificationType.STREAM_PROCESSING_COMPLETE
    assert got.processed_seconds == 29.5


def test_the_envelope_message_id_stands_in_for_a_missing_event_id() -> None:
    message = complete_message("s-1", "unused", 1000)
    del message["eventId"]
    assert parse_notification(sns(message, "sns-77")).event_id == "sns-77"


MALFORMED = [
    ("not json", "{nope"),
    ("not an object", "[1]"),
    ("message not json", json.dumps({"Type": "Notification", "MessageId": "m", "Message": "{nope"})),
    ("other event", sns({**complete_message("s", "e", 1), "eventNamespace": {"type": "FACE_SEARCH"}})),
    ("no namespace", sns({"sessionId": "s", "eventId": "e"})),
    ("no session", sns({k: v for k, v in complete_message("s", "e", 1).items() if k != "sessionId"})),
    ("no duration", sns({**complete_message("s", "e", 1), "inputInformation": {}})),
    ("no labels", sns({**label_message("s", "e"), "labels": []})),
    ("label without name", sns({**label_message("s", "e", "PERSON"), "labels": [{"id": "x"}]})),
    ("not utf-8", b"\xff\xfe"),
]


@pytest.mark.parametrize("body", [m[1] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_malformed_notifications_are_refused(body: Any) -> None:
    with pytest.raises(MalformedNotification):
        parse_notification(body)


# -- the ledger --------------------------------------------------------------------------------------


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    with Ledger.open(tmp_path / "state") as opened:
        yield opened


def test_the_file_is_private_and_refuses_other_databases(tmp_path: Path) -> None:
    with Ledger.open(tmp_path / "state"):
        pass
    path = ledger_path(tmp_path / "state")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    other = tmp_path / "other.db"
    import sqlite3

    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(StoreError, match="not an spd session ledger"):
        Ledger(other)


def test_round_trip_with_a_redelivered_notification(ledger: Ledger) -> None:
    ledger.record_trigger(
        TriggerRow(
            at=NOON,
            processor="porch",
            region="us-east-1",
            trigger="sqs",
            outcome="started",
            requested_seconds=30,
            session_id="s-1",
        )
    )
    ledger.record_trigger(TriggerRow(
        at=NOON + timedelta(seconds=5), processor="porch", region="us-east-1", trigger="http", outcome="coalesced",
        requested_seconds=30, reason="a session is open (STARTING)",
    ))  # fmt: skip
    labels = parse_notification(sns(label_message("s-1", "e-1", "PERSON")))
    done = parse_notification(sns(complete_message("s-1", "e-2", 29_500)))
    assert ledger.record_notification(labels, received=NOON) is True
    assert ledger.record_notification(labels, received=NOON) is False  # redelivered: nothing changes
    assert ledger.record_notification(done, received=NOON) is True
    assert ledger.record_notification(done, received=NOON) is False
    assert ledger.processor_of("s-1") == PORCH
    records = ledger.sessions(since=NOON - timedelta(hours=1))
    assert [(r.outcome, r.trigger, r.processed_seconds, r.labels) for r in records] == [
        ("started", "sqs", 29.5, ("PERSON",)),
        ("coalesced", "http", None, ()),
    ]
    assert records[1].reason == "a session is open (STARTING)"
    assert ledger.sessions(since=NOON + timedelta(hours=1)) == []
    assert ledger.sessions(since=NOON - timedelta(hours=1), processors={"garage"}) == []


def test_budget_counts_requested_seconds_corrected_by_processed_ones(ledger: Ledger) -> None:
    for i, seconds in enumerate((30, 30, 10)):
        ledger.record_trigger(TriggerRow(
            at=NOON + timedelta(minutes=i), processor="porch", region="us-east-1", trigger="cli",
            outcome="started", requested_seconds=seconds, session_id=f"s-{i}",
        ))  # fmt: skip
    # Not counted: another processor, another region, a refused trigger, yesterday (UTC).
    for at, processor, region, outcome, session_id in (
        (NOON, "garage", "us-east-1", "started", "g"),
        (NOON, "porch", "eu-west-1", "started", "eu"),
        (NOON, "porch", "us-east-1", "refused", None),
        (NOON - timedelta(hours=13), "porch", "us-east-1", "started", "yesterday"),
    ):
        ledger.record_trigger(TriggerRow(
            at=at, processor=processor, region=region, trigger="cli", outcome=outcome,
            requested_seconds=99, session_id=session_id,
        ))  # fmt: skip
    assert ledger.seconds_used(PORCH, NOON) == 70
    ledger.record_notification(parse_notification(sns(complete_message("s-0", "e-0", 12_500))), received=NOON)
    assert ledger.seconds_used(PORCH, NOON) == 52.5
    assert ledger.seconds_used(PORCH, NOON - timedelta(days=1)) == 99


def test_the_same_name_in_two_targets_is_two_processors(tmp_path: Path) -> None:
    """Names are unique per target and region only: budgets and the session's owner keep them apart."""
    alpha, beta = ProcessorId("us-east-1", "porch", "alpha"), ProcessorId("us-east-1", "porch", "beta")
    with Ledger.open(tmp_path) as ledger:
        for pid, seconds, session in ((alpha, 30, "s-a"), (beta, 100, "s-b")):
            ledger.record_trigger(
                TriggerRow(
                    at=NOON,
                    processor=pid.name,
                    region=pid.region,
                    target=pid.target,
                    trigger="http",
                    outcome="started",
                    requested_seconds=seconds,
                    session_id=session,
                )
            )
        assert (ledger.seconds_used(alpha, NOON), ledger.seconds_used(beta, NOON)) == (30, 100)
        assert ledger.seconds_used(PORCH, NOON) == 0
        assert ledger.processor_of("s-b") == beta
        assert [r.target for r in ledger.sessions(since=NOON)] == ["alpha", "beta"]


def test_a_ledger_written_before_targets_is_read_as_the_ambient_targets(tmp_path: Path) -> None:
    write_old_ledger(tmp_path, versions=1, at=NOON)
    with Ledger.open(tmp_path) as ledger:
        assert ledger.seconds_used(PORCH, NOON) == 40
        assert ledger.processor_of("s-1") == PORCH
        assert [r.target for r in ledger.sessions(since=NOON)] == [""]
