"""The loop every SQS reader of the daemon runs: the watch, the session triggers, the session results.

Each reader only says what a batch of messages means (`handle`); this module owns what they share:
where the queue is (`open_queue`), reading only while this daemon may act (`active`, false on a standby
under `ha`), long-polling, backing off up to `RETRY_MAX` while the queue cannot be read (missing,
denied, unreachable) and saying so once per attempt, and deleting what was handled. Events are named
after the reader: `<name>_receive_failed`, `<name>_receive_recovered`, `<name>_delete_failed`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable

import structlog

from spd.aws.gateway import Gateway
from spd.aws.watch_queue import QueueMessage, WatchQueue
from spd.errors import SpdError
from spd.watch_events import queue_region

Logger = structlog.stdlib.BoundLogger
Sleep = Callable[[float], Awaitable[None]]

DEFAULT_REGION = "us-east-1"
RETRY_MAX = 60.0
"""Longest wait between attempts to read a queue that fails (missing, denied, unreachable)."""
STANDBY_POLL = 1.0
"""Seconds between looks at the lease while standby (a local check, no call)."""


def open_queue(gateway: Gateway, url: str, regions: Iterable[str]) -> WatchQueue:
    """The queue at `url`, in the region its URL names (AWS queue URLs do), else the first of
    `regions`, else us-east-1 (an emulator's queue URL names none)."""
    return WatchQueue(gateway, url, queue_region(url) or next(iter(regions), DEFAULT_REGION))


async def read_forever(
    queue: WatchQueue,
    *,
    name: str,
    handle: Callable[[list[QueueMessage]], Awaitable[None]],
    active: Callable[[], bool],
    log: Callable[[], Logger],
    sleep: Sleep,
    on_reading: Callable[[bool], None] = lambda _: None,
) -> None:
    """Receive and `handle` batches until cancelled; `on_reading(True/False)` when reading begins or
    pauses (at start-up, and as the lease comes and goes)."""
    failures = 0
    reading = False
    while True:
        if not active():
            if reading:
                on_reading(False)
                reading = False
            await sleep(STANDBY_POLL)
            continue
        if not reading:
            on_reading(True)
            reading = True
        try:
            messages = await queue.receive()
        except SpdError as exc:
            failures += 1
            delay = min(RETRY_MAX, 2.0 ** min(failures, 6))
            log().error(
                f"{name}_receive_failed",
                queue=queue.url,
                error=str(exc),
                error_type=type(exc).__name__,
                consecutive_failures=failures,
                retry_in=delay,
            )
            await sleep(delay)
            continue
        if failures:
            log().info(f"{name}_receive_recovered", queue=queue.url, after_failures=failures)
            failures = 0
        if messages:
            await handle(messages)


async def delete_handled(
    queue: WatchQueue, messages: list[QueueMessage], *, name: str, log: Callable[[], Logger]
) -> None:
    """Delete handled messages in one batch; a failure is logged (they come back and are handled again)."""
    if not messages:
        return
    try:
        failed = await queue.delete(messages)
    except SpdError as exc:
        log().error(f"{name}_delete_failed", error=str(exc), messages=[m.message_id for m in messages])
        return
    if failed:
        log().error(f"{name}_delete_failed", error="rejected by SQS", messages=failed)


class QueueReader:
    """One reader's task: `read_forever` with the reader's `handle`, started once and cancelled on close;
    `<name>_started` is logged as it starts. The session results and the session triggers readers are this
    plus what a batch means to them (the watch logs as reading begins and pauses, so runs its own)."""

    def __init__(
        self,
        queue: WatchQueue,
        *,
        name: str,
        handle: Callable[[list[QueueMessage]], Awaitable[None]],
        active: Callable[[], bool],
        log: Callable[[], Logger],
        sleep: Sleep,
    ) -> None:
        self._queue = queue
        self._name = name
        self._handle = handle
        self._active = active
        self._log = log
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._read_forever(), name="spd-" + self._name.replace("_", "-"))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _read_forever(self) -> None:
        self._log().info(f"{self._name}_started", queue=self._queue.url, region=self._queue.region)
        await read_forever(
            self._queue,
            name=self._name,
            handle=self._handle,
            active=self._active,
            log=self._log,
            sleep=self._sleep,
        )
