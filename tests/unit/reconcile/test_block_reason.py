"""Why a plan is blocked, as a type: each situation gives one BlockReason, and the text people read
stays the one spd has always printed."""

from __future__ import annotations

from dataclasses import replace

import pytest

from builders import STACK, desired, face_config, observed, state
from spd import events
from spd.model import FaceSearch, ObservedState, ProcessorId, Status
from spd.reconcile.plan import Action, Block, BlockReason, Policy, plan, plan_processor
from spd.reconcile.reconciler import Reconciler

ERROR = "DescribeStreamProcessor: ThrottlingException: Rate exceeded"


def _only(desired_processors, observed_processors, *, prune=False, unreadable=()):
    result = plan(
        state(*desired_processors),
        ObservedState(("us-east-1",), tuple(observed_processors), tuple(unreadable)),
        Policy(STACK, prune=prune),
    )
    blocked = [p for p in result.processors if p.block is not None]
    assert len(blocked) == 1
    return blocked[0]


def _protected():
    want = desired(face_config("a"), protect=True)
    have = observed(face_config("a", settings=FaceSearch("other")))
    return _only([want], [have])


CASES = [
    (
        "protect",
        _protected,
        BlockReason.PROTECTED,
        "protected: protect is true, so spd will not replace it",
    ),
    (
        "untagged",
        lambda: _only([desired(face_config("a"))], [observed(face_config("a"), stack=None)]),
        BlockReason.CONFLICT_UNTAGGED,
        "conflict: name taken by a processor without the spd:stack tag; spd never changes it "
        "unless adopted (re-run with --adopt to tag it for this stack and manage it)",
    ),
    (
        "other-stack",
        lambda: _only([desired(face_config("a"))], [observed(face_config("a"), stack="theirs")]),
        BlockReason.CONFLICT_STACK,
        "conflict: name taken by a processor of stack 'theirs'; spd never changes it",
    ),
    (
        "pruning-off",
        lambda: _only(
            [desired(face_config("kept"))],
            [observed(face_config("kept"), Status.RUNNING), observed(face_config("gone"))],
        ),
        BlockReason.PRUNING_OFF,
        "not in the spec; pruning is off (use --prune to delete it)",
    ),
]


@pytest.mark.parametrize(("make", "reason", "text"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_blocked_situation_has_its_reason_and_its_text(make, reason, text):
    p = make()
    assert p.block == Block(reason, p.block.detail)
    assert p.blocked == text
    assert p.unreadable is None
    assert p.conflict is reason.conflict
    assert not p.actionable


def test_an_unreadable_processor_is_a_reason_too_and_keeps_the_error_as_its_text():
    p = _only([desired(face_config("a"))], [], unreadable=[(ProcessorId("us-east-1", "a"), ERROR)])
    assert p.block == Block(BlockReason.UNREADABLE, ERROR)
    assert p.unreadable == ERROR
    assert p.blocked is None
    assert p.actions == (Action.NOOP,)


def test_only_the_two_conflicts_are_conflicts():
    assert {r for r in BlockReason if r.conflict} == {
        BlockReason.CONFLICT_UNTAGGED,
        BlockReason.CONFLICT_STACK,
    }


def test_a_plan_that_is_not_blocked_has_no_block():
    p = plan_processor(desired(face_config("a")), observed(face_config("a"), Status.RUNNING), Policy(STACK))
    assert p.block is None
    assert p.blocked is None


@pytest.mark.parametrize(
    ("make", "event"),
    [
        (_protected, events.PROCESSOR_BLOCKED),
        (CASES[1][1], events.PROCESSOR_CONFLICT),
        (CASES[2][1], events.PROCESSOR_CONFLICT),
    ],
)
def test_the_drift_report_names_the_event_from_the_reason(make, event):
    p = make()
    seen: list[events.Event] = []
    reconciler = Reconciler(gateway=None, settings=None, on_event=seen.append)  # type: ignore[arg-type]
    reconciler.report_drift(replace(plan(state(), ObservedState(()), Policy(STACK)), processors=(p,)))
    kinds = [e.name for e in seen]
    assert event in kinds
    assert events.PROCESSOR_CONFLICT not in kinds or event == events.PROCESSOR_CONFLICT
    reasons = [e.fields["reason"] for e in seen if e.name == event]
    assert reasons == [p.blocked]
    if event == events.PROCESSOR_CONFLICT:
        assert events.DRIFT_DETECTED not in kinds  # nothing about someone else's processor is drift
