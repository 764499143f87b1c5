"""The executor as a list of steps: temporary errors tried again, the restart policy handed in."""

from __future__ import annotations

from builders import STACK, create_references, desired, face_config, state
from spd.aws.gateway import Gateway
from spd.model import STACK_TAG, ProcessorId, RunState
from spd.reconcile.backoff import RestartDecision
from spd.reconcile.executor import ExecutionSettings, Executor
from spd.reconcile.plan import Action, Policy
from spd.reconcile.reconciler import Reconciler
from spdrun import wait_status

SETTINGS = ExecutionSettings(stack=STACK, poll_interval=0.02, wait_timeout=10)


class Refuse:
    """A restart policy that refuses every restart and records what it was asked."""

    def __init__(self) -> None:
        self.asked: list[ProcessorId] = []
        self.healthy_calls: list[ProcessorId] = []

    def admit(self, pid: ProcessorId, now: float) -> RestartDecision:
        self.asked.append(pid)
        return RestartDecision(False, failures=3, delay=42.0)

    def healthy(self, pid: ProcessorId) -> None:
        self.healthy_calls.append(pid)


async def _create_stopped(emu, name):
    create_references(emu, face_config(name))
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        await (await gw.region("us-east-1")).create(face_config(name), {STACK_TAG: STACK})


async def _plan_start(gw, name):
    planned, _ = await Reconciler(gw, SETTINGS).plan(
        state(desired(face_config(name), run_state=RunState.RUNNING)), Policy(STACK)
    )
    (plan,) = planned.processors
    assert Action.START in plan.actions
    return plan


async def test_a_step_throttled_past_botocores_attempts_is_tried_again(emu):
    await _create_stopped(emu, "cam")
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        plan = await _plan_start(gw, "cam")
        emu.fault(operation="StartStreamProcessor", error="ThrottlingException", count=3)
        outcome = await Executor(gw, SETTINGS).apply_one(plan)
    assert outcome.ok, outcome.error
    assert outcome.done == ["start"]
    assert emu.stats()["calls"]["StartStreamProcessor"] == 4


async def test_a_permanent_error_ends_the_steps_at_once(emu):
    await _create_stopped(emu, "cam")
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        plan = await _plan_start(gw, "cam")
        emu.fault(operation="StartStreamProcessor", error="AccessDeniedException", count=3)
        outcome = await Executor(gw, SETTINGS).apply_one(plan)
    assert outcome.error is not None
    assert "AccessDeniedException" in outcome.error
    assert emu.stats()["calls"]["StartStreamProcessor"] == 1


async def test_the_restart_policy_is_handed_in_and_none_means_restart_now(emu):
    await _create_stopped(emu, "cam")
    emu.client().start_stream_processor(Name="cam")
    wait_status(emu.client(), "cam", {"RUNNING"})
    emu.fail("cam", "Access denied to Role")
    emu.clear_stats()
    policy = Refuse()
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        plan = await _plan_start(gw, "cam")
        refused = await Executor(gw, SETTINGS, backoff=policy).apply_one(plan)
        assert policy.asked == [plan.id]
        assert refused.deferred is not None
        assert refused.done == []
        assert "StartStreamProcessor" not in emu.stats()["calls"]
        restarted = await Executor(gw, SETTINGS).apply_one(plan)
    assert restarted.ok, restarted.error
    assert restarted.done == ["start"]
    assert emu.stats()["calls"]["StartStreamProcessor"] == 1
