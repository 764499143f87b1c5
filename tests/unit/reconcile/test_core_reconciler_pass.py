"""The reconciler's passes over the in-memory fleet: a full pass converges the fleet and reports what it
did; the next pass finds nothing to do; the status sweep restores a run state between passes and leaves
alone a processor that stopped being this stack's."""

from __future__ import annotations

from builders import STACK, desired, face_config, home_config, state
from spd import events
from spd.events import Event
from spd.model import STACK_TAG, ConnectedHome, RunState, Status
from spd.reconcile.executor import ExecutionSettings
from spd.reconcile.fake_gateway import FakeFleet
from spd.reconcile.plan import Policy
from spd.reconcile.reconciler import Reconciler

PORCH = home_config("porch", settings=ConnectedHome(("PET",), 60.0))
SPEC = state(
    desired(PORCH),
    desired(face_config("cam"), run_state=RunState.RUNNING),
    desired(face_config("lobby"), run_state=RunState.RUNNING),
)


def fleet_with_drift() -> FakeFleet:
    fleet = FakeFleet(settle_after=2)
    fleet.add(home_config("porch"), stack=STACK)  # drifted: labels
    fleet.add(face_config("lobby"), stack="another-stack")  # the name is another stack's
    fleet.add(face_config("old"), stack=STACK)  # ours, left the spec
    fleet.add(face_config("theirs"), stack="another-stack")
    return fleet


async def test_a_full_pass_converges_and_the_next_finds_nothing_to_do() -> None:
    fleet = fleet_with_drift()
    seen: list[Event] = []
    reconciler = Reconciler(fleet, ExecutionSettings(stack=STACK, poll_interval=0), on_event=seen.append)
    result = await reconciler.reconcile(SPEC, Policy(STACK, prune=True))
    assert result.errors == 0, [o.error for o in result.applied.outcomes]
    porch, cam, lobby = (fleet.get(p.id) for p in SPEC.processors)
    assert porch is not None
    assert porch.config == PORCH
    assert cam is not None
    assert (cam.status, cam.tags[STACK_TAG]) == (Status.STARTING, STACK)
    assert lobby is not None
    assert (lobby.status, lobby.tags[STACK_TAG]) == (Status.STOPPED, "another-stack")
    assert fleet.get(face_config("old").id) is None
    assert fleet.get(face_config("theirs").id) is not None
    names = [e.name for e in seen]
    assert names.count(events.PROCESSOR_CONFLICT) == 1
    assert {events.PROCESSOR_CREATED, events.PROCESSOR_STARTED, events.PROCESSOR_UPDATED,
            events.PROCESSOR_DELETED} <= set(names)  # fmt: skip
    assert result.api_calls == fleet.stats.snapshot()
    assert reconciler.owned == {face_config(n).id for n in ("porch", "cam", "old")}

    fleet.calls.clear()
    again = await reconciler.reconcile(SPEC, Policy(STACK, prune=True))
    assert [p.id.name for p in again.plan.actionable()] == []
    assert fleet.operations(mutating=True) == []
    assert (cam.status, porch.status) == (Status.RUNNING, Status.STOPPED)  # settled as they were read


async def test_the_sweep_restores_the_run_state_of_its_own_processors_only() -> None:
    fleet = FakeFleet()
    fleet.add(face_config("cam"), stack=STACK, status=Status.RUNNING)
    fleet.add(face_config("door"), stack=STACK, status=Status.RUNNING)
    spec = state(*(desired(face_config(n), run_state=RunState.RUNNING) for n in ("cam", "door")))
    seen: list[Event] = []
    reconciler = Reconciler(fleet, ExecutionSettings(stack=STACK, poll_interval=0), on_event=seen.append)
    await reconciler.reconcile(spec, Policy(STACK))
    # Between passes: both stopped by someone, and "door" handed to another stack.
    fleet[face_config("cam").id].status = Status.STOPPED
    door = fleet[face_config("door").id]
    door.status = Status.STOPPED
    door.tags[STACK_TAG] = "another-stack"
    fleet.calls.clear()
    swept = await reconciler.sweep(spec)
    assert fleet[face_config("cam").id].status is Status.RUNNING
    assert door.status is Status.STOPPED
    assert (swept.checked, swept.errors, swept.disowned) == (2, 0, 1)
    assert fleet.operations(mutating=True) == ["StartStreamProcessor"]
    assert face_config("door").id not in reconciler.owned
    assert [e.fields["processor"] for e in seen if e.name == events.OWNERSHIP_LOST] == ["door"]
