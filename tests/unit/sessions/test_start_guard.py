"""The start path's two guards, with an in-memory gateway: the lease guard is asked right before the
Start (after the Describe and ListTags), and the ledger knows every Start before it is sent.

Also the bodies refused before any call: JSON nested too deeply, a producer timestamp beyond the API's
range."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import pytest

from builders import STACK, desired, home_config, observed, state
from spd import events
from spd.api.constraints import shape_of, value_range
from spd.aws.gateway import Gateway
from spd.events import Event
from spd.model import ObservedProcessor, SessionPolicy, StartSelector, Status
from spd.reconcile.mutation_gate import MutationGate
from spd.sessions.ledger import STARTING, Ledger, LedgerError
from spd.sessions.ledger_port import ReservationRequest, TriggerRow
from spd.sessions.start import Outcome, SessionStarter
from spd.sessions.trigger import RefusalReason, TriggerSource, parse_trigger
from spd.store.sqlite_store import StoreError

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PORCH = replace(
    desired(home_config("porch")), sessions=SessionPolicy(max_duration_seconds=30, budget_seconds_per_day=100)
)
SPEC = state(PORCH)
LONG_MAX = int(value_range(shape_of("StartStreamProcessorRequest", "StartSelector",
                                    "KVSStreamStartSelector", "ProducerTimestamp"))[1] or 0)  # fmt: skip


class FakeClient:
    """A region client that records its calls; `on_describe` runs while the Describe is "in flight"."""

    def __init__(self, processor: ObservedProcessor) -> None:
        self.processor = processor
        self.calls: list[str] = []
        self.on_describe = lambda: None

    async def describe(self, name: str, *, with_tags: bool = True) -> ObservedProcessor:
        self.calls.append("DescribeStreamProcessor")
        self.calls.append("ListTagsForResource")
        self.on_describe()
        return self.processor

    async def start_session(self, name: str, selector: StartSelector, max_duration_seconds: int) -> str:
        self.calls.append("StartStreamProcessor")
        return "session-1"


class FakeGateway:
    def __init__(self, client: FakeClient) -> None:
        self.client = client

    async def region(self, region: str, target: str = "") -> FakeClient:
        return self.client


class Lease:
    """A leadership guard whose answer a test flips."""

    def __init__(self) -> None:
        self.refusal: str | None = None

    def __call__(self) -> str | None:
        return self.refusal


@pytest.fixture
def client() -> FakeClient:
    return FakeClient(observed(home_config("porch"), Status.STOPPED))


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    with Ledger.open(tmp_path) as opened:
        yield opened


def starter(client: FakeClient, ledger: Any, *, guard: Any = None, sink: list[Event] | None = None) -> Any:
    extra = {} if guard is None else {"gate": MutationGate(guard)}
    return SessionStarter(
        gateway=cast(Gateway, FakeGateway(client)),
        stack=STACK,
        ledger=ledger,
        clock=lambda: NOW,
        on_event=(sink if sink is not None else []).append,
        **extra,
    )


# -- the lease guard ---------------------------------------------------------------------------------


@pytest.mark.parametrize("source", [TriggerSource.HTTP, TriggerSource.SQS])
async def test_a_lease_lost_during_the_describe_stops_the_start(
    client: FakeClient, ledger: Ledger, source: TriggerSource
) -> None:
    lease = Lease()

    def paused_meanwhile() -> None:
        lease.refusal = "the lease is past its safe part: another daemon may hold it"

    client.on_describe = paused_meanwhile
    seen: list[Event] = []
    outcome = await starter(client, ledger, guard=lease, sink=seen).trigger(
        {"processor": "porch"}, SPEC, source=source
    )
    assert (outcome.outcome, outcome.refusal) == (Outcome.REFUSED, RefusalReason.NOT_LEADER)
    assert outcome.temporary  # an SQS message stays for the new leader
    assert "another daemon may hold it" in (outcome.reason or "")
    assert "StartStreamProcessor" not in client.calls
    assert client.calls == ["DescribeStreamProcessor", "ListTagsForResource"]
    [row] = ledger.sessions(since=NOW)
    assert (row.outcome, row.session_id) == ("refused", None)
    assert [e.name for e in seen] == [events.SESSION_REFUSED]
    assert seen[0].fields["refusal"] == "not_leader"


async def test_the_guard_is_asked_after_the_ownership_read(client: FakeClient, ledger: Ledger) -> None:
    asked: list[list[str]] = []

    def guard() -> str | None:
        asked.append(list(client.calls))
        return None

    outcome = await starter(client, ledger, guard=guard).trigger(
        {"processor": "porch"}, SPEC, source=TriggerSource.HTTP
    )
    assert outcome.outcome is Outcome.STARTED
    assert asked[-1] == ["DescribeStreamProcessor", "ListTagsForResource"]
    assert client.calls[-1] == "StartStreamProcessor"


async def test_a_standby_from_the_outset_makes_no_call(client: FakeClient, ledger: Ledger) -> None:
    lease = Lease()
    lease.refusal = "standby"
    outcome = await starter(client, ledger, guard=lease).trigger(
        {"processor": "porch"}, SPEC, source=TriggerSource.WINDOW
    )
    assert outcome.refusal is RefusalReason.NOT_LEADER
    assert client.calls == []


async def test_a_processor_that_changed_hands_is_refused_before_the_guard(ledger: Ledger) -> None:
    theirs = FakeClient(observed(home_config("porch"), Status.STOPPED, stack="another-stack"))
    outcome = await starter(theirs, ledger, guard=Lease()).trigger(
        {"processor": "porch"}, SPEC, source=TriggerSource.HTTP
    )
    assert outcome.refusal is RefusalReason.NOT_OWNED
    assert "StartStreamProcessor" not in theirs.calls


# -- the ledger first --------------------------------------------------------------------------------


async def test_an_unwritable_ledger_refuses_before_any_call(
    client: FakeClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(_: Any) -> Any:
        raise LedgerError("sessions.db: the session ledger cannot be written: database or disk is full")

    monkeypatch.setattr(ledger, "reserve", full)
    seen: list[Event] = []
    outcome = await starter(client, ledger, sink=seen).trigger(
        {"processor": "porch"}, SPEC, source=TriggerSource.HTTP
    )
    assert (outcome.outcome, outcome.refusal, outcome.temporary) == (
        Outcome.REFUSED,
        RefusalReason.LEDGER_UNAVAILABLE,
        True,
    )
    assert client.calls == []
    assert [(e.name, e.fields["refusal"]) for e in seen] == [(events.SESSION_REFUSED, "ledger_unavailable")]
    assert "disk is full" in seen[0].fields["reason"]


async def test_a_ledger_that_cannot_be_opened_refuses_before_any_call(client: FakeClient) -> None:
    def damaged() -> Ledger:
        raise StoreError("sessions.db: not an spd session ledger database (file is not a database)")

    outcome = await starter(client, damaged).trigger({"processor": "porch"}, SPEC, source=TriggerSource.SQS)
    assert (outcome.refusal, outcome.temporary) == (RefusalReason.LEDGER_UNAVAILABLE, True)
    assert client.calls == []


async def test_the_intent_is_written_before_the_start_and_completed_after(
    client: FakeClient, ledger: Ledger
) -> None:
    rows_at_start: list[list[str]] = []
    real_start = client.start_session

    async def start(*args: Any) -> str:
        rows_at_start.append([r.outcome for r in ledger.sessions(since=NOW)])
        return await real_start(*args)

    client.start_session = start  # type: ignore[method-assign]
    outcome = await starter(client, ledger).trigger({"processor": "porch"}, SPEC, source=TriggerSource.HTTP)
    assert outcome.outcome is Outcome.STARTED
    assert rows_at_start == [[STARTING]]
    [row] = ledger.sessions(since=NOW)
    assert (row.outcome, row.session_id, row.requested_seconds) == ("started", "session-1", 30)


async def test_a_completion_that_cannot_be_written_leaves_a_counted_intent(
    client: FakeClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(*_: Any, **__: Any) -> None:
        raise LedgerError("sessions.db: the session ledger cannot be written: database or disk is full")

    monkeypatch.setattr(ledger, "complete", full)
    seen: list[Event] = []
    outcome = await starter(client, ledger, sink=seen).trigger(
        {"processor": "porch"}, SPEC, source=TriggerSource.HTTP
    )
    assert outcome.outcome is Outcome.STARTED  # it was started: the answer says so
    assert [e.name for e in seen] == [events.SESSION_LEDGER_FAILED, events.SESSION_STARTED]
    [row] = ledger.sessions(since=NOW)
    assert row.outcome == STARTING
    assert ledger.seconds_used(PORCH.id, NOW) == 30


async def test_an_intent_left_by_a_crash_counts_against_the_budget(
    client: FakeClient, ledger: Ledger
) -> None:
    # 100 s a day: a crashed 30 s intent and a 60 s session leave 10 s, less than the 30 s asked.
    ledger.reserve(
        ReservationRequest(
            at=NOW, processor=PORCH.id, trigger="http", requested_seconds=30, budget_seconds=100
        )
    )
    ledger.record_trigger(TriggerRow(
        at=NOW, processor="porch", region="us-east-1", trigger="sqs", outcome="started",
        requested_seconds=60, session_id="earlier",
    ))  # fmt: skip
    outcome = await starter(client, ledger).trigger({"processor": "porch"}, SPEC, source=TriggerSource.HTTP)
    assert outcome.refusal is RefusalReason.BUDGET
    assert "90 of 100" in (outcome.reason or "")
    assert client.calls == []


async def test_a_malformed_trigger_with_an_unwritable_ledger_is_still_a_400_refusal(
    client: FakeClient, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    def damaged(_: Any) -> None:
        raise LedgerError(
            "sessions.db: the session ledger cannot be written: database disk image is malformed"
        )

    monkeypatch.setattr(ledger, "record_trigger", damaged)
    seen: list[Event] = []
    outcome = await starter(client, ledger, sink=seen).trigger("{not json", SPEC, source=TriggerSource.HTTP)
    assert outcome.refusal is RefusalReason.MALFORMED
    assert [e.name for e in seen] == [events.SESSION_LEDGER_FAILED, events.SESSION_REFUSED]


# -- bodies refused before any call ------------------------------------------------------------------

DEEP = "[" * 30_000 + "]" * 30_000


@pytest.mark.parametrize(
    "body",
    [
        DEEP,
        '{"processor": "porch", "region": ' + DEEP + "}",
        '{"processor": "porch", "region": ' + "[" * 990 + "]" * 990 + "}",
        DEEP.encode(),
    ],
    ids=["array", "in-a-value", "just-decodable", "bytes"],
)
async def test_deep_json_is_a_malformed_refusal(client: FakeClient, ledger: Ledger, body: Any) -> None:
    assert len(body) < 64 * 1024
    outcome = await starter(client, ledger).trigger(body, SPEC, source=TriggerSource.SQS)
    assert (outcome.outcome, outcome.refusal) == (Outcome.REFUSED, RefusalReason.MALFORMED)
    assert not outcome.temporary
    assert client.calls == []


@pytest.mark.parametrize("millis", [LONG_MAX + 1, 10**30])
async def test_a_timestamp_beyond_the_api_range_is_refused_before_any_call(
    client: FakeClient, ledger: Ledger, millis: int
) -> None:
    outcome = await starter(client, ledger).trigger(
        json.dumps({"processor": "porch", "producer_timestamp_ms": millis}), SPEC, source=TriggerSource.HTTP
    )
    assert (outcome.outcome, outcome.refusal) == (Outcome.REFUSED, RefusalReason.BAD_TIMESTAMP)
    assert outcome.refusal.bad_input
    assert str(LONG_MAX) in (outcome.reason or "")
    assert client.calls == []


def test_the_api_range_ends_at_the_largest_long() -> None:
    assert LONG_MAX == 2**63 - 1
    assert parse_trigger({"processor": "porch", "producer_timestamp_ms": LONG_MAX}).producer_timestamp_ms
