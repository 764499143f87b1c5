"""The start path against the ledger's port, with an in-memory ledger and gateway: the port's answers
(reserved, over budget, in flight elsewhere, unusable) each lead to one outcome, with the calls they
allow and nothing more; the reserved seconds are completed with the outcome."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any, cast

from builders import STACK, desired, home_config, observed, state
from spd import events
from spd.aws.gateway import Gateway
from spd.errors import SessionOpenError
from spd.events import Event
from spd.model import ObservedProcessor, ProcessorId, SessionPolicy, StartSelector, Status
from spd.sessions.ledger_port import (
    Completion,
    LedgerError,
    LedgerPort,
    Reservation,
    ReservationRequest,
    RowRef,
    SessionRecord,
    TriggerRow,
)
from spd.sessions.notifications import Notification
from spd.sessions.start import Outcome, SessionStarter
from spd.sessions.trigger import RefusalReason, TriggerSource

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PORCH = replace(
    desired(home_config("porch")), sessions=SessionPolicy(max_duration_seconds=30, budget_seconds_per_day=100)
)
SPEC = state(PORCH)


@dataclass
class MemoryLedger:
    """`LedgerPort` in memory; `answer` is what the next `reserve` says (None: reserve for real)."""

    answer: Reservation | LedgerError | None = None
    rows: dict[RowRef, dict[str, Any]] = field(default_factory=dict)
    used: float = 0.0

    async def reserve(self, request: ReservationRequest) -> Reservation:
        requested_seconds = request.requested_seconds
        if isinstance(self.answer, LedgerError):
            raise self.answer
        if self.answer is not None:
            return self.answer
        row = len(self.rows) + 1
        self.rows[row] = {"outcome": "starting", "requested": requested_seconds}
        self.used += requested_seconds
        return Reservation(row, self.used - requested_seconds)

    async def complete(self, row: RowRef, completion: Completion) -> None:
        done = completion
        self.rows[row].update(outcome=done.outcome, session_id=done.session_id, reason=done.reason)
        if done.outcome != "started":
            self.used -= self.rows[row]["requested"]

    async def record_trigger(self, row: TriggerRow) -> None:
        self.rows[f"t{len(self.rows)}"] = {"outcome": row.outcome, "reason": row.reason}

    async def record_notification(self, notification: Notification, *, received: datetime) -> bool:
        return True

    async def processor_of(self, session_id: str) -> ProcessorId | None:
        return None

    async def seconds_used(self, processor: ProcessorId, day_of: datetime) -> float:
        return self.used

    async def sessions(
        self, *, since: datetime, processors: Iterable[str] | None = None
    ) -> list[SessionRecord]:
        return []

    async def close(self) -> None:
        pass


def _port(ledger: MemoryLedger) -> LedgerPort:
    return ledger  # type-checked: the fake is a `LedgerPort`


class Client:
    def __init__(self, processor: ObservedProcessor, *, busy: bool = False) -> None:
        self.processor, self.busy, self.calls = processor, busy, list[str]()

    async def describe(self, name: str, *, with_tags: bool = True) -> ObservedProcessor:
        self.calls.append("DescribeStreamProcessor")
        return self.processor

    async def start_session(self, name: str, selector: StartSelector, max_duration_seconds: int) -> str:
        self.calls.append("StartStreamProcessor")
        if self.busy:
            raise SessionOpenError("StartStreamProcessor", "ResourceInUseException", "busy")
        return "session-1"


class Gw:
    def __init__(self, client: Client) -> None:
        self.client = client

    async def region(self, region: str, target: str = "") -> Client:
        return self.client


async def _trigger(ledger: MemoryLedger, client: Client, seen: list[Event]) -> Any:
    starter = SessionStarter(
        gateway=cast(Gateway, Gw(client)),
        stack=STACK,
        ledger=_port(ledger),
        clock=lambda: NOW,
        on_event=seen.append,
    )
    return await starter.trigger({"processor": "porch"}, SPEC, source=TriggerSource.HTTP)


async def test_a_start_in_flight_elsewhere_is_coalesced_without_any_call() -> None:
    ledger = MemoryLedger(answer=Reservation(None, 0.0, in_flight="a start of porch is in flight elsewhere"))
    client, seen = Client(observed(home_config("porch"), Status.STOPPED)), list[Event]()
    outcome = await _trigger(ledger, client, seen)
    assert (outcome.outcome, outcome.reason) == (Outcome.COALESCED, "a start of porch is in flight elsewhere")
    assert client.calls == []
    assert [r["outcome"] for r in ledger.rows.values()] == ["coalesced"]  # recorded as a row of its own
    assert [e.name for e in seen] == [events.SESSION_COALESCED]


async def test_the_budget_answer_refuses_without_any_call() -> None:
    ledger = MemoryLedger(answer=Reservation(None, 80.0))
    client, seen = Client(observed(home_config("porch"), Status.STOPPED)), list[Event]()
    outcome = await _trigger(ledger, client, seen)
    assert (outcome.outcome, outcome.refusal) == (Outcome.REFUSED, RefusalReason.BUDGET)
    assert "80 of 100" in (outcome.reason or "")
    assert client.calls == []


async def test_an_unusable_store_refuses_temporarily_without_any_call() -> None:
    ledger = MemoryLedger(answer=LedgerError("store table 'spd-store': ThrottlingException: slow down"))
    client, seen = Client(observed(home_config("porch"), Status.STOPPED)), list[Event]()
    outcome = await _trigger(ledger, client, seen)
    assert (outcome.refusal, outcome.temporary) == (RefusalReason.LEDGER_UNAVAILABLE, True)
    assert "ThrottlingException" in (outcome.reason or "")
    assert client.calls == []


async def test_a_reserved_start_is_completed_with_its_outcome_and_unused_seconds_go_back() -> None:
    ledger, seen = MemoryLedger(), list[Event]()
    started = await _trigger(ledger, Client(observed(home_config("porch"), Status.STOPPED)), seen)
    assert started.outcome is Outcome.STARTED
    assert ledger.rows[1] == {
        "outcome": "started",
        "requested": 30,
        "session_id": "session-1",
        "reason": None,
    }
    raced = await _trigger(ledger, Client(observed(home_config("porch"), Status.STOPPED), busy=True), seen)
    assert raced.outcome is Outcome.COALESCED
    assert ledger.rows[2]["outcome"] == "coalesced"
    assert ledger.used == 30  # the coalesced start's seconds went back
