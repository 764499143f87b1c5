"""The in-memory fleet keeps the service rules the core leans on (the ones the emulator and the
gateway's own tests hold for the real thing): refusals by status, idempotent forms, injected errors."""

from __future__ import annotations

import pytest

from builders import STACK, face_config, home_config
from spd.errors import AccessDeniedError, BusyError, NameInUseError, NotFoundError, SessionOpenError
from spd.model import STACK_TAG, ProducerTimestamp, Status
from spd.reconcile.fake_gateway import FakeFleet, access_denied


async def test_status_rules_and_idempotent_forms(fleet: FakeFleet) -> None:
    region = await fleet.region("us-east-1")
    created = await region.ensure_created(face_config("cam"), {STACK_TAG: STACK})
    assert created.existing is None
    assert created.arn is not None
    again = await region.ensure_created(face_config("cam"), {STACK_TAG: "x"})
    assert again.existing is not None
    assert again.existing.stack() == STACK
    with pytest.raises(NameInUseError):
        await region.create(face_config("cam"), {})
    assert await region.ensure_started("cam") is True
    assert await region.ensure_started("cam") is False
    with pytest.raises(SessionOpenError):
        await region.start("cam")
    with pytest.raises(BusyError):
        await region.delete("cam")
    assert await region.ensure_stopped("cam") is True
    assert await region.ensure_stopped("cam") is False
    assert await region.ensure_deleted("cam") is True
    assert await region.ensure_deleted("cam") is False
    assert await region.status("cam") is None
    with pytest.raises(NotFoundError):
        await region.describe("cam")


async def test_scripted_transitions_settle_after_reads() -> None:
    fleet = FakeFleet(settle_after=2)
    fleet.add(home_config("porch"), stack=STACK)
    region = await fleet.region("us-east-1")
    session = await region.start_session("porch", ProducerTimestamp(1), 30)
    assert fleet[home_config("porch").id].sessions == [session]
    assert await region.status("porch") is Status.STARTING
    assert await region.status("porch") is Status.RUNNING
    await region.stop("porch")
    fleet.settle()
    assert await region.status("porch") is Status.STOPPED


async def test_injected_errors_count_down_and_can_name_one_processor(fleet: FakeFleet) -> None:
    fleet.add(face_config("a"), stack=STACK)
    fleet.add(face_config("b"), stack=STACK)
    region = await fleet.region("us-east-1")
    fleet.fail("StartStreamProcessor", access_denied, times=1, subject="b")
    await region.start("a")
    with pytest.raises(AccessDeniedError):
        await region.start("b")
    await region.start("b")
    assert fleet.operations() == ["StartStreamProcessor"] * 3
    assert fleet.stats.snapshot() == {"StartStreamProcessor": 3}


async def test_targets_are_separate_fleets(fleet: FakeFleet) -> None:
    fleet.add(face_config("cam"), stack=STACK, target="prod")
    assert await (await fleet.region("us-east-1")).list_statuses() == {}
    listed = await (await fleet.region("us-east-1", "prod")).list_statuses()
    assert [(p.target, p.name) for p in listed] == [("prod", "cam")]
    fleet.target_errors["prod"] = "AccessDenied: cannot assume the role"
    assert await fleet.check_target("prod") == "AccessDenied: cannot assume the role"
