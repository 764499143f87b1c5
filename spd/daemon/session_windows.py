"""Session windows: while a processor's window is open, its sessions are chained back to back.

Started by `spd.daemon.service.Daemon`, re-scheduled on every reload. Each `sessions.windows` entry of
a connected-home processor becomes an APScheduler cron job in the window's time zone; when it fires,
the window opens for `duration_seconds`. A window already open when the daemon starts (or reloads) —
its cron fired less than `duration` ago — is opened at once: a restart in the middle of a window must
not leave the camera unwatched until the next one.

While a window is open, one task per processor starts a session (`TriggerSource.WINDOW`, through
`SessionTriggers.start`, the one start path), sleeps for the session's length, then reads the processor
every `poll_interval` until the session is over, and starts the next, until the window closes. A refusal
(budget, not applied yet...) is retried after a session's length, so an open window does not flood the
log. Two windows of one processor that overlap share the task (the later close wins). A standby starts
nothing: the task waits for the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import zoneinfo
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.cron import CronTrigger

from spd import events
from spd.aws.gateway import Gateway
from spd.daemon.queue_loop import STANDBY_POLL
from spd.daemon.session_triggers import SessionTriggers
from spd.errors import AwsError, EndpointError
from spd.events import Event, EventSink
from spd.model import (
    DesiredProcessor,
    DesiredState,
    Kind,
    ProcessorId,
    ProducerTimestamp,
    SessionWindow,
    Status,
)
from spd.sessions.start import SESSION_OPEN, Outcome
from spd.sessions.trigger import SessionRequest, TriggerSource

Logger = structlog.stdlib.BoundLogger

JOB_PREFIX = "session-window:"
_MAX_LOOKBACK_FIRES = 10_000
"""Cron fires looked at to find a window in progress (a `* * * * *` window of 24 h has 1,440)."""


def _trigger(window: SessionWindow) -> CronTrigger:
    return CronTrigger.from_crontab(window.cron, timezone=zoneinfo.ZoneInfo(window.timezone))


def open_since(window: SessionWindow, now: datetime) -> datetime | None:
    """When the window now in progress opened (its latest cron fire within `duration`), or None."""
    trigger = _trigger(window)
    start = now - timedelta(seconds=window.duration_seconds)
    latest: datetime | None = None
    fire = trigger.get_next_fire_time(None, start)
    for _ in range(_MAX_LOOKBACK_FIRES):
        if fire is None or fire > now:
            break
        latest = fire
        fire = trigger.get_next_fire_time(fire, fire + timedelta(microseconds=1))
    return latest


class SessionWindows:
    """The cron jobs of every window, and the task that chains sessions for each open one."""

    def __init__(
        self,
        scheduler: AsyncIOScheduler,
        gateway: Gateway,
        triggers: SessionTriggers,
        *,
        poll_interval: Callable[[], float],
        on_event: EventSink,
        log: Callable[[], Logger],
        owns: Callable[[ProcessorId], bool] = lambda _: True,
    ) -> None:
        """`owns`: False for a processor whose shard another daemon holds (`ha.mode: shards`): its
        window's sessions are that daemon's to start."""
        self._owns = owns
        self._scheduler = scheduler
        self._gateway = gateway
        self._triggers = triggers
        self._poll_interval = poll_interval
        self._on_event = on_event
        self._log = log
        self._closes: dict[ProcessorId, datetime] = {}
        self._tasks: dict[ProcessorId, asyncio.Task[None]] = {}
        self._processors: dict[ProcessorId, DesiredProcessor] = {}

    def schedule(self, desired: DesiredState) -> None:
        """(Re)place the window jobs with `desired`'s; open the windows in progress; close the gone ones."""
        for job in self._scheduler.get_jobs():
            if job.id.startswith(JOB_PREFIX):
                job.remove()
        now = datetime.now(UTC)
        wanted: dict[ProcessorId, DesiredProcessor] = {}
        for processor in desired.processors:
            if processor.config.kind is not Kind.CONNECTED_HOME or processor.sessions is None:
                continue
            for index, window in enumerate(processor.sessions.windows):
                wanted[processor.id] = processor
                self._scheduler.add_job(
                    self._fire,
                    _trigger(window),
                    args=(processor.id, window),
                    id=f"{JOB_PREFIX}{processor.id}:{index}",
                )
                since = open_since(window, now)
                if since is not None:
                    self.open(processor.id, window, opened=since)
        self._processors = wanted
        for pid in list(self._tasks):
            if pid not in wanted:
                self._closes[pid] = now  # its task sees the window closed and ends

    async def _fire(self, pid: ProcessorId, window: SessionWindow) -> None:
        """The window's cron job. A coroutine, so APScheduler runs it on the daemon's event loop: a plain
        function job runs in a worker thread, where the window's chain task could not be created."""
        self.open(pid, window)

    def open(self, pid: ProcessorId, window: SessionWindow, *, opened: datetime | None = None) -> None:
        """Open (or extend) `pid`'s window from `opened` (default now) for the window's duration."""
        start = opened or datetime.now(UTC)
        closes = start + timedelta(seconds=window.duration_seconds)
        if closes <= datetime.now(UTC):
            return
        self._closes[pid] = max(closes, self._closes.get(pid, closes))
        if pid in self._tasks:
            return
        self._emit(
            events.SESSION_WINDOW_OPENED,
            processor=pid.name,
            region=pid.region,
            target=pid.target,
            cron=window.cron,
            timezone=window.timezone,
            opened_at=start.isoformat(),
            closes_at=self._closes[pid].isoformat(),
        )
        task = asyncio.create_task(self._chain(pid), name=f"spd-window-{pid.name}")
        self._tasks[pid] = task
        task.add_done_callback(lambda _: self._tasks.pop(pid, None))

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _emit(self, name: str, **fields: object) -> None:
        self._on_event(Event(name, dict(fields)))

    def _remaining(self, pid: ProcessorId) -> float:
        closes = self._closes.get(pid)
        return 0.0 if closes is None else (closes - datetime.now(UTC)).total_seconds()

    async def _chain(self, pid: ProcessorId) -> None:
        started = coalesced = refused = 0
        try:
            while self._remaining(pid) > 0:
                processor = self._processors.get(pid)
                if processor is None:
                    break
                if not self._triggers.active() or not self._owns(pid):
                    await asyncio.sleep(min(STANDBY_POLL, self._remaining(pid)))
                    continue
                policy = processor.sessions
                assert policy is not None
                seconds = policy.max_duration_seconds
                request = SessionRequest(
                    processor=pid,
                    selector=ProducerTimestamp(int(datetime.now(UTC).timestamp() * 1000)),
                    max_duration_seconds=seconds,
                    source=TriggerSource.WINDOW,
                    budget_seconds_per_day=policy.budget_seconds_per_day,
                )
                outcome = await self._triggers.start(request)
                if outcome.outcome is Outcome.REFUSED:
                    refused += 1
                    await asyncio.sleep(max(0.0, min(float(seconds), self._remaining(pid))))
                    continue
                if outcome.outcome is Outcome.STARTED:
                    started += 1
                    await asyncio.sleep(max(0.0, min(float(seconds), self._remaining(pid))))
                else:
                    coalesced += 1
                await self._until_over(pid)
        finally:
            self._closes.pop(pid, None)
            self._emit(
                events.SESSION_WINDOW_CLOSED,
                processor=pid.name,
                region=pid.region,
                target=pid.target,
                sessions_started=started,
                coalesced=coalesced,
                refused=refused,
            )

    async def _until_over(self, pid: ProcessorId) -> None:
        """Read the processor every `poll_interval` until no session is open (or the window closes)."""
        while self._remaining(pid) > 0:
            status: Status | None = None
            with contextlib.suppress(AwsError, EndpointError):
                client = await self._gateway.region(pid.region, pid.target)
                status = (await client.describe(pid.name)).status
            if status is not None and status not in SESSION_OPEN:
                return
            await asyncio.sleep(max(0.0, min(self._poll_interval(), self._remaining(pid))))
