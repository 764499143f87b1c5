"""The planner's rules, table-driven over every status and every kind of difference."""

from __future__ import annotations

from dataclasses import replace

import pytest

from builders import STACK, desired, face_config, home_config, observed, state
from spd.model import (
    BoundingBox,
    ConnectedHome,
    FaceSearch,
    ObservedProcessor,
    ObservedState,
    Point,
    Polygon,
    ProcessorId,
    RunState,
    Status,
    f32,
)
from spd.reconcile.plan import Action, Policy, Scope, plan, plan_processor

POLICY = Policy(STACK)
ALL_STATUSES = list(Status)


def one(d, o, policy=POLICY):
    return plan_processor(d, o, policy)


# -- run state ---------------------------------------------------------------------------------------

FACE_RUN_STATE = [
    # desired,          observed,         expected actions
    (RunState.RUNNING, Status.STOPPED, (Action.START,)),
    (RunState.RUNNING, Status.FAILED, (Action.START,)),
    (RunState.RUNNING, Status.STARTING, (Action.NOOP,)),
    (RunState.RUNNING, Status.RUNNING, (Action.NOOP,)),
    (RunState.RUNNING, Status.STOPPING, (Action.START,)),
    (RunState.RUNNING, Status.UPDATING, (Action.START,)),
    (RunState.STOPPED, Status.STOPPED, (Action.NOOP,)),
    (RunState.STOPPED, Status.FAILED, (Action.NOOP,)),
    (RunState.STOPPED, Status.STARTING, (Action.STOP,)),
    (RunState.STOPPED, Status.RUNNING, (Action.STOP,)),
    (RunState.STOPPED, Status.STOPPING, (Action.NOOP,)),
    (RunState.STOPPED, Status.UPDATING, (Action.NOOP,)),
]


@pytest.mark.parametrize(("want", "status", "expected"), FACE_RUN_STATE)
def test_face_search_run_state(want, status, expected):
    config = face_config("cam")
    p = one(desired(config, run_state=want), observed(config, status))
    assert p.actions == expected
    assert p.blocked is None
    if expected != (Action.NOOP,):
        assert [c.field for c in p.changes] == ["status"]


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_connected_home_is_never_started_or_stopped(status):
    config = home_config("porch")
    assert one(desired(config), observed(config, status)).actions == (Action.NOOP,)


# -- config differences x statuses -------------------------------------------------------------------

FACE_CHANGES = {
    "collection": lambda c: replace(c, settings=FaceSearch("visitors", 85.0)),
    "threshold": lambda c: replace(c, settings=FaceSearch("staff", 95.0)),
    "role": lambda c: replace(c, role_arn="arn:aws:iam::111122223333:role/Other"),
    "input": lambda c: replace(c, kinesis_video_stream_arn=c.kinesis_video_stream_arn + "0"),
    "output": lambda c: replace(c, kinesis_data_stream_arn=c.kinesis_data_stream_arn + "-2"),
    "regions": lambda c: replace(c, regions_of_interest=(BoundingBox(0, 0, 0.5, 0.5),)),
    "data_sharing": lambda c: replace(c, data_sharing=True),
}


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("change", sorted(FACE_CHANGES))
def test_every_face_search_config_change_replaces(change, status):
    live = face_config("cam")
    want = FACE_CHANGES[change](live)
    p = one(desired(want), observed(live, status))
    assert p.actions == (Action.REPLACE, Action.START)
    assert all(c.forces_replacement for c in p.changes if not c.field.startswith("tags."))
    assert p.changes


HOME_IN_PLACE = {
    "labels": (
        lambda c: replace(c, settings=ConnectedHome(("PERSON", "PET"), 60.0)),
        "connected_home.labels",
    ),
    "min_confidence": (
        lambda c: replace(c, settings=ConnectedHome(("PERSON",), 70.0)),
        "connected_home.min_confidence",
    ),
    "regions": (lambda c: replace(c, regions_of_interest=()), "regions_of_interest"),
    "data_sharing": (lambda c: replace(c, data_sharing=True), "data_sharing"),
}

