"""The executor's retries over the in-memory fleet: a temporary error (throttling, a processor busy,
a name still reserved) is tried again until it passes or time runs out; a permanent one (access denied,
not found) ends the processor's steps after one attempt."""

from __future__ import annotations

import pytest

from builders import STACK, desired, face_config, home_config
from core_support import VirtualTime, execute, plan_of
from spd.errors import AwsError, NameInUseError
from spd.model import STACK_TAG, ConnectedHome, RunState, Status
from spd.reconcile.fake_gateway import FakeFleet, access_denied, not_found, resource_in_use, throttling
from spd.reconcile.plan import Action

PORCH_PETS = home_config("porch", settings=ConnectedHome(("PET",), 60.0))


@pytest.mark.parametrize("error", [throttling, resource_in_use], ids=["throttling", "resource-in-use"])
async def test_a_temporary_error_is_tried_again(fleet: FakeFleet, vtime: VirtualTime, error) -> None:
    fleet.add(face_config("cam"), stack=STACK)
    plan = await plan_of(fleet, desired(face_config("cam"), run_state=RunState.RUNNING))
    assert plan.actions == (Action.START,)
    fleet.fail("StartStreamProcessor", error, times=3)
    outcome = await execute(fleet, plan, vtime)
    assert outcome.ok, outcome.error
    assert outcome.done == ["start"]
    assert fleet.operations(mutating=True) == ["StartStreamProcessor"] * 4
    assert fleet[plan.id].status is Status.RUNNING
    assert vtime.slept == [1.0, 1.0, 1.0]


async def test_a_temporary_error_that_never_passes_ends_with_the_services_error(
    fleet: FakeFleet, vtime: VirtualTime
) -> None:
    fleet.add(face_config("cam"), stack=STACK)
    plan = await plan_of(fleet, desired(face_config("cam"), run_state=RunState.RUNNING))
    fleet.fail("StartStreamProcessor", throttling, times=None)
    outcome = await execute(fleet, plan, vtime)
    assert outcome.error is not None
    assert "ThrottlingException" in outcome.error
    assert outcome.done == []
    # Tried at 0 s, 1 s ... 30 s: the wait time-out, then the last error is the outcome's.
    assert fleet.operations(mutating=True) == ["StartStreamProcessor"] * 31
    assert fleet[plan.id].status is Status.STOPPED


@pytest.mark.parametrize("error", [access_denied, not_found], ids=["access-denied", "not-found"])
async def test_a_permanent_error_is_not_tried_again(fleet: FakeFleet, vtime: VirtualTime, error) -> None:
    fleet.add(home_config("porch"), stack=STACK)
    plan = await plan_of(fleet, desired(PORCH_PETS))
    assert Action.UPDATE in plan.actions
    fleet.fail("UpdateStreamProcessor", error, times=None)
    outcome = await execute(fleet, plan, vtime)
    assert outcome.error is not None
    assert outcome.error.startswith("UpdateStreamProcessor: ")
    assert fleet.operations(mutating=True) == ["UpdateStreamProcessor"]
    assert vtime.slept == []
    assert fleet[plan.id].config == home_config("porch")


def name_reserved(operation: str) -> AwsError:
    return NameInUseError(operation, "ResourceInUseException", "the name is reserved")


async def test_a_name_still_reserved_is_tried_again_until_it_is_free(
    fleet: FakeFleet, vtime: VirtualTime
) -> None:
    plan = await plan_of(fleet, desired(face_config("cam"), run_state=RunState.STOPPED))
    assert plan.actions == (Action.CREATE,)
    fleet.fail("CreateStreamProcessor", name_reserved, times=2)
    outcome = await execute(fleet, plan, vtime)
    assert outcome.ok, outcome.error
    assert fleet.operations(mutating=True) == ["CreateStreamProcessor"] * 3
    assert fleet[plan.id].tags[STACK_TAG] == STACK


async def test_an_update_waits_for_a_stopping_processor(vtime: VirtualTime) -> None:
    fleet = FakeFleet(settle_after=4)
    fleet.add(home_config("porch"), stack=STACK, status=Status.STOPPING)
    plan = await plan_of(fleet, desired(PORCH_PETS))
    assert Action.UPDATE in plan.actions
    outcome = await execute(fleet, plan, vtime)
    assert outcome.ok, outcome.error
    assert fleet[plan.id].config == PORCH_PETS
    assert fleet.operations(mutating=True) == ["UpdateStreamProcessor"]
    # Read STOPPING by the plan's List and Describe and by the first poll, STOPPED by the second.
    assert vtime.slept == [1.0]
