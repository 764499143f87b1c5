"""Where the daemon's drift and action events go besides the log: the history file and the sinks.

The daemon's `events` component (`spd.daemon.plumbing.Events`) opens one `EventOutlet` for its lifetime
(after the gateway, so it closes first), and the daemon's context hands it every event (`Context.emit`). Recording is one SQLite insert on the event loop (WAL,
no fsync per commit, so microseconds); publishing only queues. Neither can fail a pass: a history write
that fails is logged and the pass goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from spd.aws.gateway import Gateway
from spd.config.settings import Settings, history_path
from spd.daemon.sinks import EventSinks, open_sinks
from spd.events import Event
from spd.events.cloudevent import is_recorded
from spd.events.history import History, retention_cutoff

Logger = structlog.stdlib.BoundLogger

PRUNE_EVERY = 3600.0
"""Seconds between history prunes (the first runs at start-up)."""
DRAIN_TIMEOUT = 5.0
"""At most this many seconds (and never more than `grace_period`) to deliver queued events at shutdown."""


class EventOutlet:
    """History and sinks of one running daemon."""

    def __init__(
        self,
        history: History,
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
        except sqlite3.Error as exc:
            if not self._history_failing:  # once per outage, not once per event
                self._log().error("history_write_failed", path=str(self.history.db.path), error=str(exc))
            self._history_failing = True
        else:
            self._history_failing = False
        self.sinks.publish(event)

    def prune(self) -> None:
        try:
            removed = self.history.prune(before=retention_cutoff(self._now(), self._retention()))
        except sqlite3.Error as exc:
            self._log().error("history_prune_failed", path=str(self.history.db.path), error=str(exc))
            return
        if removed:
            self._log().info("history_pruned", removed=removed, retention_days=self._retention())

    async def prune_periodically(self) -> None:
        while True:
            self.prune()
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
) -> AsyncIterator[EventOutlet]:
    """The history file and the sinks the settings name, for the `async with` block."""
    path = history_path(settings)
    history = History(path)

    def report(name: str, fields: dict[str, Any]) -> None:
        log().warning(name, **fields)

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
        history.close()
