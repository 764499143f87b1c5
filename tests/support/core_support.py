"""What the core's unit tests share: a virtual clock, and plans made by the real planner over the fake."""

from __future__ import annotations

from builders import STACK, state
from spd.model import DesiredProcessor
from spd.reconcile.executor import ExecutionSettings, Executor, ProcessorOutcome
from spd.reconcile.fake_gateway import FakeFleet
from spd.reconcile.mutation_gate import OPEN, MutationGate
from spd.reconcile.plan import Policy, ProcessorPlan
from spd.reconcile.reconciler import Reconciler

SETTINGS = ExecutionSettings(stack=STACK, poll_interval=1.0, wait_timeout=30.0, name_reuse_timeout=30.0)


class VirtualTime:
    """A monotonic clock that only `sleep` moves: waits and retries cost no real time, and a time-out
    is reached after exactly as many polls as it allows."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


async def plan_of(fleet: FakeFleet, *wanted: DesiredProcessor, prune: bool = False) -> ProcessorPlan:
    """The one processor's plan, as a full pass would make it (Describe + tags of what the spec names)."""
    planned, _ = await Reconciler(fleet, SETTINGS).plan(state(*wanted), Policy(STACK, prune=prune))
    (only,) = planned.processors
    return only


async def execute(
    fleet: FakeFleet, plan: ProcessorPlan, vtime: VirtualTime, *, gate: MutationGate = OPEN, on_event=None
) -> ProcessorOutcome:
    extra = {} if on_event is None else {"on_event": on_event}
    executor = Executor(fleet, SETTINGS, clock=vtime.clock, sleep=vtime.sleep, gate=gate, **extra)
    return await executor.apply_one(plan)
