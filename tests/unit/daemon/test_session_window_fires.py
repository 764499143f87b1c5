"""A window whose cron time comes while the daemon runs: APScheduler fires its job, and the window's
chain of sessions starts on the daemon's event loop (a plain function job would run in a worker thread,
where no task can be created)."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, cast

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from builders import desired, home_config, state
from spd import events
from spd.daemon.session_triggers import SessionTriggers
from spd.daemon.session_windows import JOB_PREFIX, SessionWindows
from spd.events import Event
from spd.model import SessionPolicy, SessionWindow
from spd.sessions.start import Outcome, SessionOutcome
from spd.sessions.trigger import SessionRequest

NEW_YEAR = SessionWindow(cron="0 0 1 1 *", duration_seconds=60, timezone="UTC")
"""Not in progress when the spec is read (unless the test runs at midnight on 1 January)."""


class Triggers:
    """Records the window's start requests and refuses them (the chain then waits out a session)."""

    def __init__(self) -> None:
        self.requests: list[SessionRequest] = []

    def active(self) -> bool:
        return True

    async def start(self, request: SessionRequest) -> SessionOutcome:
        self.requests.append(request)
        pid = request.processor
        return SessionOutcome(Outcome.REFUSED, pid.name, pid.region, request.source)


async def test_a_window_opening_while_the_daemon_runs_starts_its_chain() -> None:
    porch = replace(
        desired(home_config("porch")), sessions=SessionPolicy(max_duration_seconds=5, windows=(NEW_YEAR,))
    )
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    triggers = Triggers()
    seen: list[Event] = []
    windows = SessionWindows(
        scheduler,
        cast(Any, None),
        cast(SessionTriggers, triggers),
        poll_interval=lambda: 0.05,
        on_event=seen.append,
        log=structlog.get_logger,
    )
    try:
        windows.schedule(state(porch))
        assert not triggers.requests
        [job] = [j for j in scheduler.get_jobs() if j.id.startswith(JOB_PREFIX)]
        job.modify(next_run_time=datetime.now(UTC))  # its cron time, now
        for _ in range(100):
            if triggers.requests:
                break
            await asyncio.sleep(0.05)
        assert [e.name for e in seen][:1] == [events.SESSION_WINDOW_OPENED]
        assert [r.processor for r in triggers.requests][:1] == [porch.id]
    finally:
        await windows.close()
        scheduler.shutdown(wait=False)


async def test_an_open_window_starts_sessions_only_while_its_shard_is_held_here() -> None:
    """`ha.mode: shards`: the window's chain waits while another daemon holds the processor's shard,
    and starts sessions once this daemon holds it."""
    porch = replace(
        desired(home_config("porch")), sessions=SessionPolicy(max_duration_seconds=5, windows=(NEW_YEAR,))
    )
    scheduler = AsyncIOScheduler(timezone=UTC)
    scheduler.start()
    triggers = Triggers()
    holds = {"porch": False}
    windows = SessionWindows(
        scheduler,
        cast(Any, None),
        cast(SessionTriggers, triggers),
        poll_interval=lambda: 0.05,
        on_event=lambda _: None,
        log=structlog.get_logger,
        owns=lambda pid: holds[pid.name],
    )
    try:
        windows.schedule(state(porch))
        windows.open(porch.id, NEW_YEAR)
        await asyncio.sleep(1.5)  # more than a standby poll: nothing started for another's shard
        assert triggers.requests == []
        holds["porch"] = True
        for _ in range(100):
            if triggers.requests:
                break
            await asyncio.sleep(0.05)
        assert [r.processor for r in triggers.requests][:1] == [porch.id]
    finally:
        await windows.close()
        scheduler.shutdown(wait=False)
