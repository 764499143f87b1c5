"""One mutation gate for both paths, over the in-memory fleet: the reconcile executor's steps and a
session Start ask the same `MutationGate`, the lease first, then the `spd:stack` tag as just read."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from builders import STACK, desired, face_config, home_config, state
from core_support import SETTINGS, VirtualTime, execute, plan_of
from spd import events
from spd.events import Event
from spd.model import STACK_TAG, ConnectedHome, RunState, Status
from spd.reconcile.fake_gateway import FakeFleet
from spd.reconcile.mutation_gate import MutationGate, NotLeader, NotOwned
from spd.reconcile.plan import Action, Policy
from spd.reconcile.reconciler import Reconciler
from spd.sessions.start import Outcome, SessionStarter
from spd.sessions.trigger import RefusalReason, TriggerSource

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Lease:
    """The lease as the gate asks it; a test takes it away."""

    def __init__(self) -> None:
        self.reason: str | None = None

    def __call__(self) -> str | None:
        return self.reason

    def lose(self, *_: object) -> None:
        self.reason = "the lease is past its safe part: another daemon may hold it"


def test_the_gate_asks_the_lease_first_then_the_owner() -> None:
    lease = Lease()
    gate = MutationGate(lease)
    assert gate.refusal(STACK, STACK) is None
    assert gate.refusal(STACK, "another-stack") == NotOwned("another-stack")
    assert gate.refusal(STACK, None) == NotOwned(None)
    assert gate.adopt_refusal(None) is None
    assert gate.adopt_refusal(STACK) == NotOwned(STACK)
    lease.lose()
    assert gate.refusal(STACK, STACK) == NotLeader(lease.reason or "")
    assert gate.refusal(STACK, "another-stack") == NotLeader(lease.reason or "")
    assert gate.adopt_refusal(None) == NotLeader(lease.reason or "")


# -- the executor ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "run_state", "step"),
    [(Status.STOPPED, RunState.RUNNING, "start"), (Status.RUNNING, RunState.STOPPED, "stop")],
)
async def test_an_executor_step_is_refused_once_the_lease_is_lost(
    fleet: FakeFleet, vtime: VirtualTime, status: Status, run_state: RunState, step: str
) -> None:
    fleet.add(face_config("cam"), stack=STACK, status=status)
    plan = await plan_of(fleet, desired(face_config("cam"), run_state=run_state))
    lease = Lease()
    # Lost while the step's own ownership read is in flight: the gate, asked after it, says no.
    fleet.on("ListTagsForResource", lease.lose)
    seen: list[Event] = []
    outcome = await execute(fleet, plan, vtime, gate=MutationGate(lease), on_event=seen.append)
    assert outcome.deferred == f"not leader: {lease.reason}"
    assert outcome.error is None
    assert not outcome.disowned
    assert fleet.operations(mutating=True) == []
    assert fleet[plan.id].status is status
    assert [(e.name, e.fields["step"]) for e in seen] == [(events.MUTATION_REFUSED, step)]


async def test_a_create_is_refused_without_the_lease(fleet: FakeFleet, vtime: VirtualTime) -> None:
    plan = await plan_of(fleet, desired(face_config("cam"), run_state=RunState.RUNNING))
    assert Action.CREATE in plan.actions
    lease = Lease()
    lease.lose()
    outcome = await execute(fleet, plan, vtime, gate=MutationGate(lease))
    assert outcome.deferred is not None
    assert outcome.deferred.startswith("not leader: ")
    assert fleet.operations(mutating=True) == []
    assert fleet.get(plan.id) is None


async def test_the_lease_is_asked_before_the_owner(fleet: FakeFleet, vtime: VirtualTime) -> None:
    # Both say no: a process that may have lost the lease concludes nothing about the fleet (the
    # processor is deferred, not recorded as disowned).
    fleet.add(home_config("porch"), stack=STACK)
    plan = await plan_of(fleet, desired(home_config("porch", settings=ConnectedHome(("PET",), 60.0))))
    fleet[plan.id].tags[STACK_TAG] = "another-stack"
    lease = Lease()
    lease.lose()
    outcome = await execute(fleet, plan, vtime, gate=MutationGate(lease))
    assert outcome.deferred is not None
    assert not outcome.disowned
    assert fleet.operations(mutating=True) == []


# -- the session start path --------------------------------------------------------------------------

PORCH = desired(home_config("porch"))


def starter(fleet: FakeFleet, gate: MutationGate) -> SessionStarter:
    return SessionStarter(gateway=fleet, stack=STACK, ledger=None, clock=lambda: NOW, gate=gate)


async def test_a_session_start_is_refused_once_the_lease_is_lost(fleet: FakeFleet) -> None:
    fleet.add(home_config("porch"), stack=STACK)
    lease = Lease()
    fleet.on("ListTagsForResource", lease.lose)
    outcome = await starter(fleet, MutationGate(lease)).trigger(
        {"processor": "porch"}, state(PORCH), source=TriggerSource.SQS
    )
    assert (outcome.outcome, outcome.refusal, outcome.temporary) == (
        Outcome.REFUSED,
        RefusalReason.NOT_LEADER,
        True,
    )
    assert fleet.operations() == ["DescribeStreamProcessor", "ListTagsForResource"]
    assert fleet[PORCH.id].sessions == []


async def test_one_gate_stops_both_paths(fleet: FakeFleet, vtime: VirtualTime) -> None:
    # As the daemon wires it: one gate, handed to the reconciler and to the session starter.
    fleet.add(face_config("cam"), stack=STACK)
    fleet.add(home_config("porch"), stack=STACK)
    lease = Lease()
    gate = MutationGate(lease)
    reconciler = Reconciler(fleet, SETTINGS, gate=gate)
    spec = state(desired(face_config("cam"), run_state=RunState.RUNNING), PORCH)
    lease.lose()
    result = await reconciler.reconcile(spec, Policy(STACK))
    (outcome,) = result.applied.outcomes
    assert outcome.deferred is not None
    session = await starter(fleet, gate).trigger({"processor": "porch"}, spec, source=TriggerSource.HTTP)
    assert session.refusal is RefusalReason.NOT_LEADER
    assert fleet.operations(mutating=True) == []
    lease.reason = None
    await reconciler.reconcile(spec, Policy(STACK))
    session = await starter(fleet, gate).trigger({"processor": "porch"}, spec, source=TriggerSource.HTTP)
    assert session.outcome is Outcome.STARTED
    assert fleet.operations(mutating=True) == ["StartStreamProcessor", "StartStreamProcessor"]


# -- leases per target (ha.mode: shards) ---------------------------------------------------------------


def test_per_target_leases_answer_for_their_target_and_the_gate_itself_for_sessions() -> None:
    member = Lease()
    refused = {"t1": "shard 't1' is not held by this daemon"}
    gate = MutationGate(member, refused.get)
    assert gate.for_target("t0").refusal(STACK, STACK) is None
    assert gate.for_target("t1").refusal(STACK, STACK) == NotLeader(refused["t1"])
    assert gate.for_target("t1").lease_refusal() == NotLeader(refused["t1"])
    assert gate.refusal(STACK, STACK) is None  # a session Start: the member record, then the tag
    member.lose()
    assert gate.refusal(STACK, STACK) == NotLeader(member.reason or "")
    assert gate.for_target("t0").refusal(STACK, STACK) is None
    plain = MutationGate(member)
    assert plain.for_target("t0") is plain  # one lease for every target: today's gate


async def test_the_executor_asks_the_lease_of_the_processors_target(
    fleet: FakeFleet, vtime: VirtualTime
) -> None:
    fleet.add(face_config("cam"), stack=STACK, status=Status.RUNNING)
    plan = await plan_of(fleet, desired(face_config("cam"), run_state=RunState.STOPPED))
    reason = f"shard of {plan.id.target!r} is not held by this daemon"
    asked: list[str] = []

    def shard(target: str) -> str | None:
        asked.append(target)
        return reason

    seen: list[Event] = []
    outcome = await execute(fleet, plan, vtime, gate=MutationGate(Lease(), shard), on_event=seen.append)
    assert outcome.deferred == f"not leader: {reason}"
    assert asked == [plan.id.target]
    assert fleet.operations(mutating=True) == []
    assert [e.name for e in seen] == [events.MUTATION_REFUSED]
