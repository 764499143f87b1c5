"""Fleet-sized containers have short reprs: the standard library builds them where nobody reads them.

`asyncio.run` keeps its main task in its SIGINT handler and `signal.getsignal` formats that handler into
an error message it discards; the task's repr includes its result, the plan. With the dataclass repr,
that string was hundreds of MiB on 30,000 processors and raised `spd plan`'s peak memory by half.
"""

from __future__ import annotations

import asyncio
import signal
import tracemalloc

from builders import desired, face_config, observed, state
from spd.model import ObservedState
from spd.reconcile.executor import ApplyResult, ProcessorOutcome
from spd.reconcile.plan import Plan, Policy, plan

N = 2000


def _fleet() -> tuple[Plan, ObservedState]:
    configs = [face_config(f"cam-{i:05d}") for i in range(N)]
    want = state(*(desired(c) for c in configs))
    seen = ObservedState(("us-east-1",), tuple(observed(c) for c in configs))
    return plan(want, seen, Policy(want.stack)), seen


def test_reprs_count_processors_instead_of_printing_them() -> None:
    planned, seen = _fleet()
    want = state(*(p.desired for p in planned.processors if p.desired is not None))
    applied = ApplyResult(tuple(ProcessorOutcome(p.id, ()) for p in planned.processors))
    for obj in (planned, seen, want, applied):
        text = repr(obj)
        assert len(text) < 300, text[:300]
        assert f"=<{N}>" in text
    assert repr(planned).startswith(f"Plan(stack={planned.stack!r}")


def test_asyncio_run_returning_a_plan_does_not_build_its_repr() -> None:
    planned, _ = _fleet()

    async def main() -> Plan:
        return planned

    # asyncio.run installs its handler only over Python's default one (a test runner may have another).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    tracemalloc.start()
    try:
        tracemalloc.reset_peak()
        before = tracemalloc.get_traced_memory()[0]
        assert asyncio.run(main()) is planned
        peak = tracemalloc.get_traced_memory()[1] - before
    finally:
        tracemalloc.stop()
        signal.signal(signal.SIGINT, previous)
    # The dataclass repr of these 2,000 processor plans is several MiB.
    assert peak < 1_000_000, peak
