"""The status sweep's plan is the planner's plan: a List page (status only) planned under
`Scope.RUN_STATE` gives the same run-state actions and status change as a full observation does."""

from __future__ import annotations

import pytest

from builders import STACK, desired, face_config, home_config, observed, state
from spd.model import ObservedProcessor, ObservedState, ProcessorId, RunState, Status
from spd.reconcile.plan import Action, ChangeKind, Policy, Scope, plan

A = ProcessorId("us-east-1", "a")


def _listed(*items: tuple[ProcessorId, Status]) -> ObservedState:
    return ObservedState(("us-east-1",), tuple(ObservedProcessor(pid, s) for pid, s in items))


@pytest.mark.parametrize("run_state", list(RunState))
@pytest.mark.parametrize("status", list(Status))
@pytest.mark.parametrize("make", [face_config, home_config])
def test_a_list_page_plans_the_same_run_state_as_a_full_read(make, status, run_state):
    want = state(desired(make("a"), run_state=run_state))
    full = plan(want, ObservedState(("us-east-1",), (observed(make("a"), status),)), Policy(STACK))
    sweep = plan(want, _listed((A, status)), Policy(STACK, scope=Scope.RUN_STATE, owned=frozenset({A})))
    (f,) = full.processors
    (s,) = sweep.processors
    assert s.actions == f.actions
    assert s.changes == tuple(c for c in f.changes if c.kind is ChangeKind.STATUS)
    assert s.block is None


def test_a_list_page_never_compares_config_or_tags():
    want = state(desired(face_config("a"), tags={"team": "x"}))
    sweep = plan(
        want, _listed((A, Status.RUNNING)), Policy(STACK, scope=Scope.RUN_STATE, owned=frozenset({A}))
    )
    assert [p.actions for p in sweep.processors] == [(Action.NOOP,)]


def test_a_list_page_plans_nothing_for_what_is_not_known_to_be_ours():
    b, gone = ProcessorId("us-east-1", "b"), ProcessorId("us-east-1", "gone")
    want = state(desired(face_config("a")), desired(face_config("b")), desired(face_config("missing")))
    listed = _listed((A, Status.STOPPED), (b, Status.STOPPED), (gone, Status.RUNNING))
    policy = Policy(STACK, prune=True, scope=Scope.RUN_STATE, owned=frozenset({A, gone}))
    result = plan(want, listed, policy)
    # b: owner unknown (not a conflict: the page has no tags); missing: not listed (no create);
    # gone: not in the spec (no delete, even with pruning on).
    assert [(p.name, p.actions) for p in result.processors] == [("a", (Action.START,))]
