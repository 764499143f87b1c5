"""The planner and processors that could not be read: reported, never planned, never guessed at."""

from __future__ import annotations

from builders import STACK, desired, face_config, observed, state
from spd.model import ObservedState, ProcessorId, Status
from spd.reconcile.plan import Action, Policy, plan

ERROR = "DescribeStreamProcessor: ThrottlingException: Rate exceeded"


def _observed(*, unreadable: tuple[str, ...]) -> ObservedState:
    seen = observed(face_config("seen"), Status.STOPPED)
    return ObservedState(
        ("us-east-1",), (seen,), tuple((ProcessorId("us-east-1", n), ERROR) for n in unreadable)
    )


def test_an_unreadable_processor_of_the_spec_is_reported_and_not_planned():
    want = state(desired(face_config("seen")), desired(face_config("unread")))
    result = plan(want, _observed(unreadable=("unread",)), Policy(STACK))
    by_name = {p.name: p for p in result.processors}
    assert by_name["seen"].actions == (Action.START,)
    unread = by_name["unread"]
    assert unread.unreadable == ERROR
    assert not unread.actionable  # not a create: the name exists, its owner is unknown
    assert [p.name for p in result.unreadable()] == ["unread"]
    assert result.summary()["unreadable"] == 1
    assert result.summary()["create"] == 0
    assert [p.name for p in result.actionable()] == ["seen"]


def test_an_unreadable_processor_outside_the_spec_is_reported_only_when_pruning():
    want = state(desired(face_config("seen")))
    observed_state = _observed(unreadable=("elsewhere",))
    assert plan(want, observed_state, Policy(STACK)).unreadable() == ()
    pruning = plan(want, observed_state, Policy(STACK, prune=True))
    assert [p.name for p in pruning.unreadable()] == ["elsewhere"]
    targeted = plan(want, observed_state, Policy(STACK, prune=True, only=frozenset({"seen"})))
    assert targeted.unreadable() == ()
