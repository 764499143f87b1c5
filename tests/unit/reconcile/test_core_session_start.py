"""The session start path over the in-memory fleet: the day's budget, ownership, coalescing and the
lease, each decided before any StartStreamProcessor is sent."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builders import STACK, desired, face_config, home_config, state
from spd.model import SessionPolicy, Status
from spd.reconcile.fake_gateway import FakeFleet, throttling
from spd.reconcile.mutation_gate import MutationGate
from spd.sessions.ledger import Ledger
from spd.sessions.start import Outcome, SessionOutcome, SessionStarter
from spd.sessions.trigger import RefusalReason, TriggerSource

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PORCH = replace(
    desired(home_config("porch")), sessions=SessionPolicy(max_duration_seconds=30, budget_seconds_per_day=70)
)
CAM = desired(face_config("cam"))
SPEC = state(PORCH, CAM)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with Ledger.open(tmp_path) as opened:
        yield opened


async def trigger(
    fleet: FakeFleet, ledger: Ledger | None, name: str = "porch", *, gate: MutationGate | None = None
) -> SessionOutcome:
    starter = SessionStarter(
        gateway=fleet, stack=STACK, ledger=ledger, clock=lambda: NOW, gate=gate or MutationGate()
    )
    return await starter.trigger({"processor": name}, SPEC, source=TriggerSource.HTTP)


async def test_a_stopped_processor_of_this_stack_is_started(fleet: FakeFleet, ledger: Ledger) -> None:
    fleet.add(home_config("porch"), stack=STACK)
    outcome = await trigger(fleet, ledger)
    assert (outcome.outcome, outcome.session_id) == (Outcome.STARTED, "session-1")
    assert fleet[PORCH.id].sessions == ["session-1"]
    assert fleet[PORCH.id].status is Status.RUNNING
    [row] = ledger.sessions(since=NOW)
    assert (row.outcome, row.session_id) == ("started", "session-1")


async def test_the_budget_refuses_before_any_call(fleet: FakeFleet, ledger: Ledger) -> None:
    fleet.add(home_config("porch"), stack=STACK)
    assert (await trigger(fleet, ledger)).outcome is Outcome.STARTED
    fleet[PORCH.id].status = Status.STOPPED  # the session ended
    assert (await trigger(fleet, ledger)).outcome is Outcome.STARTED
    fleet[PORCH.id].status = Status.STOPPED
    calls = len(fleet.calls)
    outcome = await trigger(fleet, ledger)  # 60 of 70 s used; 30 more asked
    assert outcome.refusal is RefusalReason.BUDGET
    assert "60 of 70" in (outcome.reason or "")
    assert len(fleet.calls) == calls


@pytest.mark.parametrize("owner", ["another-stack", None], ids=["another-stack", "untagged"])
async def test_a_processor_not_of_this_stack_is_never_started(
    fleet: FakeFleet, ledger: Ledger, owner: str | None
) -> None:
    fleet.add(home_config("porch"), stack=owner)
    outcome = await trigger(fleet, ledger)
    assert outcome.refusal is RefusalReason.NOT_OWNED
    assert fleet.operations(mutating=True) == []


async def test_a_processor_not_of_this_stack_is_not_coalesced_into(fleet: FakeFleet) -> None:
    fleet.add(home_config("porch"), stack="another-stack", status=Status.RUNNING)
    outcome = await trigger(fleet, None)
    assert outcome.refusal is RefusalReason.NOT_OWNED


@pytest.mark.parametrize("status", [Status.STARTING, Status.RUNNING])
async def test_an_open_session_is_coalesced_without_a_start(fleet: FakeFleet, status: Status) -> None:
    fleet.add(home_config("porch"), stack=STACK, status=status)
    outcome = await trigger(fleet, None)
    assert (outcome.outcome, outcome.reason) == (Outcome.COALESCED, f"a session is open ({status.value})")
    assert fleet.operations(mutating=True) == []


async def test_a_start_that_loses_the_race_is_coalesced(fleet: FakeFleet, ledger: Ledger) -> None:
    held = fleet.add(home_config("porch"), stack=STACK)

    def another_start_wins(_: object) -> None:
        held.status = Status.RUNNING

    fleet.on("StartStreamProcessor", another_start_wins)
    outcome = await trigger(fleet, ledger)
    assert (outcome.outcome, outcome.reason) == (
        Outcome.COALESCED,
        "a session is open (another start won the race)",
    )
    assert held.sessions == []
    [row] = ledger.sessions(since=NOW)
    assert row.outcome == "coalesced"


async def test_a_standby_makes_no_call(fleet: FakeFleet, ledger: Ledger) -> None:
    fleet.add(home_config("porch"), stack=STACK)
    outcome = await trigger(fleet, ledger, gate=MutationGate(lambda: "standby"))
    assert (outcome.refusal, outcome.temporary) == (RefusalReason.NOT_LEADER, True)
    assert fleet.calls == []


async def test_refusals_that_need_the_processor_read(fleet: FakeFleet) -> None:
    assert (await trigger(fleet, None)).refusal is RefusalReason.NOT_FOUND
    fleet.add(face_config("cam"), stack=STACK)
    assert (await trigger(fleet, None, "cam")).refusal is RefusalReason.FACE_SEARCH
    fleet.add(home_config("porch"), stack=STACK)
    fleet.fail("DescribeStreamProcessor", throttling)
    throttled = await trigger(fleet, None)
    assert (throttled.refusal, throttled.temporary) == (RefusalReason.SERVICE_ERROR, True)
    assert fleet.operations(mutating=True) == []
