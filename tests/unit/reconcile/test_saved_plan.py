"""The saved-plan file format: round trip, the spec digest, and comparing fingerprints (pure)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from builders import desired, face_config, home_config, observed, state
from spd.model import ConnectedHome, ObservedState, SourceLocation, Status
from spd.reconcile.plan import Policy, plan
from spd.reconcile.saved_plan import SavedPlanError, changes_since, parse, save, spec_digest

STACK = "test-stack"


def _saved(tmp_path: Path):
    want = state(desired(face_config("lobby")), desired(home_config("porch")))
    lobby = replace(
        observed(face_config("lobby"), Status.STOPPED), updated_at=datetime(2026, 1, 2, tzinfo=UTC)
    )
    seen = ObservedState(("us-east-1",), (lobby,))
    planned = plan(want, seen, Policy(want.stack))
    return save(planned, want, tmp_path / "spec.yaml", prune=False, only=None), planned, seen


def test_a_saved_plan_reads_back_as_written(tmp_path):
    saved, planned, _ = _saved(tmp_path)
    assert parse(saved.to_json(planned)) == saved
    assert [p.actions for p in saved.processors] == [("start",), ("create",)]


def test_nothing_changed_means_no_changes(tmp_path):
    saved, _, seen = _saved(tmp_path)
    assert changes_since(saved, seen) == []


def test_each_kind_of_change_is_named(tmp_path):
    saved, _, seen = _saved(tmp_path)
    lobby = seen.processors[0]
    porch = observed(home_config("porch"))
    now = ObservedState(seen.regions, (replace(lobby, status=Status.RUNNING, tags=()), porch))
    assert changes_since(saved, now) == [
        "us-east-1/lobby: status STOPPED -> RUNNING; tag spd:stack: 'test-stack' -> None",
        "us-east-1/porch: appeared since the plan was made",
    ]
    assert changes_since(saved, ObservedState(seen.regions)) == [
        "us-east-1/lobby: disappeared since the plan was made"
    ]


def test_the_digest_is_of_what_the_spec_means_not_where_it_says_it():
    a = desired(home_config("porch"))
    moved = replace(a, source=SourceLocation("other.yaml", 9, 3))
    relabelled = replace(a, config=replace(a.config, settings=ConnectedHome(("PET",))))
    assert spec_digest(state(a)) == spec_digest(state(moved))
    assert spec_digest(state(a)) != spec_digest(state(relabelled))
    assert spec_digest(state(a)) != spec_digest(state(a, stack="other"))


@pytest.mark.parametrize(
    "text", ["", "null", '{"format_version": "1"}', '{"format_version": 1, "processors": {}}']
)
def test_bad_files_are_saved_plan_errors(text):
    with pytest.raises(SavedPlanError):
        parse(text, "p.json")
