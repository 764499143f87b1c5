"""The planner with targets: identity per (target, region, name), a target change as a replace on both
sides, and a target that could not be read planned for nothing."""

from __future__ import annotations

from dataclasses import replace

from builders import STACK, desired, face_config, observed
from spd.model import DesiredState, ObservedState, ProcessorId, Status, Target
from spd.reconcile.plan import Action, BlockReason, Change, Policy, plan

TARGETS = (Target("a", ("us-east-1",), "111111111111"), Target("b", ("us-east-1",), "222222222222"))
MOVE = Change("target", "a", "b", forces_replacement=True)


def _spec(*processors, targets=TARGETS):
    return DesiredState(STACK, tuple(processors), targets=targets)


def _seen(*processors, failed=()):
    return ObservedState(("us-east-1",), tuple(processors), failed_targets=failed)


def _in(target, processor):
    return replace(processor, id=ProcessorId(processor.id.region, processor.id.name, target))


def test_the_same_name_under_two_targets_is_two_processors():
    config = face_config("cam")
    spec = _spec(replace(desired(config), target="a"), replace(desired(config), target="b"))
    planned = plan(spec, _seen(_in("a", observed(config, Status.RUNNING))), Policy(STACK))
    assert [(str(p.id), p.actions) for p in planned.processors] == [
        ("a/us-east-1/cam", (Action.NOOP,)),
        ("b/us-east-1/cam", (Action.CREATE, Action.START)),
    ]


def test_a_target_change_is_a_create_there_and_a_prune_here():
    config = face_config("cam")
    spec = _spec(replace(desired(config), target="b"))
    seen = _seen(_in("a", observed(config, Status.RUNNING)))
    kept, pruned = plan(spec, seen, Policy(STACK)), plan(spec, seen, Policy(STACK, prune=True))
    for planned in (kept, pruned):
        new, old = planned.processors[1], planned.processors[0]
        assert (old.id.target, new.id.target) == ("a", "b")
        assert new.actions == (Action.CREATE, Action.START)
        assert MOVE in new.changes
        assert old.actions == (Action.DELETE,)
        assert MOVE in old.changes
    assert kept.processors[0].block is not None
    assert kept.processors[0].block.reason is BlockReason.PRUNING_OFF
    assert pruned.processors[0].block is None


def test_a_protected_processor_is_never_deleted_on_the_old_side():
    config = face_config("cam")
    spec = _spec(replace(desired(config, protect=True), target="b"))
    planned = plan(spec, _seen(_in("a", observed(config))), Policy(STACK, prune=True))
    old = next(p for p in planned.processors if p.id.target == "a")
    assert old.block is not None
    assert old.block.reason is BlockReason.PROTECTED


def test_another_stacks_processor_under_the_old_target_is_not_touched():
    config = face_config("cam")
    spec = _spec(replace(desired(config), target="b"))
    planned = plan(spec, _seen(_in("a", observed(config, stack="other"))), Policy(STACK, prune=True))
    assert [str(p.id) for p in planned.processors] == ["b/us-east-1/cam"]
    assert MOVE not in planned.processors[0].changes


def test_a_failed_target_is_planned_for_nothing():
    spec = _spec(
        replace(desired(face_config("x")), target="a"), replace(desired(face_config("y")), target="b")
    )
    planned = plan(spec, _seen(failed=(("a", "AccessDenied"),)), Policy(STACK, prune=True))
    assert [str(p.id) for p in planned.processors] == ["b/us-east-1/y"]
    assert planned.failed_targets == (("a", "AccessDenied"),)
