"""Publishing drift and action events to the `event_sinks` (webhook, SNS, EventBridge) without ever
making a pass wait.

Owned by `spd.daemon.event_out.EventOutlet`, which hands over every event as the reconciler reports it.
`EventSinks.publish` only builds the CloudEvent and puts it on each sink's bounded queue (`put_nowait`):
a pass never waits for a slow or dead receiver. Each sink has its own queue and worker, so a dead
webhook delays nothing but itself. A delivery is tried `attempts` times with exponential backoff; an event
that finds its queue full, or runs out of attempts, is dropped and counted (`spd_sink_dropped_total`).
SNS and EventBridge go through the daemon's `Gateway` (same endpoint, credentials and botocore retries as
everything else); webhooks through aiohttp.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiohttp

from spd.arn import parse_arn
from spd.aws.gateway import Gateway
from spd.config.fallback_region import fallback_region
from spd.config.secret_file import SecretFileProblem, read_secret
from spd.config.sink_settings import EventSinkSettings
from spd.errors import SpdError
from spd.events import Event
from spd.events.cloudevent import CONTENT_TYPE, SIGNATURE_HEADER, encode, is_recorded, sign, to_cloudevent

QUEUE_SIZE = 1000
"""Events waiting per sink; beyond that new ones are dropped (and counted) rather than held in memory."""
MAX_BACKOFF = 60.0
WEBHOOK_TIMEOUT = 10.0
"""Seconds a webhook receiver has to answer one delivery."""
EVENTBRIDGE_SOURCE = "io.spd"
"""`source` of the EventBridge entries (a rule matches on it); the CloudEvent itself is the `detail`."""

Report = Callable[[str, dict[str, Any]], None]
"""How a sink tells the daemon's log about a dropped event: (log event name, fields)."""


class Publisher(Protocol):
    """Delivers one encoded CloudEvent to one destination; raises on any failure (the caller retries)."""

    label: str

    async def deliver(self, cloudevent: dict[str, Any], body: bytes) -> None: ...


class DeliveryError(Exception):
    """A destination that answered, but not with success."""


class WebhookPublisher:
    """POSTs the CloudEvent (structured JSON mode) with its HMAC-SHA256 in `X-Spd-Signature`."""

    def __init__(self, url: str, secret: bytes, session: aiohttp.ClientSession, label: str) -> None:
        self.url = url
        self.label = label
        self._secret = secret
        self._session = session

    async def deliver(self, cloudevent: dict[str, Any], body: bytes) -> None:
        headers = {"Content-Type": CONTENT_TYPE, SIGNATURE_HEADER: sign(self._secret, body)}
        async with self._session.post(self.url, data=body, headers=headers) as response:
            if response.status >= 300:
                raise DeliveryError(f"HTTP {response.status}")


class SnsPublisher:
    """Publishes the CloudEvent JSON as the message of an SNS topic (in the topic's region)."""

    def __init__(self, gateway: Gateway, topic_arn: str, label: str) -> None:
        self.label = label
        self._gateway = gateway
        self._topic_arn = topic_arn
        topic = parse_arn(topic_arn)
        assert topic is not None  # validated by the settings (spd.config.sink_settings)
        self._region = topic.region

    async def deliver(self, cloudevent: dict[str, Any], body: bytes) -> None:
        client = await self._gateway.service_client("sns", self._region)
        await client.publish(
            TopicArn=self._topic_arn,
            Message=body.decode(),
            MessageAttributes={"type": {"DataType": "String", "StringValue": str(cloudevent["type"])}},
        )


class EventBridgePublisher:
    """Puts the CloudEvent on an event bus as the `detail` of an entry with source `io.spd`."""

    def __init__(self, gateway: Gateway, entry: EventSinkSettings, label: str, fallback: str) -> None:
        assert entry.bus is not None
        self.label = label
        self._gateway = gateway
        self._bus = entry.bus
        self._region = entry.region or entry.bus_region
        self._fallback = fallback

    async def deliver(self, cloudevent: dict[str, Any], body: bytes) -> None:
        # A bare bus name is taken to be in the region of the processor the event is about; an event
        # about none goes to `spd.config.fallback_region`'s.
        region = self._region or str(cloudevent.get("data", {}).get("region") or self._fallback)
        client = await self._gateway.service_client("events", region)
        answer = await client.put_events(
            Entries=[
                {
                    "Source": EVENTBRIDGE_SOURCE,
                    "DetailType": str(cloudevent["type"]),
                    "Detail": body.decode(),
                    "EventBusName": self._bus,
                }
            ]
        )
        if answer.get("FailedEntryCount"):
            failed = answer.get("Entries", [{}])[0]
            raise DeliveryError(f"{failed.get('ErrorCode')}: {failed.get('ErrorMessage')}")


@dataclass(frozen=True, slots=True)
class Retry:
    attempts: int
    backoff: float

    def delay(self, failures: int) -> float:
        """Seconds before the next attempt after `failures` failed ones."""
        return float(min(self.backoff * 2 ** (failures - 1), MAX_BACKOFF))


class _Sink:
    """One destination: its queue, its worker, its retry policy."""

    def __init__(self, publisher: Publisher, retry: Retry, queue_size: int) -> None:
        self.publisher = publisher
        self.retry = retry
        self.queue: asyncio.Queue[tuple[dict[str, Any], bytes]] = asyncio.Queue(queue_size)
        self.worker: asyncio.Task[None] | None = None
        self.busy = False
        """An event is being delivered (and would be lost if the worker were stopped now)."""


