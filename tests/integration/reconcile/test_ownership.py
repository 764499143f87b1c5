"""Ownership is a security property: spd never changes a processor without this stack's tag.

The planner refuses conflicts; these tests attack the gap between plan and apply, where the live
processor changes hands after it was observed, and check the executor re-reads ownership first.
"""

from __future__ import annotations

import time

import pytest

from builders import STACK, create_references, desired, face_config, home_config, state
from spd.aws.gateway import Gateway
from spd.model import STACK_TAG, ConnectedHome, FaceSearch, RunState
from spd.reconcile.executor import ExecutionSettings
from spd.reconcile.plan import Action, Policy
from spd.reconcile.reconciler import Reconciler
from spdrun import wait_status

SETTINGS = ExecutionSettings(stack=STACK, poll_interval=0.02, wait_timeout=10)


def _create(client, name, tags):
    client.create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": face_config(name).kinesis_video_stream_arn}},
        Output={"KinesisDataStream": {"Arn": face_config(name).kinesis_data_stream_arn}},
        Settings={"FaceSearch": {"CollectionId": "old-collection", "FaceMatchThreshold": 85}},
        RoleArn=face_config(name).role_arn,
        Tags=tags,
    )


@pytest.mark.parametrize("prune", [False, True])
async def test_tag_removed_between_plan_and_apply_blocks_destructive_steps(emu, prune):
    client = emu.client()
    _create(client, "victim", {STACK_TAG: STACK})
    want = state(desired(face_config("other")) if prune else desired(face_config("victim")))
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        reconciler = Reconciler(gw, SETTINGS)
        planned, _ = await reconciler.plan(want, Policy(STACK, prune=prune))
        victim = next(p for p in planned.processors if p.name == "victim")
        assert victim.actions[0] in (Action.REPLACE, Action.DELETE)
        arn = client.describe_stream_processor(Name="victim")["StreamProcessorArn"]
        client.untag_resource(ResourceArn=arn, TagKeys=[STACK_TAG])  # it changed hands
        before = emu.stats()["calls"].get("DeleteStreamProcessor", 0)
        result = await reconciler.apply(planned)
    outcome = next(o for o in result.outcomes if o.id.name == "victim")
    assert outcome.error is not None
    assert "not touched" in outcome.error
    assert emu.stats()["calls"].get("DeleteStreamProcessor", 0) == before
    live = client.describe_stream_processor(Name="victim")
    assert live["Settings"]["FaceSearch"]["CollectionId"] == "old-collection"


async def test_name_taken_by_someone_else_after_delete_is_not_adopted(emu):
    """A create that races another owner for the name reports the conflict; it never adopts it."""
    client = emu.client()
    _create(client, "cam", {STACK_TAG: STACK})
    want = state(desired(face_config("cam", settings=FaceSearch("new", 85.0))))
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        reconciler = Reconciler(gw, SETTINGS)
        planned, _ = await reconciler.plan(want, Policy(STACK))
        client.delete_stream_processor(Name="cam")
        time.sleep(0.5)  # past the emulator's delete and name-reuse windows (FAST_TIMINGS)
        _create(client, "cam", {STACK_TAG: "intruder"})
        result = await reconciler.apply(planned)
    assert not result.ok
    tags = client.list_tags_for_resource(
        ResourceArn=client.describe_stream_processor(Name="cam")["StreamProcessorArn"]
    )
    assert tags["Tags"][STACK_TAG] == "intruder"
    assert (
        client.describe_stream_processor(Name="cam")["Settings"]["FaceSearch"]["CollectionId"]
        == "old-collection"
    )


def _run_state_cases():
    face_stopped = {"config": face_config, "run_state": RunState.STOPPED}
    face_running = {"config": face_config, "run_state": RunState.RUNNING}
    home_person = {"config": home_config}
    home_more = {"config": lambda n: home_config(n, settings=ConnectedHome(("PACKAGE", "PERSON"), 60.0))}
    return {
        "start": (face_stopped, face_running, Action.START, "StartStreamProcessor"),
        "stop": (face_running, face_stopped, Action.STOP, "StopStreamProcessor"),
        "update": (home_person, home_more, Action.UPDATE, "UpdateStreamProcessor"),
    }


def _want(case, names):
    build = dict(case)
    config = build.pop("config")
    return state(*(desired(config(n), **build) for n in names))


