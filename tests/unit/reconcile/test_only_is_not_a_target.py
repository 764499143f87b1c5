"""Inside spd a target is an account (`spd.model.Target`); the filter on processor names that the command
line calls `--target NAME` is `only` in the code, so the two never share a name."""

from __future__ import annotations

import dataclasses
import inspect
from pathlib import Path

from builders import desired as desired_processor
from builders import face_config, state
from spd import connect
from spd.model import ObservedState
from spd.reconcile import saved_plan
from spd.reconcile.plan import Policy, plan


def test_the_name_filter_is_called_only() -> None:
    assert "only" in {f.name for f in dataclasses.fields(Policy)}
    assert "targets" not in {f.name for f in dataclasses.fields(Policy)}
    assert "targets" not in {f.name for f in dataclasses.fields(saved_plan.SavedPlan)}
    assert "targets" not in inspect.signature(connect.run_policy).parameters
    assert "targets" not in inspect.signature(saved_plan.save).parameters


def test_the_saved_plan_file_keeps_its_documented_key(tmp_path: Path) -> None:
    want = state(desired_processor(face_config("a")), desired_processor(face_config("b")))
    observed = ObservedState(("us-east-1",), ())
    planned = plan(want, observed, Policy(want.stack, only=frozenset({"b"})))
    saved = saved_plan.save(planned, want, tmp_path / "spec.yaml", prune=False, only=["b"])
    text = saved.to_json(planned)
    assert '"targets": [\n    "b"\n  ]' in text
    assert saved_plan.parse(text).only == ("b",)
    assert [p.id.name for p in planned.processors] == ["b"]
