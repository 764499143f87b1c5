"""The planner's adoption rules (`Policy.adopt`): only the spec's processors with no `spd:stack` tag."""

from __future__ import annotations

from dataclasses import replace

import click
import pytest

from builders import STACK, desired, face_config, home_config, observed, state
from spd.cli.render import plan_json, plan_text
from spd.model import STACK_TAG, ConnectedHome, FaceSearch, ObservedState, RunState, Status
from spd.reconcile.plan import Action, BlockReason, ChangeKind, Policy, Scope, plan, plan_processor

ADOPT = Policy(STACK, adopt=True)

CASES = [
    # id, desired, observed (untagged), expected actions
    (
        "same",
        desired(face_config("a")),
        observed(face_config("a"), Status.RUNNING, stack=None),
        (Action.ADOPT,),
    ),
    (
        "stopped",
        desired(face_config("a")),
        observed(face_config("a"), Status.STOPPED, stack=None),
        (Action.ADOPT, Action.START),
    ),
    (
        "should-stop",
        desired(face_config("a"), run_state=RunState.STOPPED),
        observed(face_config("a"), Status.RUNNING, stack=None),
        (Action.ADOPT, Action.STOP),
    ),
    (
        "labels",
        desired(home_config("h", settings=ConnectedHome(("PERSON", "PET")))),
        observed(home_config("h"), stack=None),
        (Action.ADOPT, Action.UPDATE),
    ),
    (
        "user-tag",
        desired(face_config("a"), tags={"team": "vision"}),
        observed(face_config("a"), Status.RUNNING, stack=None),
        (Action.ADOPT, Action.UPDATE),
    ),
    (
        "collection",
        desired(face_config("a", settings=FaceSearch("new"))),
        observed(face_config("a"), Status.RUNNING, stack=None),
        (Action.ADOPT, Action.REPLACE, Action.START),
    ),
]


@pytest.mark.parametrize(("want", "have", "actions"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_an_untagged_processor_is_adopted_then_planned_as_this_stacks(want, have, actions):
    p = plan_processor(want, have, ADOPT)
    assert p.actions == actions
    assert p.block is None
    assert p.actionable
    assert p.observed == have
    stack_tags = [c for c in p.changes if c.field == f"tags.{STACK_TAG}"]
    assert [(c.before, c.after, c.kind) for c in stack_tags] == [(None, STACK, ChangeKind.TAG)]
    # The stack tag is the adopt step's; a tag update, if any, is only for the spec's own tags.
    assert STACK_TAG not in dict(p.tags.add)


def test_without_adopt_an_untagged_processor_stays_a_conflict_that_names_the_flag():
    p = plan_processor(desired(face_config("a")), observed(face_config("a"), stack=None), Policy(STACK))
    assert p.block is not None
    assert p.block.reason is BlockReason.CONFLICT_UNTAGGED
    assert "--adopt" in (p.blocked or "")


@pytest.mark.parametrize("status", list(Status))
def test_another_stacks_processor_is_never_adopted(status):
    p = plan_processor(desired(face_config("a")), observed(face_config("a"), status, stack="theirs"), ADOPT)
    assert p.block is not None
    assert p.block.reason is BlockReason.CONFLICT_STACK
    assert Action.ADOPT not in p.actions
    assert not p.actionable


def test_protect_blocks_an_adoption_that_needs_a_replace():
    want = desired(face_config("a", settings=FaceSearch("new")), protect=True)
    p = plan_processor(want, observed(face_config("a"), stack=None), ADOPT)
    assert p.actions[:2] == (Action.ADOPT, Action.REPLACE)
    assert p.block is not None
    assert p.block.reason is BlockReason.PROTECTED
    assert not p.actionable


def test_untagged_processors_outside_the_spec_are_neither_adopted_nor_pruned():
    result = plan(
        state(desired(face_config("kept"))),
        ObservedState(
            ("us-east-1",),
            (observed(face_config("kept"), stack=None), observed(face_config("stray"), stack=None)),
        ),
        Policy(STACK, prune=True, adopt=True),
    )
    assert [(p.name, p.actions) for p in result.processors] == [("kept", (Action.ADOPT, Action.START))]


def test_a_status_only_observation_is_never_adopted():
    """A List page has no tags: its owner is unknown, which is not the same as untagged."""
    listed = replace(observed(face_config("a"), stack=None), tags=None, config=None)
    policy = replace(ADOPT, scope=Scope.RUN_STATE)
    assert (
        plan(state(desired(face_config("a"))), ObservedState(("us-east-1",), (listed,)), policy).processors
        == ()
    )
    p = plan_processor(desired(face_config("a")), listed, ADOPT)
    assert Action.ADOPT not in p.actions


def test_adoptions_are_counted_and_shown_with_their_symbol():
    result = plan(
        state(
            desired(home_config("h", settings=ConnectedHome(("PERSON", "PET")))), desired(face_config("f"))
        ),
        ObservedState(
            ("us-east-1",),
            (observed(home_config("h"), stack=None), observed(face_config("f"), Status.RUNNING)),
        ),
        ADOPT,
    )
    assert result.summary()["adopt"] == 1
    assert result.summary()["update"] == 1
    assert result.has_changes
    text = click.unstyle(plan_text(result))
    assert "    & adopt    us-east-1/h (then update)\n" in text
    assert '      + tags.spd:stack = "test-stack"\n' in text
    assert "Plan: 1 to adopt, 0 to create, 1 to update," in text
    assert '"actions": [\n        "adopt",\n        "update"\n      ]' in plan_json(result)


def test_the_summary_line_mentions_adoption_only_when_there_is_some():
    result = plan(state(desired(face_config("f"))), ObservedState(("us-east-1",), ()), ADOPT)
    assert "adopt" not in plan_text(result)
