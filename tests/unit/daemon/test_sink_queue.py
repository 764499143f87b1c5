"""`EventSinks` in-process with stand-in publishers: queueing never waits, retries back off, drops are counted.

The publishers here are destinations, not AWS clients: the real webhook, SNS and EventBridge deliveries
are exercised end to end in tests/e2e/daemon/test_event_sinks.py.
"""

from __future__ import annotations

import asyncio
from typing import Any

from spd import events
from spd.daemon.sinks import EventSinks, Retry
from spd.events import Event

DRIFT = Event(events.DRIFT_DETECTED, {"processor": "porch", "region": "us-east-1", "field": "status"})


class Stub:
    """Fails its first `failures` deliveries, then waits on `gate` (if set) and keeps the event."""

    def __init__(self, failures: int = 0, gate: asyncio.Event | None = None) -> None:
        self.label = "stub"
        self.failures = failures
        self.gate = gate
        self.calls = 0
        self.got: list[dict[str, Any]] = []

    async def deliver(self, cloudevent: dict[str, Any], body: bytes) -> None:
        self.calls += 1
        if self.calls <= self.failures:
            raise ConnectionError("refused")
        if self.gate is not None:
            await self.gate.wait()
        self.got.append(cloudevent)


def _sinks(
    stub: Stub, *, attempts: int = 3, queue_size: int = 10
) -> tuple[EventSinks, list[Any], list[float]]:
    reports: list[Any] = []
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    sinks = EventSinks(
        [(stub, Retry(attempts, 0.5))],
        stack=lambda: "lobby",
        report=lambda name, fields: reports.append((name, fields)),
        queue_size=queue_size,
        sleep=sleep,
    )
    return sinks, reports, sleeps


async def test_a_full_queue_drops_and_counts_without_waiting():
    gate = asyncio.Event()
    stub = Stub(gate=gate)
    sinks, reports, _ = _sinks(stub, queue_size=2)
    sinks.start()
    await asyncio.sleep(0)
    for _ in range(5):
        sinks.publish(DRIFT)  # synchronous: returns at once whatever the receiver does
    await asyncio.sleep(0)
    # One in the worker's hands, two queued, the rest dropped.
    assert sinks.dropped[("stub", "queue_full")] >= 2
    assert reports[0][0] == "event_sink_dropped"
    assert reports[0][1]["reason"] == "queue_full"
    gate.set()
    await sinks.close(5)
    assert len(stub.got) + sinks.dropped[("stub", "queue_full")] == 5
    assert sinks.delivered["stub"] == len(stub.got)


async def test_failed_deliveries_are_retried_with_doubling_backoff():
    stub = Stub(failures=2)
    sinks, reports, sleeps = _sinks(stub, attempts=3)
    sinks.start()
    sinks.publish(DRIFT)
    await sinks.close(5)
    assert sleeps == [0.5, 1.0]
    assert [e["type"] for e in stub.got] == ["io.spd.drift_detected"]
    assert sinks.delivered["stub"] == 1
    assert reports == []


async def test_exhausted_retries_drop_the_event_and_say_why():
    stub = Stub(failures=10)
    sinks, reports, sleeps = _sinks(stub, attempts=3)
    sinks.start()
    sinks.publish(DRIFT)
    await sinks.close(5)
    assert stub.calls == 3
    assert sleeps == [0.5, 1.0]
    assert sinks.dropped[("stub", "retries_exhausted")] == 1
    ((name, fields),) = reports
    assert name == "event_sink_dropped"
    assert fields["error"] == "ConnectionError: refused"
    assert fields["attempts"] == 3
    assert fields["event_type"] == "io.spd.drift_detected"


async def test_pass_summaries_are_not_published():
    stub = Stub()
    sinks, _, _ = _sinks(stub)
    sinks.start()
    sinks.publish(Event(events.RECONCILE_COMPLETED, {"processors": 1}))
    sinks.publish(Event(events.STATUS_SWEEP_COMPLETED, {"processors": 1}))
    await sinks.close(5)
    assert stub.calls == 0


async def test_shutdown_waits_a_bounded_time_then_counts_what_is_left():
    stub = Stub(gate=asyncio.Event())  # never opens: the receiver hangs
    sinks, reports, _ = _sinks(stub)
    sinks.start()
    for _ in range(3):
        sinks.publish(DRIFT)
    await sinks.close(0.05)
    assert stub.got == []
    assert sinks.dropped[("stub", "shutdown")] == 3  # two queued, one in the worker's hands
    assert reports[-1][1]["reason"] == "shutdown"