HOME_REPLACING = {
    "role": lambda c: replace(c, role_arn="arn:aws:iam::111122223333:role/Other"),
    "bucket": lambda c: replace(c, s3_bucket="other-bucket"),
    "prefix": lambda c: replace(c, s3_key_prefix="elsewhere/"),
    "sns": lambda c: replace(c, sns_topic_arn=c.sns_topic_arn + "2"),
    "kms": lambda c: replace(c, kms_key_id="alias/spd"),
    "input": lambda c: replace(c, kinesis_video_stream_arn=c.kinesis_video_stream_arn + "0"),
}


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("change", sorted(HOME_IN_PLACE))
def test_connected_home_updatable_fields_update_in_place(change, status):
    live = home_config("porch")
    mutate, field = HOME_IN_PLACE[change]
    p = one(desired(mutate(live)), observed(live, status))
    assert p.actions == (Action.UPDATE,)
    assert [c.field for c in p.changes] == [field]
    assert not p.changes[0].forces_replacement
    assert not p.update.empty


@pytest.mark.parametrize("status", ALL_STATUSES)
@pytest.mark.parametrize("change", sorted(HOME_REPLACING))
def test_connected_home_other_fields_replace(change, status):
    live = home_config("porch")
    p = one(desired(HOME_REPLACING[change](live)), observed(live, status))
    assert p.actions == (Action.REPLACE,)
    assert p.changes[0].forces_replacement


def test_kind_change_replaces():
    live = home_config("cam")
    p = one(desired(face_config("cam")), observed(live))
    assert p.actions[0] is Action.REPLACE
    assert any(c.field == "kind" for c in p.changes)


def test_update_request_uses_parameters_to_delete_for_cleared_values():
    live = home_config("porch", settings=ConnectedHome(("PERSON",), 75.0))
    want = home_config("porch", settings=ConnectedHome(("PERSON",)), regions_of_interest=())
    p = one(desired(want), observed(live))
    assert p.update.parameters_to_delete == ("ConnectedHomeMinConfidence", "RegionsOfInterest")
    assert p.update.min_confidence is None
    assert p.update.regions_of_interest is None
    assert p.update.labels is None


def test_update_request_sends_only_what_changed():
    live = home_config("porch")
    want = home_config("porch", settings=ConnectedHome(("PACKAGE", "PERSON"), 80.0))
    p = one(desired(want), observed(live))
    assert p.update.labels == ("PACKAGE", "PERSON")
    assert p.update.min_confidence == 80.0
    assert p.update.regions_of_interest is None
    assert p.update.data_sharing is None
    assert p.update.parameters_to_delete == ()


# -- tags ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("status", ALL_STATUSES)
def test_tag_change_is_an_update_even_for_face_search(status):
    config = face_config("cam")
    run_state = RunState.RUNNING if status in (Status.RUNNING, Status.STARTING) else RunState.STOPPED
    p = one(
        desired(config, tags={"team": "vision"}, run_state=run_state),
        observed(config, status, tags={"old": "x"}),
    )
    assert Action.UPDATE in p.actions
    assert Action.REPLACE not in p.actions
    assert p.tags.add == (("team", "vision"),)
    assert p.tags.remove == ("old",)


def test_aws_tags_are_ignored():
    config = face_config("cam")
    p = one(desired(config), observed(config, Status.RUNNING, tags={"aws:cloudformation:stack": "x"}))
    assert p.actions == (Action.NOOP,)


# -- normalisation: nothing drifts by itself --------------------------------------------------------


def test_float32_round_trip_is_not_drift():
    want = home_config(
        "porch",
        regions_of_interest=(
            BoundingBox(0.1, 0.2, 0.3, 0.4),
            Polygon((Point(0.1, 0.6), Point(0.9, 0.6), Point(0.5, 0.95))),
        ),
        settings=ConnectedHome(("PERSON",), 60.1),
    )
    live = home_config(
        "porch",
        regions_of_interest=(
            Polygon((Point(f32(0.1), f32(0.6)), Point(f32(0.9), f32(0.6)), Point(f32(0.5), f32(0.95)))),
            BoundingBox(0.10000000149011612, 0.20000000298023224, 0.30000001192092896, 0.4000000059604645),
        ),
        settings=ConnectedHome(("PERSON",), 60.099998474121094),
    )
    assert one(desired(want), observed(live)).actions == (Action.NOOP,)


def test_threshold_below_80_never_drifts():
    want = face_config("cam", settings=FaceSearch("staff", 50.0))
    live = face_config("cam", settings=FaceSearch("staff", 80.0))
    assert one(desired(want), observed(live, Status.RUNNING)).actions == (Action.NOOP,)