class EventSinks:
    """The sinks of one daemon; `publish` is synchronous and never waits."""

    def __init__(
        self,
        sinks: Sequence[tuple[Publisher, Retry]],
        *,
        stack: Callable[[], str],
        report: Report,
        queue_size: int = QUEUE_SIZE,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sinks = [_Sink(publisher, retry, queue_size) for publisher, retry in sinks]
        self._stack = stack
        self._report = report
        self._sleep = sleep
        self._now = now
        self.delivered: Counter[str] = Counter()
        self.dropped: Counter[tuple[str, str]] = Counter()
        """Dropped events by (sink, reason): `queue_full` or `retries_exhausted`."""
        for sink in self._sinks:
            self.dropped[(sink.publisher.label, "queue_full")] += 0
            self.dropped[(sink.publisher.label, "retries_exhausted")] += 0
            self.delivered[sink.publisher.label] += 0

    def start(self) -> None:
        for sink in self._sinks:
            sink.worker = asyncio.create_task(self._work(sink), name=f"spd-sink {sink.publisher.label}")

    def publish(self, event: Event) -> None:
        """Queue `event` for every sink (drift and action events only); drop it where a queue is full."""
        if not self._sinks or not is_recorded(event):
            return
        cloudevent = to_cloudevent(event, stack=self._stack(), event_id=str(uuid.uuid4()), time=self._now())
        body = encode(cloudevent)
        for sink in self._sinks:
            try:
                sink.queue.put_nowait((cloudevent, body))
            except asyncio.QueueFull:
                self._drop(sink, cloudevent, "queue_full", f"{sink.queue.maxsize} events waiting")

    async def _work(self, sink: _Sink) -> None:
        while True:
            cloudevent, body = await sink.queue.get()
            sink.busy = True
            try:
                await self._deliver(sink, cloudevent, body)
            finally:
                sink.busy = False
                sink.queue.task_done()

    async def _deliver(self, sink: _Sink, cloudevent: dict[str, Any], body: bytes) -> None:
        failures = 0
        while True:
            try:
                await sink.publisher.deliver(cloudevent, body)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if failures >= sink.retry.attempts:
                    self._drop(sink, cloudevent, "retries_exhausted", error, attempts=failures)
                    return
                await self._sleep(sink.retry.delay(failures))
            else:
                self.delivered[sink.publisher.label] += 1
                return

    def _drop(self, sink: _Sink, cloudevent: dict[str, Any], reason: str, error: str, **extra: Any) -> None:
        self.dropped[(sink.publisher.label, reason)] += 1
        self._report(
            "event_sink_dropped",
            {
                "sink": sink.publisher.label,
                "reason": reason,
                "error": error,
                "event_type": cloudevent["type"],
                "event_id": cloudevent["id"],
                **extra,
            },
        )

    async def close(self, timeout: float) -> None:
        """Deliver what is queued for up to `timeout` seconds, then stop the workers (the rest is lost)."""
        waiting = [sink.queue.join() for sink in self._sinks if sink.worker is not None]
        if waiting:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waiting), timeout)
        lost = [sink.queue.qsize() + sink.busy for sink in self._sinks]
        for sink in self._sinks:
            if sink.worker is not None:
                sink.worker.cancel()
        await asyncio.gather(*(s.worker for s in self._sinks if s.worker is not None), return_exceptions=True)
        for sink, left in zip(self._sinks, lost, strict=True):
            if left:
                self.dropped[(sink.publisher.label, "shutdown")] += left
                self._report(
                    "event_sink_dropped",
                    {"sink": sink.publisher.label, "reason": "shutdown", "events": left},
                )


@contextlib.asynccontextmanager
async def open_sinks(
    entries: Sequence[EventSinkSettings],
    gateway: Gateway,
    *,
    stack: Callable[[], str],
    report: Report,
    drain_timeout: float,
    environ: Mapping[str, str],
) -> AsyncIterator[EventSinks]:
    """`EventSinks` for `entries`, started; drained for up to `drain_timeout` seconds on exit."""
    async with contextlib.AsyncExitStack() as exits:
        session: aiohttp.ClientSession | None = None
        publishers: list[tuple[Publisher, Retry]] = []
        for entry in entries:
            publisher: Publisher
            if entry.type == "webhook":
                assert entry.url is not None
                assert entry.secret_file is not None
                if session is None:
                    session = await exits.enter_async_context(
                        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=WEBHOOK_TIMEOUT))
                    )
                try:
                    secret = read_secret(entry.secret_file, "secret_file")
                except SecretFileProblem as exc:  # changed since the settings were checked
                    raise SpdError(f"event_sinks: {exc}") from None
                publisher = WebhookPublisher(entry.url, secret, session, entry.label)
            elif entry.type == "sns":
                assert entry.topic_arn is not None
                publisher = SnsPublisher(gateway, entry.topic_arn, entry.label)
            else:
                publisher = EventBridgePublisher(gateway, entry, entry.label, fallback_region(environ))
            publishers.append((publisher, Retry(entry.attempts, entry.backoff)))
        sinks = EventSinks(publishers, stack=stack, report=report)
        sinks.start()
        try:
            yield sinks
        finally:
            await sinks.close(drain_timeout)
