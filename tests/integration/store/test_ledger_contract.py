"""The same cases against both session ledger adapters: this host's SQLite file and the shared table
(the emulator's DynamoDB, moto over real HTTP). Two "hosts" are two adapters on one store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ledger_messages import complete_message, label_message
from spd.model import ProcessorId
from spd.sessions.ledger_port import Completion, ReservationRequest, TriggerRow
from spd.sessions.notifications import parse_notification
from store_support import ledgers

PORCH = ProcessorId("us-east-1", "porch")
GATE = ProcessorId("us-east-1", "gate", "cam-account")
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EARLY = NOON - timedelta(hours=1)


def note(message: dict[str, Any]) -> Any:
    import json

    return parse_notification(json.dumps(message))


@pytest.fixture(params=["sqlite", "table"])
async def hosts(request: Any, tmp_path: Path, emu: Any) -> AsyncIterator[Any]:
    async with ledgers(request.param, tmp_path, emu.url, lambda: NOON + timedelta(hours=1)) as make:
        yield make


async def _start(
    ledger: Any, at: datetime, pid: ProcessorId, seconds: int, budget: int | None, sid: str
) -> Any:
    got = await ledger.reserve(
        ReservationRequest(
            at=at, processor=pid, trigger="http", requested_seconds=seconds, budget_seconds=budget
        )
    )
    if got.row is not None:
        await ledger.complete(got.row, Completion(at=at, outcome="started", session_id=sid))
    return got


async def test_a_started_session_counts_its_requested_seconds_and_is_listed(hosts: Any) -> None:
    ledger = await hosts()
    got = await _start(ledger, NOON, PORCH, 30, 100, "s-1")
    assert got.row is not None
    assert got.in_flight is None
    assert await ledger.seconds_used(PORCH, NOON) == 30
    assert await ledger.seconds_used(PORCH, NOON + timedelta(days=1)) == 0
    assert await ledger.seconds_used(GATE, NOON) == 0
    [row] = await ledger.sessions(since=EARLY)
    assert (row.processor, row.region, row.target, row.outcome, row.session_id, row.requested_seconds) == (
        "porch",
        "us-east-1",
        "",
        "started",
        "s-1",
        30,
    )
    assert row.at == NOON
    assert await ledger.processor_of("s-1") == PORCH
    assert await ledger.processor_of("s-unknown") is None


async def test_the_budget_refuses_what_would_exceed_it_across_hosts(hosts: Any) -> None:
    one, two = await hosts(), await hosts()
    assert (await _start(one, NOON, PORCH, 40, 100, "s-1")).row is not None
    assert (await _start(two, NOON + timedelta(minutes=1), PORCH, 40, 100, "s-2")).row is not None
    refused = await one.reserve(
        ReservationRequest(
            at=NOON + timedelta(minutes=2),
            processor=PORCH,
            trigger="http",
            requested_seconds=40,
            budget_seconds=100,
        )
    )
    assert (refused.row, refused.used) == (None, 80)
    assert (
        await two.reserve(
            ReservationRequest(
                at=NOON, processor=PORCH, trigger="http", requested_seconds=101, budget_seconds=100
            )
        )
    ).row is None
    assert await two.seconds_used(PORCH, NOON) == 80


async def test_a_session_not_started_gives_its_seconds_back(hosts: Any) -> None:
    ledger = await hosts()
    got = await ledger.reserve(
        ReservationRequest(at=NOON, processor=PORCH, trigger="sqs", requested_seconds=60, budget_seconds=100)
    )
    assert await ledger.seconds_used(PORCH, NOON) == 60  # the intent counts meanwhile
    await ledger.complete(
        got.row, Completion(at=NOON, outcome="coalesced", reason="a session is open (RUNNING)")
    )
    assert await ledger.seconds_used(PORCH, NOON) == 0
    [row] = await ledger.sessions(since=EARLY)
    assert (row.outcome, row.reason) == ("coalesced", "a session is open (RUNNING)")


async def test_an_intent_never_completed_shows_as_starting_and_counts(hosts: Any) -> None:
    ledger = await hosts()
    await ledger.reserve(
        ReservationRequest(at=NOON, processor=PORCH, trigger="sqs", requested_seconds=60, budget_seconds=None)
    )
    [row] = await (await hosts()).sessions(since=EARLY)
    assert row.outcome == "starting"
    assert await ledger.seconds_used(PORCH, NOON) == 60


async def test_a_notification_is_recorded_once_and_processed_seconds_replace_requested_once(
    hosts: Any,
) -> None:
    one, two = await hosts(), await hosts()
    await _start(one, NOON, PORCH, 60, 100, "s-1")
    done = note(complete_message("s-1", "e-1", 20_500))
    assert await one.record_notification(done, received=NOON) is True
    assert await two.record_notification(done, received=NOON) is False  # redelivered to another host
    assert await one.seconds_used(PORCH, NOON) == 20.5
    again = note(complete_message("s-1", "e-2", 10_000))  # a second completion changes nothing
    assert await two.record_notification(again, received=NOON) is True
    assert await one.seconds_used(PORCH, NOON) == 20.5
    [row] = await two.sessions(since=EARLY)
    assert row.processed_seconds == 20.5


async def test_labels_are_listed_sorted_and_once(hosts: Any) -> None:
    ledger = await hosts()
    await _start(ledger, NOON, PORCH, 60, None, "s-1")
    await ledger.record_notification(note(label_message("s-1", "e-1", "PERSON", "PACKAGE")), received=NOON)
    await ledger.record_notification(note(label_message("s-1", "e-2", "PERSON")), received=NOON)
    [row] = await ledger.sessions(since=EARLY)
    assert row.labels == ("PACKAGE", "PERSON")


async def test_triggers_recorded_at_once_are_listed_by_time_and_filtered(hosts: Any) -> None:
    ledger = await hosts()
    await ledger.record_trigger(
        TriggerRow(
            at=NOON + timedelta(seconds=2),
            processor="porch",
            region="us-east-1",
            trigger="http",
            outcome="refused",
            reason="over the daily budget",
        )
    )
    await _start(ledger, NOON, GATE, 10, None, "s-9")
    await ledger.record_trigger(
        TriggerRow(
            at=EARLY - timedelta(days=1),
            processor="porch",
            region="us-east-1",
            trigger="cli",
            outcome="refused",
        )
    )
    rows = await ledger.sessions(since=EARLY)
    assert [(r.processor, r.outcome) for r in rows] == [("gate", "started"), ("porch", "refused")]
    assert rows[0].target == "cam-account"
    assert [r.processor for r in await ledger.sessions(since=EARLY, processors={"porch"})] == ["porch"]
    assert len(await ledger.sessions(since=EARLY - timedelta(days=2))) == 3


async def test_concurrent_hosts_never_spend_more_than_the_budget(hosts: Any) -> None:
    writers = [await hosts() for _ in range(4)]

    async def one(i: int) -> bool:
        ledger = writers[i % len(writers)]
        got = await ledger.reserve(
            ReservationRequest(
                at=NOON + timedelta(seconds=i),
                processor=PORCH,
                trigger="http",
                requested_seconds=30,
                budget_seconds=100,
            )
        )
        if got.row is None:
            return False
        await ledger.complete(got.row, Completion(at=NOON, outcome="started", session_id=f"s-{i}"))
        return True

    started = 0
    for round_ in range(4):  # rounds: a processor has one start in flight at a time in the table
        started += sum(await asyncio.gather(*(one(round_ * 4 + i) for i in range(4))))
    assert started == 3
    assert await writers[0].seconds_used(PORCH, NOON) == 90
