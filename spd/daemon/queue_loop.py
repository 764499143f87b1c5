"""The loop every SQS reader of the daemon runs: the watch, the session triggers, the session results.

Each reader only says what one message means (`handle`: True once handled, False to leave it for
redelivery); this module owns what they share: where the queue is (`open_queue`), reading only while
this daemon may act (`active`, false on a standby under `ha`), long-polling, backing off up to
`RETRY_MAX` while the queue cannot be read (missing, denied, unreachable) and saying so once per
attempt, deleting what was handled, and surviving any message.

Poison messages: a `handle` that raises for one message (a number past Python's digit limit, JSON
nested past the recursion limit, a value SQLite cannot store, a bug) never ends the reader. The
message is logged as `<name>_message_failed` with its id, the error's type, a short error text and
where it was raised (never the body), then:

- deleted when the failure is the message's own (`temporary` is false): no retry would handle it;
- left on the queue when it is not (`temporary`: the local disk or the SQLite ledger failing, a
  service saying "later"), so SQS delivers it again after its visibility timeout. A queue given a
  redrive policy (`maxReceiveCount`, a dead-letter queue) then moves a message that keeps failing
  to the dead-letter queue after that many receives; without one, SQS keeps it until its retention
  period ends.

A reader whose task ends anyway (anything but `close`) logs `<name>_stopped` with the reason and
keeps it in `stopped`, which `/healthz` reports (503) until the daemon is restarted. Events are named
after the reader: `<name>_receive_failed`, `<name>_receive_recovered`, `<name>_delete_failed`,
`<name>_message_failed`, `<name>_stopped`.
"""

from __future__ import annotations

import asyncio
import sqlite3
import traceback
from collections.abc import Awaitable, Callable, Iterable, Mapping
from pathlib import Path

import structlog

from spd.aws.gateway import Gateway
from spd.aws.watch_queue import QueueMessage, WatchQueue
from spd.config.fallback_region import fallback_region
from spd.errors import EndpointError, SpdError
from spd.events.watch_events import queue_region
from spd.store.sqlite_store import StoreError

Logger = structlog.stdlib.BoundLogger
Sleep = Callable[[float], Awaitable[None]]
Handle = Callable[[QueueMessage], Awaitable[bool]]
"""One message's meaning: True once handled (deleted), False to leave it for redelivery."""

RETRY_MAX = 60.0
"""Longest wait between attempts to read a queue that fails (missing, denied, unreachable)."""
STANDBY_POLL = 1.0
"""Seconds between looks at the lease while standby (a local check, no call)."""
ERROR_TEXT_MAX = 200
"""Characters of an error's text in a log line: enough to say what failed, too few to carry a body."""

_MESSAGE_FAULTS = (sqlite3.DataError, sqlite3.IntegrityError)
"""SQLite errors caused by the values stored (the message's), not by the file."""


def open_queue(gateway: Gateway, url: str, regions: Iterable[str], environ: Mapping[str, str]) -> WatchQueue:
    """The queue at `url`, in the region its URL names (AWS queue URLs do), else `fallback_region`'s
    (an emulator's queue URL names none)."""
    return WatchQueue(gateway, url, queue_region(url) or fallback_region(environ, regions))


def temporary(exc: BaseException) -> bool:
    """Whether handling a message failed for a reason outside the message, so a redelivery may work:
    the local disk (OSError), the SQLite file (locked, I/O error, unusable), an endpoint out of reach,
    a temporary AWS error.
    Everything else (a ValueError, RecursionError, OverflowError from its content...) is the
    message's own failure and would fail again."""
    if isinstance(exc, StoreError | EndpointError):
        return True
    if isinstance(exc, SpdError):
        return bool(getattr(exc, "temporary", False))
    if isinstance(exc, sqlite3.Error):
        return not isinstance(exc, _MESSAGE_FAULTS)
    return isinstance(exc, OSError)


def error_text(exc: BaseException) -> str:
    """The error's text, cut to `ERROR_TEXT_MAX` (an exception may quote what it choked on)."""
    text = str(exc) or type(exc).__name__
    return text if len(text) <= ERROR_TEXT_MAX else text[: ERROR_TEXT_MAX - 3] + "..."


