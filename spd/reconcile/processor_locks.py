"""One writer per processor at a time: the lock a full pass and the daemon's watch share.

A full pass reads the whole fleet, then acts on each processor; the watch reconciles a single processor
(read, plan, act) whenever an event names it. Both go through the same executor, which holds a
processor's lock while it acts on it; the watch holds it across its whole read-plan-act. So the two never
change one processor at the same moment, and a watch reconcile that waited for a full pass to finish
with a processor reads what that pass left. Idle locks are dropped, so a fleet of thousands keeps only
the locks in use.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from spd.model import ProcessorId


class ProcessorLocks:
    """An `asyncio.Lock` per processor id, created on demand and forgotten once nobody holds or awaits it."""

    def __init__(self) -> None:
        self._locks: dict[ProcessorId, tuple[asyncio.Lock, int]] = {}

    @contextlib.asynccontextmanager
    async def hold(self, pid: ProcessorId) -> AsyncIterator[None]:
        lock, users = self._locks.get(pid, (None, 0))
        if lock is None:
            lock = asyncio.Lock()
        self._locks[pid] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            _, users = self._locks[pid]
            if users <= 1:
                del self._locks[pid]
            else:
                self._locks[pid] = (lock, users - 1)

    def __len__(self) -> int:
        return len(self._locks)
