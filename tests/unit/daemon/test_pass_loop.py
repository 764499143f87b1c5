"""The passes component on a reload: the reconciler is reconfigured then (not before every pass), the
timers follow changed intervals, and a full pass is asked for at once."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import structlog

from spd.daemon.component import Config, Context
from spd.daemon.notify import Notifier
from spd.daemon.pass_loop import Passes
from spd.daemon.passes import FULL, SWEEP
from spd.daemon.service import load_config
from spd.model import ProcessorId
from spdrun import home, write_spec

PID = ProcessorId("us-east-1", "porch")


class TargetsSeen:
    def __init__(self) -> None:
        self.stacks: list[str] = []

    def use_targets(self, targets: Any, stack_name: str) -> None:
        self.stacks.append(stack_name)


def _context(tmp_path: Path) -> Context:
    config = load_config(None, {"spec": write_spec(tmp_path / "spec.yaml", [home("porch")])}, environ={})
    ctx = Context(
        config, structlog.get_logger(), Notifier.from_environ({}), lambda: 0.0, {}, track=lambda _: None
    )
    ctx.gateway_or_none = TargetsSeen()  # type: ignore[assignment]
    return ctx


async def test_a_reload_reconfigures_the_reconciler_and_the_timers(tmp_path: Path) -> None:
    ctx = _context(tmp_path)
    passes = Passes()
    await passes.start(ctx)
    try:
        passes.runner.request_full = lambda: asked.append(FULL)  # type: ignore[method-assign]
        asked: list[str] = []
        reconciler = passes.reconciler
        reconciler.owned = frozenset({PID})
        old = ctx.config
        settings = old.settings.model_copy(
            update={
                "interval": 77.0,
                "status_interval": 7.0,
                "failed_backoff_initial": 3.0,
                "regions": ["eu-west-1"],
            }
        )
        new = Config(settings, replace(old.desired, stack="other"))
        ctx.config = new
        await passes.reload(ctx, old, new)
        assert passes.reconciler is reconciler
        assert reconciler.settings.stack == "other"
        assert reconciler.owned == frozenset()
        assert reconciler.extra_regions == ("eu-west-1",)
        assert reconciler.backoff is not None
        assert reconciler.backoff.initial == 3.0
        assert ctx.health.interval == 77.0
        assert ctx.gateway.stacks == ["other"]  # type: ignore[attr-defined]
        assert passes.scheduler.get_job(FULL).trigger.interval.total_seconds() == 77.0
        assert passes.scheduler.get_job(SWEEP).trigger.interval.total_seconds() == 7.0
        assert asked == [FULL]
    finally:
        await passes.close(0.1)