def raised_at(exc: BaseException) -> str | None:
    """`file:line` of the innermost frame that raised `exc` (a traceback without its noise)."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return None
    last = frames[-1]
    return f"{Path(last.filename).name}:{last.lineno}"


async def handle_batch(
    queue: WatchQueue,
    messages: list[QueueMessage],
    *,
    name: str,
    handle: Handle,
    log: Callable[[], Logger],
    concurrent: bool = False,
) -> None:
    """`handle` each message, each on its own (one that raises changes nothing for the others), then
    delete all but those to be delivered again."""

    async def one(message: QueueMessage) -> bool:
        try:
            return await handle(message)
        except Exception as exc:
            keep = temporary(exc)
            log().error(
                f"{name}_message_failed",
                queue=queue.url,
                message_id=message.message_id,
                error_type=type(exc).__name__,
                error=error_text(exc),
                raised_at=raised_at(exc),
                action="kept for redelivery" if keep else "deleted",
            )
            return not keep

    if concurrent:
        done = await asyncio.gather(*(one(m) for m in messages))
    else:
        done = [await one(m) for m in messages]
    await delete_handled(queue, [m for m, ok in zip(messages, done, strict=True) if ok], name=name, log=log)


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
    """One reader's task: receive, `handle` and delete until cancelled, started once and cancelled on close.
    `<name>_started` is logged as it starts, unless the reader says when reading begins and pauses
    itself (`on_reading`, the watch). The watch, the session results and the session triggers readers
    are this plus what a message means to them."""

    def __init__(
        self,
        queue: WatchQueue,
        *,
        name: str,
        handle: Handle,
        active: Callable[[], bool],
        log: Callable[[], Logger],
        sleep: Sleep,
        on_reading: Callable[[bool], None] | None = None,
        concurrent: bool = False,
    ) -> None:
        self._queue = queue
        self._name = name
        self._handle = handle
        self._active = active
        self._log = log
        self._sleep = sleep
        self._on_reading = on_reading
        self._concurrent = concurrent
        self._task: asyncio.Task[None] | None = None
        self.stopped: str | None = None
        """Why the task ended by itself (None while it runs, or once closed): `/healthz` reports it."""

    @property
    def name(self) -> str:
        return self._name

    def start(self) -> None:
        self._task = asyncio.create_task(self._read_forever(), name="spd-" + self._name.replace("_", "-"))
        self._task.add_done_callback(self._ended)

    async def close(self) -> None:
        """Stop reading; never raises, even for a task that already ended in an error (logged then)."""
        task = self._task
        if task is None:
            return
        task.remove_done_callback(self._ended)
        if not task.done():
            task.cancel()
        await asyncio.wait([task])
        if not task.cancelled() and task.exception() is not None and self.stopped is None:
            self._ended(task)

    def _ended(self, task: asyncio.Task[None]) -> None:
        """The task ended without `close`: say why, once, in the log and on `/healthz`."""
        if task.cancelled():
            self.stopped = "cancelled"
            self._log().error(f"{self._name}_stopped", queue=self._queue.url, reason=self.stopped)
            return
        exc = task.exception()
        if exc is None:
            self.stopped = "returned"
            self._log().error(f"{self._name}_stopped", queue=self._queue.url, reason=self.stopped)
            return
        self.stopped = f"{type(exc).__name__}: {error_text(exc)}"
        self._log().error(
            f"{self._name}_stopped",
            queue=self._queue.url,
            reason=self.stopped,
            error_type=type(exc).__name__,
            exc_info=exc,
        )

    async def _read_forever(self) -> None:
        """Receive, `handle` and delete until cancelled; `on_reading(True/False)` when reading begins or
        pauses (at start-up, and as the lease comes and goes). `concurrent`: a batch's messages are
        handled together (each reader decides what must stay ordered), else one after the other."""
        if self._on_reading is None:
            self._log().info(f"{self._name}_started", queue=self._queue.url, region=self._queue.region)
        on_reading = self._on_reading or (lambda _: None)
        failures = 0
        reading = False
        while True:
            if not self._active():
                if reading:
                    on_reading(False)
                    reading = False
                await self._sleep(STANDBY_POLL)
                continue
            if not reading:
                on_reading(True)
                reading = True
            try:
                messages = await self._queue.receive()
            except SpdError as exc:
                failures += 1
                delay = min(RETRY_MAX, 2.0 ** min(failures, 6))
                self._log().error(
                    f"{self._name}_receive_failed",
                    queue=self._queue.url,
                    error=str(exc),
                    error_type=type(exc).__name__,
                    consecutive_failures=failures,
                    retry_in=delay,
                )
                await self._sleep(delay)
                continue
            if failures:
                self._log().info(
                    f"{self._name}_receive_recovered", queue=self._queue.url, after_failures=failures
                )
                failures = 0
            if messages:
                await handle_batch(
                    self._queue,
                    messages,
                    name=self._name,
                    handle=self._handle,
                    log=self._log,
                    concurrent=self._concurrent,
                )
