"""Where the daemon's drift and action events go besides the log: the history file and the sinks.

The daemon's `events` component (`spd.daemon.plumbing.Events`) opens one `EventOutlet` for its lifetime
(after the gateway, so it closes first), and the daemon's context hands it every event (`Context.emit`).
The history is the one `spd.connect.open_history` gives: the local file, where recording is one SQLite
insert on the event loop (WAL, no fsync per commit, so microseconds), or the shared store's table, where
recording only buffers (`spd.aws.history_table`). Publishing only queues. Neither can fail a pass: a
history write that fails is logged and the pass goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from spd.aws.gateway import Gateway
from spd.config.settings import Settings
from spd.connect import open_history
from spd.daemon.sinks import EventSinks, open_sinks
from spd.events import Event
from spd.events.cloudevent import is_recorded
from spd.events.history import HistoryPort, retention_cutoff
from spd.store.sqlite_store import StoreError

Logger = structlog.stdlib.BoundLogger

PRUNE_EVERY = 3600.0
"""Seconds between history prunes (the first runs at start-up)."""
DRAIN_TIMEOUT = 5.0
"""At most this many seconds (and never more than `grace_period`) to deliver queued events at shutdown."""


class EventOutlet:
    """History and sinks of one running daemon."""

    def __init__(
        self,
        history: HistoryPort,
        sinks: EventSinks,
        *,
        stack: Callable[[], str],
        retention: Callable[[], float],
        log: Callable[[], Logger],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.history = history
        self.sinks = sinks
        self._stack = stack
        self._retention = retention
        self._log = log
        self._now = now
        self._history_failing = False

    def emit(self, event: Event) -> None:
        """Record and publish one event, if it is a drift or action event."""
        if not is_recorded(event):
            return
        try:
            self.history.record(event, stack=self._stack(), at=self._now())
        except StoreError as exc:
            if not self._history_failing:  # once per outage, not once per event
                self._log().error("history_write_failed", path=self.history.where, error=str(exc))
            self._history_failing = True
        else:
            self._history_failing = False
        self.sinks.publish(event)

    async def prune(self) -> None:
        try:
            removed = await self.history.prune(before=retention_cutoff(self._now(), self._retention()))
        except StoreError as exc:
            self._log().error("history_prune_failed", path=self.history.where, error=str(exc))
            return
        if removed:
            self._log().info("history_pruned", removed=removed, retention_days=self._retention())

    async def prune_periodically(self) -> None:
        while True:
            await self.prune()
            await asyncio.sleep(PRUNE_EVERY)


@contextlib.asynccontextmanager
async def open_outlet(
    settings: Settings,
    gateway: Gateway,
    *,
    stack: Callable[[], str],
    retention: Callable[[], float],
    log: Callable[[], Logger],
    environ: Mapping[str, str],
    spec_regions: tuple[str, ...] = (),
) -> AsyncIterator[EventOutlet]:
    """The history and the sinks the settings name, for the `async with` block."""

    def report(name: str, fields: dict[str, Any]) -> None:
        log().warning(name, **fields)

    def history_failed(name: str, fields: dict[str, Any]) -> None:
        log().error(name, **fields)

    history = open_history(
        settings,
        gateway,
        spec_regions=(*spec_regions, *settings.regions),
        environ=environ,
        retention_days=retention,
        report=history_failed,
    )

    try:
        async with open_sinks(
            settings.event_sinks,
            gateway,
            stack=stack,
            report=report,
            drain_timeout=min(DRAIN_TIMEOUT, settings.grace_period),
            environ=environ,
        ) as sinks:
            outlet = EventOutlet(history, sinks, stack=stack, retention=retention, log=log)
            pruner = asyncio.create_task(outlet.prune_periodically(), name="spd-history-prune")
            try:
                yield outlet
            finally:
                pruner.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await pruner
    finally:
        await history.close()
