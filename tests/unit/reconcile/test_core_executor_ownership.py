"""Ownership at every mutating step, over the in-memory fleet: a processor whose `spd:stack` tag changed
between the plan and the step (handed to another stack, or untagged) is refused before the call, and
nothing of it is changed."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from builders import STACK, desired, face_config, home_config, state
from core_support import SETTINGS, VirtualTime, execute, plan_of
from spd import events
from spd.events import Event
from spd.model import STACK_TAG, ConnectedHome, RunState, Status
from spd.reconcile.fake_gateway import FakeFleet
from spd.reconcile.plan import Action, Policy, ProcessorPlan
from spd.reconcile.reconciler import Reconciler


async def update_plan(fleet: FakeFleet) -> ProcessorPlan:
    fleet.add(home_config("porch"), stack=STACK)
    return await plan_of(fleet, desired(home_config("porch", settings=ConnectedHome(("PET",), 60.0))))


async def start_plan(fleet: FakeFleet) -> ProcessorPlan:
    fleet.add(face_config("cam"), stack=STACK)
    return await plan_of(fleet, desired(face_config("cam"), run_state=RunState.RUNNING))


async def stop_plan(fleet: FakeFleet) -> ProcessorPlan:
    fleet.add(face_config("cam"), stack=STACK, status=Status.RUNNING)
    return await plan_of(fleet, desired(face_config("cam"), run_state=RunState.STOPPED))


async def delete_plan(fleet: FakeFleet) -> ProcessorPlan:
    # Ours and no longer in the spec (which still names another processor of the region): pruned.
    fleet.add(face_config("old"), stack=STACK)
    fleet.add(face_config("kept"), stack=STACK)
    planned, _ = await Reconciler(fleet, SETTINGS).plan(
        state(desired(face_config("kept"), run_state=RunState.STOPPED)), Policy(STACK, prune=True)
    )
    (only,) = planned.actionable()
    assert only.id.name == "old"
    return only


async def tag_plan(fleet: FakeFleet) -> ProcessorPlan:
    fleet.add(home_config("porch"), stack=STACK)
    return await plan_of(fleet, desired(home_config("porch"), tags={"team": "doors"}))


async def untag_plan(fleet: FakeFleet) -> ProcessorPlan:
    fleet.add(home_config("porch"), stack=STACK, tags={"team": "doors"})
    return await plan_of(fleet, desired(home_config("porch")))


STEPS: dict[str, tuple[Callable[[FakeFleet], object], Action]] = {
    "update": (update_plan, Action.UPDATE),
    "start": (start_plan, Action.START),
    "stop": (stop_plan, Action.STOP),
    "delete": (delete_plan, Action.DELETE),
    "tag": (tag_plan, Action.UPDATE),
    "untag": (untag_plan, Action.UPDATE),
}


@pytest.mark.parametrize("owner", ["another-stack", None], ids=["handed-over", "untagged"])
@pytest.mark.parametrize("step", list(STEPS))
async def test_a_processor_no_longer_ours_is_refused_before_the_step(
    fleet: FakeFleet, vtime: VirtualTime, step: str, owner: str | None
) -> None:
    make, action = STEPS[step]
    plan: ProcessorPlan = await make(fleet)  # type: ignore[misc]
    assert action in plan.actions
    held = fleet[plan.id]
    if owner is None:
        del held.tags[STACK_TAG]
    else:
        held.tags[STACK_TAG] = owner
    before = (held.config, dict(held.tags), held.status)
    seen: list[Event] = []
    outcome = await execute(fleet, plan, vtime, on_event=seen.append)
    assert outcome.disowned
    assert outcome.error is not None
    assert outcome.error.startswith(f"refused before {step}: ")
    assert fleet.operations(mutating=True) == []
    assert (held.config, held.tags, held.status) == before
    assert [(e.name, e.fields["step"], e.fields["owner"]) for e in seen] == [
        (events.OWNERSHIP_LOST, step, owner)
    ]


async def test_a_tag_changed_in_the_middle_of_a_replace_stops_it_before_the_create(
    fleet: FakeFleet, vtime: VirtualTime
) -> None:
    # A face-search processor is replaced: delete, wait gone, create. The delete is ours; once the
    # name is taken again by another stack's processor, the create finds it and refuses it, untouched.
    fleet.add(face_config("cam"), stack=STACK)
    plan = await plan_of(fleet, desired(face_config("cam", role_arn="arn:aws:iam::111122223333:role/Other")))
    assert Action.REPLACE in plan.actions

    def someone_else_takes_the_name(_: object) -> None:
        fleet.add(face_config("cam"), stack="another-stack")

    fleet.on("CreateStreamProcessor", someone_else_takes_the_name)
    outcome = await execute(fleet, plan, vtime)
    assert outcome.disowned
    assert outcome.error is not None
    assert outcome.error.startswith("refused before create: ")
    assert fleet.operations(mutating=True) == ["DeleteStreamProcessor", "CreateStreamProcessor"]
    assert fleet[plan.id].tags == {STACK_TAG: "another-stack"}


async def test_adopting_refuses_a_processor_tagged_since_the_plan(
    fleet: FakeFleet, vtime: VirtualTime
) -> None:
    fleet.add(home_config("porch"))
    planned, _ = await Reconciler(fleet, SETTINGS).plan(
        state(desired(home_config("porch"))), Policy(STACK, adopt=True)
    )
    (plan,) = planned.processors
    assert Action.ADOPT in plan.actions
    fleet[plan.id].tags[STACK_TAG] = "another-stack"
    outcome = await execute(fleet, plan, vtime)
    assert outcome.disowned
    assert outcome.error is not None
    assert outcome.error.startswith("refused before adopt: ")
    assert fleet.operations(mutating=True) == []
