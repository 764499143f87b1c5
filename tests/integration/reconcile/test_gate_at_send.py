"""The lease is asked again when a mutating request leaves, after its pacer slot and on every retry.

A call can wait for its slot far longer than the lease's margin (a queue of calls to one operation, a
rate halved by throttling): the lease confirmed before the wait says nothing about the moment it is sent.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from builders import STACK, desired, face_config, home_config, state
from spd.aws.gateway import Gateway
from spd.model import STACK_TAG, ProcessorId, ProducerTimestamp, RunState
from spd.reconcile.executor import ExecutionSettings, Executor
from spd.reconcile.mutation_gate import MutationGate
from spd.reconcile.plan import Action, Policy
from spd.reconcile.reconciler import Reconciler
from spd.sessions.start import Outcome, SessionStarter
from spd.sessions.trigger import RefusalReason, SessionRequest, TriggerSource

SETTINGS = ExecutionSettings(stack=STACK, poll_interval=0.02, wait_timeout=10)


class LapsesAfterTheCheck:
    """A lease confirmed for the path's own checks (`checks` asks) and lapsed from then on: the call
    waited for its pacer slot after the last check."""

    def __init__(self, checks: int = 1) -> None:
        self.checks = checks
        self.asked = 0

    def __call__(self) -> str | None:
        self.asked += 1
        return None if self.asked <= self.checks else "lease renewal last confirmed too long ago"


@asynccontextmanager
async def _next_start_slot_taken(emu: Any, config: Any) -> AsyncIterator[Gateway]:
    """A gateway allowed one StartStreamProcessor every 2 s, with `config` created and another processor
    just started: the next Start waits 2 s for its slot."""
    async with Gateway.open(
        endpoint_url=emu.url, max_attempts=1, rate_limits={"StartStreamProcessor": 0.5}
    ) as gw:
        region = await gw.region("us-east-1")
        await region.create(config, {STACK_TAG: STACK})
        await region.create(face_config("other"), {STACK_TAG: STACK})
        await region.start("other")
        yield gw


async def test_a_start_waiting_for_its_pacer_slot_is_not_sent_once_the_lease_lapsed(emu):
    async with _next_start_slot_taken(emu, face_config("cam")) as gw:
        planned, _ = await Reconciler(gw, SETTINGS).plan(
            state(desired(face_config("cam"), run_state=RunState.RUNNING)), Policy(STACK)
        )
        (plan,) = planned.processors
        assert Action.START in plan.actions

        lease = LapsesAfterTheCheck()
        outcome = await Executor(gw, SETTINGS, gate=MutationGate(lease)).apply_one(plan)

    assert emu.stats()["calls"]["StartStreamProcessor"] == 1  # only the other's
    assert "start" not in outcome.done
    assert (await _status(emu, "cam")) == "STOPPED"


async def _status(emu, name: str) -> str:
    return str(emu.client().describe_stream_processor(Name=name)["Status"])


async def test_a_session_start_waiting_for_its_pacer_slot_is_not_sent_once_the_lease_lapsed(emu):
    async with _next_start_slot_taken(emu, home_config("door")) as gw:
        # The start path asks the lease twice: before its first call, and right before the Start.
        starter = SessionStarter(
            gateway=gw, stack=STACK, ledger=None, gate=MutationGate(LapsesAfterTheCheck(checks=2))
        )
        outcome = await starter.start(
            SessionRequest(
                processor=ProcessorId("us-east-1", "door"),
                selector=ProducerTimestamp(1_700_000_000_000),
                max_duration_seconds=60,
                source=TriggerSource.HTTP,
            )
        )

    assert emu.stats()["calls"]["StartStreamProcessor"] == 1  # only the other's
    assert outcome.outcome is Outcome.REFUSED
    assert outcome.refusal is RefusalReason.NOT_LEADER
    assert outcome.temporary
    assert (await _status(emu, "door")) == "STOPPED"