def test_label_order_is_not_drift():
    want = home_config("porch", settings=ConnectedHome(("PET", "PERSON"), 60.0))
    live = home_config("porch", settings=ConnectedHome(("PERSON", "PET"), 60.0))
    assert one(desired(want), observed(live)).actions == (Action.NOOP,)


# -- ownership, protect, prune, create ----------------------------------------------------------------


@pytest.mark.parametrize("owner", [None, "another-stack"])
@pytest.mark.parametrize("status", ALL_STATUSES)
def test_unowned_processor_with_same_name_is_a_blocked_conflict(owner, status):
    live = face_config("cam", settings=FaceSearch("totally-different", 90.0))
    p = one(desired(face_config("cam")), observed(live, status, stack=owner))
    assert p.blocked is not None
    assert p.blocked.startswith("conflict")
    assert not p.actionable


def test_protect_blocks_replace_but_not_updates():
    live = face_config("cam")
    p = one(
        desired(face_config("cam", role_arn="arn:aws:iam::111122223333:role/New"), protect=True),
        observed(live),
    )
    assert p.actions[0] is Action.REPLACE
    assert p.blocked is not None
    assert "protect" in p.blocked
    p2 = one(desired(live, protect=True, tags={"a": "b"}), observed(live, Status.RUNNING))
    assert p2.actions == (Action.UPDATE,)
    assert p2.blocked is None


def test_create_plans_start_only_for_running_face_search():
    assert one(desired(face_config("a")), None).actions == (Action.CREATE, Action.START)
    assert one(desired(face_config("a"), run_state=RunState.STOPPED), None).actions == (Action.CREATE,)
    assert one(desired(home_config("b")), None).actions == (Action.CREATE,)


def _observed_state(*obs):
    return ObservedState(("us-east-1",), tuple(obs))


def test_prune_only_with_flag_and_only_own_stack():
    keep = face_config("keep")
    ours = face_config("gone")
    theirs = face_config("theirs")
    untagged = face_config("untagged")
    obs = _observed_state(
        observed(keep, Status.RUNNING),
        observed(ours, Status.RUNNING),
        observed(theirs, stack="other"),
        observed(untagged, stack=None),
    )
    want = state(desired(keep))
    without = plan(want, obs, Policy(STACK))
    gone = next(p for p in without.processors if p.name == "gone")
    assert gone.actions == (Action.DELETE,)
    assert gone.blocked is not None
    assert without.summary()["delete"] == 0
    with_prune = plan(want, obs, Policy(STACK, prune=True))
    names = {p.name: p for p in with_prune.processors}
    assert names["gone"].actionable
    assert "theirs" not in names
    assert "untagged" not in names
    assert with_prune.summary()["delete"] == 1


def test_target_limits_the_plan():
    obs = _observed_state()
    want = state(desired(face_config("a")), desired(face_config("b")))
    p = plan(want, obs, Policy(STACK, only=frozenset({"b"})))
    assert [x.name for x in p.processors] == ["b"]


def test_summary_counts_and_json_shape():
    want = state(desired(face_config("a")), desired(home_config("b")))
    p = plan(want, _observed_state(observed(home_config("b"))), POLICY)
    s = p.summary()
    assert s["create"] == 1
    assert s["start"] == 1
    assert s["noop"] == 1
    assert p.has_changes


def test_sweep_only_touches_owned_processors_with_drifted_run_state():
    a, b, c = face_config("a"), face_config("b"), home_config("c")
    want = state(desired(a), desired(b), desired(c))
    statuses = {
        ProcessorId("us-east-1", "a"): Status.STOPPED,
        ProcessorId("us-east-1", "b"): Status.STOPPED,
        ProcessorId("us-east-1", "c"): Status.STOPPED,
    }
    owned = frozenset({ProcessorId("us-east-1", "a"), ProcessorId("us-east-1", "c")})
    listed = ObservedState(("us-east-1",), tuple(ObservedProcessor(pid, s) for pid, s in statuses.items()))
    items = plan(want, listed, Policy(STACK, scope=Scope.RUN_STATE, owned=owned)).actionable()
    assert [(i.desired.name, i.actions) for i in items if i.desired] == [("a", (Action.START,))]
