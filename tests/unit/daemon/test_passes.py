"""PassRunner: passes never overlap, full passes asked for meanwhile coalesce, shutdown waits then cancels."""

from __future__ import annotations

import asyncio

from spd.daemon.passes import FULL, SWEEP, PassRunner


class Recorder:
    def __init__(self, *, full_seconds: float = 0.05, sweep_seconds: float = 0.01) -> None:
        self.log: list[tuple[str, str]] = []
        self.running = 0
        self.max_running = 0
        self._durations = {FULL: full_seconds, SWEEP: sweep_seconds}
        self.runner = PassRunner(full=lambda: self._pass(FULL), sweep=lambda: self._pass(SWEEP))

    async def _pass(self, kind: str) -> None:
        self.running += 1
        self.max_running = max(self.max_running, self.running)
        self.log.append(("start", kind))
        try:
            await asyncio.sleep(self._durations[kind])
        finally:
            self.running -= 1
            self.log.append(("end", kind))

    async def idle(self) -> None:
        while self.runner.in_flight is not None:
            await asyncio.sleep(0.005)


async def test_full_requests_during_a_pass_run_once_afterwards():
    r = Recorder()
    r.runner.request_full()
    assert r.runner.in_flight == FULL
    for _ in range(5):
        r.runner.request_full()
    assert r.runner.full_pending
    await r.idle()
    assert [e for e in r.log if e[0] == "start"] == [("start", FULL), ("start", FULL)]
    assert r.max_running == 1


async def test_sweep_is_dropped_while_a_pass_runs_and_full_waits_for_a_sweep():
    r = Recorder(sweep_seconds=0.05)
    assert r.runner.request_sweep()
    r.runner.request_full()
    assert not r.runner.request_sweep()
    await r.idle()
    assert r.log == [("start", SWEEP), ("end", SWEEP), ("start", FULL), ("end", FULL)]
    assert r.max_running == 1


async def test_close_lets_a_short_pass_finish():
    r = Recorder(full_seconds=0.05)
    r.runner.request_full()
    r.runner.request_full()  # pending: must not start after close
    assert await r.runner.close(grace=5) is None
    assert r.log == [("start", FULL), ("end", FULL)]
    r.runner.request_full()
    assert r.runner.in_flight is None


async def test_close_cancels_a_pass_that_outlives_the_grace_period():
    r = Recorder(full_seconds=30)
    r.runner.request_full()
    await asyncio.sleep(0)
    assert await r.runner.close(grace=0.05) == FULL
    assert r.log == [("start", FULL), ("end", FULL)]
    assert r.runner.in_flight is None
