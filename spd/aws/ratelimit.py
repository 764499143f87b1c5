"""Client-side pacing per operation, so spd stays under the service's quotas instead of living on retries.

Each operation gets a pacer that hands out evenly spaced call slots just under its configured rate. When
the service throttles anyway, `slow_down` halves that operation's rate for everybody (not just the caller
that was throttled) and the rate creeps back up with every successful call: additive increase,
multiplicative decrease, as in TCP.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

HEADROOM = 0.97
"""Slots are spaced for 97% of the configured rate. A quota is a token bucket refilled at its rate:
drained at exactly that rate, it never wins back a token lost while it was full (when one call reaches the
service late, the bucket overflows meanwhile), so over a long saturated run the jitter of the event loop,
the network and the service adds up to throttling. With 3% headroom the bucket regains a token every 33
calls."""

LATE = 0.25
"""A caller woken more than this (or one slot) after its slot takes a new one. Calls a little late
bunch harmlessly (a quota allows some burst); a stalled event loop's would all go out at once."""


@dataclass
class Pacer:
    """Evenly spaced slots just under `rate` calls per second (burst of one: never a spike).

    A caller woken late for its slot (the event loop was busy) would send its call together with the
    next slots' calls: it takes a new slot instead, once (a call late twice goes anyway, so a loop that
    is always late still makes progress).
    """

    rate: float
    clock: Callable[[], float] = time.monotonic
    current: float = 0.0
    _next: float = 0.0
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def __post_init__(self) -> None:
        self.current = self.rate

    async def acquire(self) -> None:
        slot, interval = await self._wait_for_slot()
        if self.clock() - slot > max(interval, LATE):
            await self._wait_for_slot()

    async def _wait_for_slot(self) -> tuple[float, float]:
        async with self._lock:
            now = self.clock()
            interval = 1.0 / (self.current * HEADROOM)
            slot = max(now, self._next)
            self._next = slot + interval
        delay = slot - now
        if delay > 0:
            await asyncio.sleep(delay)
        return slot, interval

    def slow_down(self) -> None:
        self.current = max(self.rate / 16, self.current / 2)
        # Push the next slot out too, so calls already queued feel the slowdown at once.
        self._next = max(self._next, self.clock()) + 1.0 / (self.current * HEADROOM)

    def succeeded(self) -> None:
        if self.current < self.rate:
            self.current = min(self.rate, self.current + self.rate / 20)


class RateLimiter:
    """One pacer per operation; operations without a configured rate are not paced."""

    def __init__(self, rates: Mapping[str, float], *, clock: Callable[[], float] = time.monotonic) -> None:
        self._pacers = {op: Pacer(rate, clock) for op, rate in rates.items() if rate > 0}
        self.slowdowns = 0

    async def acquire(self, operation: str) -> None:
        pacer = self._pacers.get(operation)
        if pacer is not None:
            await pacer.acquire()

    def throttled(self, operation: str) -> None:
        pacer = self._pacers.get(operation)
        if pacer is not None:
            self.slowdowns += 1
            pacer.slow_down()

    def succeeded(self, operation: str) -> None:
        pacer = self._pacers.get(operation)
        if pacer is not None:
            pacer.succeeded()

    def current_rate(self, operation: str) -> float | None:
        pacer = self._pacers.get(operation)
        return pacer.current if pacer is not None else None
