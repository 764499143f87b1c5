"""The start path against the emulator over real HTTP: selectors on the wire, coalescing, ownership,
budget, and no Start call for any refused trigger."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from builders import STACK, desired, face_config, home_config, state
from recording_proxy import RecordingProxy
from spd import events
from spd.aws.gateway import Gateway
from spd.aws.mapping import create_request
from spd.errors import SessionOpenError
from spd.events import Event
from spd.model import STACK_TAG, FragmentNumber, SessionPolicy
from spd.sessions.ledger import Ledger
from spd.sessions.ledger_port import TriggerRow
from spd.sessions.start import Outcome, SessionStarter
from spd.sessions.trigger import RefusalReason, TriggerSource

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
PORCH = replace(
    desired(home_config("porch")), sessions=SessionPolicy(max_duration_seconds=30, budget_seconds_per_day=100)
)
SPEC = state(PORCH, desired(face_config("lobby")), desired(home_config("garage")))


def create(emu: Any, config: Any, owner: str | None = STACK) -> None:
    """Create the processor, and first what it references (so a session runs under strict references)."""
    tags = {} if owner is None else {STACK_TAG: owner}
    emu.create_references(create_request(config, tags), region=config.region)
    emu.client().create_stream_processor(**create_request(config, tags))


def starts(emu: Any) -> int:
    return int(emu.stats()["calls"].get("StartStreamProcessor", 0))


@pytest.fixture
async def proxy(emu: Any) -> AsyncIterator[RecordingProxy]:
    with RecordingProxy(emu.url) as running:
        yield running


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    with Ledger.open(tmp_path) as opened:
        yield opened


class Run:
    """A starter on a fresh gateway through the proxy, collecting its events."""

    def __init__(self, url: str, ledger: Ledger | None) -> None:
        self.url = url
        self.ledger = ledger
        self.events: list[Event] = []

    async def trigger(self, body: Any, source: TriggerSource = TriggerSource.HTTP) -> Any:
        async with Gateway.open(endpoint_url=self.url, max_attempts=1) as gateway:
            starter = SessionStarter(
                gateway=gateway,
                stack=STACK,
                ledger=self.ledger,
                clock=lambda: NOW,
                on_event=self.events.append,
            )
            return await starter.trigger(body, SPEC, source=source)


async def test_a_start_without_selector_sends_the_arrival_time_and_the_spec_duration(
    emu: Any, proxy: RecordingProxy, ledger: Ledger
) -> None:
    create(emu, PORCH.config)
    run = Run(proxy.url, ledger)
    outcome = await run.trigger('{"processor": "porch"}')
    assert outcome.outcome is Outcome.STARTED
    assert outcome.session_id
    assert proxy.requests("StartStreamProcessor") == [
        {
            "Name": "porch",
            "StartSelector": {"KVSStreamStartSelector": {"ProducerTimestamp": NOW_MS}},
            "StopSelector": {"MaxDurationInSeconds": 30},
        }
    ]
    assert emu.client().describe_stream_processor(Name="porch")["Status"] == "STARTING"
    [event] = run.events
    assert event.name == events.SESSION_STARTED
    assert event.fields["session_id"] == outcome.session_id
    assert (event.fields["processor"], event.fields["region"], event.fields["trigger"]) == (
        "porch",
        "us-east-1",
        "http",
    )
    [record] = ledger.sessions(since=NOW)
    assert (record.outcome, record.session_id, record.requested_seconds, record.trigger) == (
        "started",
        outcome.session_id,
        30,
        "http",
    )


@pytest.mark.parametrize(
    ("body", "selector", "seconds"),
    [
        ({"producer_timestamp_ms": NOW_MS - 4000}, {"ProducerTimestamp": NOW_MS - 4000}, 30),
        ({"fragment_number": "91343852333181432392682062622220590765191907586"},
         {"FragmentNumber": "91343852333181432392682062622220590765191907586"}, 30),
        ({"fragment_number": "7", "max_duration_seconds": 120}, {"FragmentNumber": "7"}, 120),
    ],
    ids=["producer-timestamp", "fragment-number", "fragment-and-duration"],
)  # fmt: skip
async def test_each_selector_reaches_the_service(
    emu: Any, proxy: RecordingProxy, body: dict[str, Any], selector: dict[str, Any], seconds: int
) -> None:
    create(emu, PORCH.config)
    outcome = await Run(proxy.url, None).trigger({"processor": "porch", **body}, TriggerSource.SQS)
    assert outcome.outcome is Outcome.STARTED
    [sent] = proxy.requests("StartStreamProcessor")
    assert sent["StartSelector"] == {"KVSStreamStartSelector": selector}
    assert sent["StopSelector"] == {"MaxDurationInSeconds": seconds}


async def test_a_second_trigger_while_starting_is_coalesced_without_a_start(emu: Any, ledger: Ledger) -> None:
    create(emu, PORCH.config)
    run = Run(emu.url, ledger)
    first = await run.trigger({"processor": "porch"})
    second = await run.trigger({"processor": "porch", "fragment_number": "12"}, TriggerSource.SQS)
    assert (first.outcome, second.outcome) == (Outcome.STARTED, Outcome.COALESCED)
    assert starts(emu) == 1
    assert "STARTING" in (second.reason or "")
    assert [e.name for e in run.events] == [events.SESSION_STARTED, events.SESSION_COALESCED]
    assert [r.outcome for r in ledger.sessions(since=NOW)] == ["started", "coalesced"]


async def test_a_start_that_loses_the_race_is_coalesced(emu: Any) -> None:
    """Describe said STOPPED, then another start got there first: the service's ResourceInUseException."""
    create(emu, PORCH.config)
    emu.fault(
        "StartStreamProcessor", "ResourceInUseException", count=1, message="Specified resource is in use."
    )
    run = Run(emu.url, None)
    outcome = await run.trigger({"processor": "porch"})
    assert outcome.outcome is Outcome.COALESCED
    assert "race" in (outcome.reason or "")
    assert run.events[0].name == events.SESSION_COALESCED


