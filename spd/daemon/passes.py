"""One pass at a time: the rule that keeps full reconciles and status sweeps from ever overlapping.

Used by the daemon's passes (`spd.daemon.pass_loop.Passes`), whose APScheduler timers only *ask* for
passes here. A pass runs as its own task, so the scheduler never sees a long-running job and never has
to skip or double one:

* a full pass asked for while any pass is in flight runs right after it, once, however many times it
  was asked for meanwhile (a slow pass delays the next; it never doubles it);
* a status sweep asked for while a pass is in flight is dropped: the pass in flight reads status too,
  and the next sweep comes one `status_interval` later;
* on shutdown, no new pass starts; the one in flight gets a grace period, then is cancelled.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable

FULL = "reconcile"
SWEEP = "status_sweep"

PassFn = Callable[[], Awaitable[None]]


class PassRunner:
    def __init__(self, *, full: PassFn, sweep: PassFn) -> None:
        self._run = {FULL: full, SWEEP: sweep}
        self._current: asyncio.Task[None] | None = None
        self._current_kind: str | None = None
        self._full_pending = False
        self._closed = False

    @property
    def in_flight(self) -> str | None:
        """The kind of the pass running now, if any."""
        return self._current_kind

    @property
    def full_pending(self) -> bool:
        return self._full_pending

    def request_full(self) -> None:
        if self._closed:
            return
        if self._current is None:
            self._start(FULL)
        else:
            self._full_pending = True

    def request_sweep(self) -> bool:
        """Start a sweep unless a pass is in flight; False when it was dropped."""
        if self._closed or self._current is not None:
            return False
        self._start(SWEEP)
        return True

    def _start(self, kind: str) -> None:
        if kind == FULL:
            self._full_pending = False
        # The wrapper (not the pass function itself) is the task: it always runs, even if the task is
        # cancelled before its first step, so the slot is released exactly once.
        task = asyncio.create_task(self._guarded(kind), name=f"spd-{kind}")
        self._current = task
        self._current_kind = kind

    async def _guarded(self, kind: str) -> None:
        try:
            await self._run[kind]()
        finally:
            self._current = None
            self._current_kind = None
            if self._full_pending and not self._closed:
                self._start(FULL)

    async def close(self, grace: float) -> str | None:
        """Accept no more passes; wait up to `grace` seconds for the one in flight, then cancel it.

        Returns the kind of pass that had to be cancelled, or None when nothing was abandoned.
        """
        self._closed = True
        self._full_pending = False
        task, kind = self._current, self._current_kind
        if task is None:
            return None
        done, _ = await asyncio.wait({task}, timeout=grace)
        if done:
            return None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        return kind

    def abandon(self) -> None:
        """Cancel the pass in flight now (a second SIGTERM during the grace period)."""
        if self._current is not None:
            self._current.cancel()