@pytest.mark.parametrize("new_owner", [None, "someone-else"], ids=["untagged", "retagged"])
@pytest.mark.parametrize("step", ["start", "stop", "update"])
async def test_processor_disowned_between_plan_and_apply_is_not_started_stopped_or_updated(
    emu, step, new_owner
):
    before_case, after_case, action, operation = _run_state_cases()[step]
    names = ("bystander", "victim")
    client = emu.client()
    create_references(emu, *(case["config"](n) for case in (before_case, after_case) for n in names))
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        reconciler = Reconciler(gw, SETTINGS)
        first = await reconciler.reconcile(_want(before_case, names), Policy(STACK))
        assert first.applied.ok
        for name in names:  # settled, so each planned step is one call
            wait_status(client, name, {"RUNNING", "STOPPED"})
        planned, _ = await reconciler.plan(_want(after_case, names), Policy(STACK))
        assert all(action in p.actions for p in planned.processors)
        arn = client.describe_stream_processor(Name="victim")["StreamProcessorArn"]
        if new_owner is None:
            client.untag_resource(ResourceArn=arn, TagKeys=[STACK_TAG])
        else:
            client.tag_resource(ResourceArn=arn, Tags={STACK_TAG: new_owner})
        victim_before = client.describe_stream_processor(Name="victim")
        calls_before = emu.stats()["calls"].get(operation, 0)
        result = await reconciler.apply(planned)
    # Exactly one call: the bystander's. The victim got none.
    assert emu.stats()["calls"].get(operation, 0) == calls_before + 1
    outcomes = {o.id.name: o for o in result.outcomes}
    assert outcomes["bystander"].ok, outcomes["bystander"].error
    assert step in outcomes["bystander"].done
    victim = outcomes["victim"]
    assert victim.error is not None
    assert victim.disowned
    assert f"refused before {step}" in victim.error
    assert "not touched" in victim.error
    assert victim.done == []
    victim_after = client.describe_stream_processor(Name="victim")
    assert victim_after["Status"] == victim_before["Status"]
    assert victim_after["Settings"] == victim_before["Settings"]
    tags = client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert tags.get(STACK_TAG) == new_owner


@pytest.mark.parametrize("taker", ["intruder", STACK])
async def test_processor_tagged_between_adopt_plan_and_apply_is_not_retagged(emu, taker):
    """Adopting re-reads the tags first: a processor that gained any stack tag since the plan is refused."""
    client = emu.client()
    _create(client, "cam", {"team": "vision"})
    want = state(desired(face_config("cam", settings=FaceSearch("new", 85.0))))
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        reconciler = Reconciler(gw, SETTINGS)
        planned, _ = await reconciler.plan(want, Policy(STACK, adopt=True))
        (cam,) = planned.processors
        assert cam.actions[0] is Action.ADOPT
        arn = client.describe_stream_processor(Name="cam")["StreamProcessorArn"]
        client.tag_resource(ResourceArn=arn, Tags={STACK_TAG: taker})  # taken in the meantime
        before = dict(emu.stats()["calls"])
        result = await reconciler.apply(planned)
    (outcome,) = result.outcomes
    assert outcome.error is not None
    assert outcome.error.startswith("refused before adopt:")
    assert f"now carries spd:stack={taker}" in outcome.error
    assert outcome.done == []
    calls = emu.stats()["calls"]
    for op in ("TagResource", "UntagResource", "StopStreamProcessor", "DeleteStreamProcessor"):
        assert calls.get(op, 0) == before.get(op, 0), op
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "vision", STACK_TAG: taker}
    live = client.describe_stream_processor(Name="cam")
    assert live["Settings"]["FaceSearch"]["CollectionId"] == "old-collection"


async def test_adopted_processor_is_then_replaced_under_the_usual_guard(emu):
    """Adopt tags it first, so the stop/delete/create of a replace find it ours and proceed."""
    client = emu.client()
    _create(client, "cam", {})
    want = state(desired(face_config("cam", settings=FaceSearch("new", 85.0))))
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        reconciler = Reconciler(gw, SETTINGS)
        planned, _ = await reconciler.plan(want, Policy(STACK, adopt=True))
        (cam,) = planned.processors
        assert cam.actions == (Action.ADOPT, Action.REPLACE, Action.START)
        result = await reconciler.apply(planned)
    (outcome,) = result.outcomes
    assert outcome.ok, outcome.error
    assert outcome.done[0] == "adopt"
    assert {"create", "start"} <= set(outcome.done)
    live = client.describe_stream_processor(Name="cam")
    assert live["Settings"]["FaceSearch"]["CollectionId"] == "new"
    assert client.list_tags_for_resource(ResourceArn=live["StreamProcessorArn"])["Tags"][STACK_TAG] == STACK
