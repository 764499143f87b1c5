"""`TimerQueue`: the emulator's one background thread, for what must happen at a time, unasked.

The service's state is lazy (`spd.emulator.backend.models`: deadlines, status computed on read), but a
connected-home session's notifications are pushed to the customer's SNS topic when the session reaches
them, whether or not anyone reads the processor. So `spd.emulator.backend.sessions` schedules those pushes
here: a heap of (due time, callback) served by one daemon thread, started on first use so an emulator
that never runs a session starts no thread. Due times are on the emulator's clock (epoch seconds).

`cancel` drops one entry, `cancel_all` every pending one (reset), `close` stops the thread (shutdown).
A callback that raises is logged and forgotten: a failed publication must not stop the others.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable

_log = logging.getLogger(__name__)

Callback = Callable[[], None]


class TimerQueue:
    """Runs callbacks at given times on one background thread; thread-safe."""

    def __init__(self, *, clock: Callable[[], float] = time.time, name: str = "spd-emulator-timers") -> None:
        self._clock = clock
        self._name = name
        self._heap: list[tuple[float, int, Callback]] = []
        self._pending: set[int] = set()
        self._ids = itertools.count(1)
        self._wake = threading.Condition(threading.Lock())
        self._thread: threading.Thread | None = None
        self._closed = False

    def call_at(self, when: float, callback: Callback) -> int:
        """Run `callback` at `when` (epoch seconds, or as soon as possible if past); returns its handle."""
        with self._wake:
            if self._closed:
                raise RuntimeError("the timer queue is closed")
            handle = next(self._ids)
            heapq.heappush(self._heap, (when, handle, callback))
            self._pending.add(handle)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                self._thread.start()
            self._wake.notify()
            return handle

    def cancel(self, handle: int) -> None:
        """Forget one scheduled callback (nothing happens if it already ran)."""
        with self._wake:
            self._pending.discard(handle)

    def cancel_all(self) -> None:
        with self._wake:
            self._heap.clear()
            self._pending.clear()

    def close(self, timeout: float = 5.0) -> None:
        """Cancel everything and stop the thread (waiting for a callback in progress)."""
        with self._wake:
            self._closed = True
            self._heap.clear()
            self._pending.clear()
            self._wake.notify()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _next(self) -> Callback | None:
        """Wait for the next due callback; None once closed."""
        with self._wake:
            while not self._closed:
                if not self._heap:
                    self._wake.wait()
                    continue
                when, handle, callback = self._heap[0]
                if handle not in self._pending:  # cancelled
                    heapq.heappop(self._heap)
                    continue
                delay = when - self._clock()
                if delay > 0:
                    self._wake.wait(delay)
                    continue
                heapq.heappop(self._heap)
                self._pending.discard(handle)
                return callback
            return None

    def _run(self) -> None:
        while True:
            callback = self._next()
            if callback is None:
                return
            try:
                callback()
            except Exception:
                _log.exception("a scheduled emulator task failed")
