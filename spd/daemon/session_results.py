"""The results reader: connected-home notifications from the results queue into the session ledger.

Runs in `spd run` when `results_queue_url` is set. The queue is subscribed to the processors' SNS
topics; each message is read (`spd.aws.watch_queue.WatchQueue`, the watch's long-poll reader), parsed
(`spd.sessions.notifications.parse_notification`), stored in the ledger (`Ledger.record_notification`)
and deleted. A malformed message is logged (`session_notification_malformed`) and deleted too: no
retry would make it readable. A message whose storing failed for a reason of the ledger's (the file
unwritable, locked, the disk full: `spd.daemon.queue_loop.temporary`) is left on the queue, so SQS
delivers it again later (and its redrive policy, if any, dead-letters it after `maxReceiveCount`);
any other failure is the message's own, and the shared reader loop logs and deletes it. Values out of
range (`spd.sessions.notifications.Notification.dropped`) are left out of what is stored and logged
(`session_notification_values_dropped`); the rest of the notification is recorded.

A new notification becomes an event through the daemon's `on_event` (`session_completed` with the
processed seconds, `labels_detected` with the labels), which is what the metrics count. A redelivered
one (same event id, `record_notification` says False) changes nothing and emits nothing, so no counter
counts a session twice.

Only the leader reads (with `ha`): without the shared store (`store.table`) the ledger is a file local
to each daemon, and the trigger paths record their sessions in the leader's ledger. A standby reading
too would take some of the messages into its own ledger, where neither `spd sessions` on the leader's
host nor the leader's budget check would see them. (With the shared store every daemon's ledger is the
one table, and a notification is stored once however often it is delivered.)
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any

import structlog

from spd.aws.gateway import Gateway
from spd.aws.watch_queue import QueueMessage, WatchQueue
from spd.daemon.queue_loop import QueueReader, open_queue, temporary
from spd.events import LABELS_DETECTED, SESSION_COMPLETED, Event, EventSink
from spd.sessions.ledger_port import LedgerPort
from spd.sessions.notifications import (
    MalformedNotification,
    Notification,
    NotificationType,
    parse_notification,
)

Logger = structlog.stdlib.BoundLogger

NOTIFICATION_MALFORMED = "session_notification_malformed"
UNKNOWN_PROCESSOR = "unknown"
"""The processor label of a notification that names none, for a session this daemon did not start."""


class ResultsReader(QueueReader):
    """Reads the results queue until closed, one message at a time, in the order received."""

    def __init__(
        self,
        queue: WatchQueue,
        ledger: LedgerPort,
        *,
        on_event: EventSink,
        log: Callable[[], Logger],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        active: Callable[[], bool] = lambda: True,
    ) -> None:
        """`active`: False while this daemon is a standby (high availability): then nothing is read."""
        super().__init__(
            queue, name="session_results", handle=self._handle_one, active=active, log=log, sleep=sleep
        )
        self._ledger = ledger
        self._on_event = on_event
        self._now = now

    async def _handle_one(self, message: QueueMessage) -> bool:
        return await self.handle(message) != "failed"

    async def handle(self, message: QueueMessage) -> str:
        """Store one message's notification; its outcome: new, duplicate, malformed or failed (kept)."""
        try:
            notification = parse_notification(message.body)
        except MalformedNotification as exc:
            self._log().warning(
                NOTIFICATION_MALFORMED, message_id=message.message_id, error=str(exc), body=message.body[:200]
            )
            return "malformed"
        if notification.dropped:
            self._log().warning(
                "session_notification_values_dropped",
                message_id=message.message_id,
                session_id=notification.session_id,
                dropped=list(notification.dropped),
            )
        try:
            new = await self._ledger.record_notification(notification, received=self._now())
        except Exception as exc:
            if not temporary(exc):
                raise  # the message's own failure: the reader loop logs and deletes it
            self._log().error(
                "session_notification_failed",
                message_id=message.message_id,
                session_id=notification.session_id,
                error=str(exc) or type(exc).__name__,
                error_type=type(exc).__name__,
            )
            return "failed"
        if not new:
            self._log().debug(
                "session_notification_duplicate",
                message_id=message.message_id,
                session_id=notification.session_id,
                event_id=notification.event_id,
            )
            return "duplicate"
        self._on_event(await self._event(notification))
        return "new"

    async def _event(self, notification: Notification) -> Event:
        fields: dict[str, Any] = {
            **await self._where(notification),
            "session_id": notification.session_id,
            "event_id": notification.event_id,
        }
        if notification.type is NotificationType.STREAM_PROCESSING_COMPLETE:
            return Event(SESSION_COMPLETED, {**fields, "processed_seconds": notification.processed_seconds})
        return Event(LABELS_DETECTED, {**fields, "labels": [label.name for label in notification.labels]})

    async def _where(self, notification: Notification) -> dict[str, str | None]:
        """The processor (region, target) a notification belongs to: the one it names, else the ledger's
        (the region and target are known only from the ledger: a notification does not carry them)."""
        started = await self._ledger.processor_of(notification.session_id)
        if notification.processor is not None:
            if started is not None and started.name == notification.processor:
                return {
                    "processor": notification.processor,
                    "region": started.region,
                    "target": started.target,
                }
            return {"processor": notification.processor, "region": None, "target": None}
        if started is not None:
            return {"processor": started.name, "region": started.region, "target": started.target}
        return {"processor": UNKNOWN_PROCESSOR, "region": None, "target": None}


def open_results_reader(
    gateway: Gateway,
    url: str,
    *,
    ledger: LedgerPort,
    regions: tuple[str, ...],
    environ: Mapping[str, str],
    on_event: EventSink,
    log: Callable[[], Logger],
    active: Callable[[], bool] = lambda: True,
) -> ResultsReader:
    """A started reader of `url`, whose region is the URL's (AWS queue URLs name it), else the first of
    `regions`, else the environment's region (`spd.config.fallback_region`: an emulator's queue). `ledger` is the daemon's one open ledger (its owner
    closes it), the one the triggers record in."""
    reader = ResultsReader(
        open_queue(gateway, url, regions, environ), ledger, on_event=on_event, log=log, active=active
    )
    reader.start()
    return reader