async def test_the_gateway_maps_in_use_on_start_to_session_open(emu: Any) -> None:
    create(emu, PORCH.config)
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gateway:
        client = await gateway.region("us-east-1")
        assert await client.start_session("porch", FragmentNumber("1"), 5)
        with pytest.raises(SessionOpenError):
            await client.start_session("porch", FragmentNumber("2"), 5)


BAD_BODIES = [
    b"not json",
    "[]",
    {"processor": "porch", "extra": 1},
    {"processor": "nowhere"},
    {"processor": "lobby"},
    {"processor": "porch", "producer_timestamp_ms": 1_764_000_000},
    {"processor": "porch", "producer_timestamp_ms": NOW_MS, "fragment_number": "1"},
    {"processor": "porch", "fragment_number": "abc"},
    {"processor": "porch", "max_duration_seconds": 0},
    {"processor": "porch", "max_duration_seconds": 121},
]


async def test_every_bad_trigger_is_refused_without_a_start(emu: Any, ledger: Ledger) -> None:
    create(emu, PORCH.config)
    create(emu, face_config("lobby"))
    run = Run(emu.url, ledger)
    for body in BAD_BODIES:
        outcome = await run.trigger(body)
        assert outcome.outcome is Outcome.REFUSED, body
        assert outcome.refusal is not None, body
        assert outcome.refusal.bad_input, body
    assert starts(emu) == 0
    assert {e.name for e in run.events} == {events.SESSION_REFUSED}
    assert len(ledger.sessions(since=NOW)) == len(BAD_BODIES)


@pytest.mark.parametrize("owner", [None, "someone-else"])
async def test_a_processor_this_stack_does_not_own_is_never_started(emu: Any, owner: str | None) -> None:
    create(emu, home_config("garage"), owner=owner)
    outcome = await Run(emu.url, None).trigger({"processor": "garage"})
    assert (outcome.outcome, outcome.refusal) == (Outcome.REFUSED, RefusalReason.NOT_OWNED)
    assert starts(emu) == 0


async def test_a_processor_not_yet_created_is_refused(emu: Any) -> None:
    outcome = await Run(emu.url, None).trigger({"processor": "porch"})
    assert (outcome.outcome, outcome.refusal) == (Outcome.REFUSED, RefusalReason.NOT_FOUND)
    assert starts(emu) == 0


async def test_a_trigger_beyond_the_daily_budget_is_refused(emu: Any, ledger: Ledger) -> None:
    create(emu, PORCH.config)
    # 100 s a day; 2 x 30 s started earlier today, a 30 s one would still fit, a 60 s one would not.
    for i in range(2):
        ledger.record_trigger(TriggerRow(
            at=NOW, processor="porch", region="us-east-1", trigger="sqs", outcome="started",
            requested_seconds=30, session_id=f"earlier-{i}",
        ))  # fmt: skip
    run = Run(emu.url, ledger)
    over = await run.trigger({"processor": "porch", "max_duration_seconds": 60})
    assert (over.outcome, over.refusal) == (Outcome.REFUSED, RefusalReason.BUDGET)
    assert "60 of 100" in (over.reason or "")
    assert not over.refusal.bad_input
    assert starts(emu) == 0
    assert (await run.trigger({"processor": "porch"})).outcome is Outcome.STARTED


async def test_a_service_error_is_a_temporary_refusal(emu: Any) -> None:
    create(emu, PORCH.config)
    emu.fault("StartStreamProcessor", "InternalServerError", count=1, status=500)
    outcome = await Run(emu.url, None).trigger({"processor": "porch"})
    assert (outcome.outcome, outcome.refusal, outcome.temporary) == (
        Outcome.REFUSED,
        RefusalReason.SERVICE_ERROR,
        True,
    )
