"""The watch under high availability: it reads the queue only while its daemon leads, and says when it starts
and pauses (no AWS here: the queue is a stand-in that counts its receives; the real two-daemon path is
tests/e2e/daemon/test_ha_events.py)."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import CollectorRegistry
from structlog.testing import capture_logs

from spd.aws.watch_queue import QueueMessage
from spd.daemon.watch import Watch


class CountingQueue:
    """Answers every receive with nothing, after a short wait, and counts them."""

    url = "http://127.0.0.1:4566/123456789012/spd-watch"
    region = "us-east-1"

    def __init__(self) -> None:
        self.receives = 0

    async def receive(self) -> list[QueueMessage]:
        self.receives += 1
        await asyncio.sleep(0.01)
        return []

    async def delete(self, messages: list[QueueMessage]) -> list[str]:
        return []


async def _until(predicate, timeout: float = 5.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not predicate():
        assert asyncio.get_running_loop().time() < deadline
        await asyncio.sleep(0.01)


async def test_the_watch_reads_only_while_leader_and_logs_when_it_starts_and_pauses():
    queue = CountingQueue()
    leading = [False]
    watch = Watch(
        queue,  # type: ignore[arg-type]
        target=lambda: (_ for _ in ()).throw(AssertionError("nothing to reconcile")),
        marker="spd/0.1.0 spd-stack/test-stack",
        debounce=lambda: 0.05,
        concurrency=1,
        log=lambda: structlog.get_logger(),
        registry=CollectorRegistry(),
        clock=asyncio.get_event_loop().time,
        sleep=lambda _seconds: asyncio.sleep(0.01),
        active=lambda: leading[0],
    )
    with capture_logs() as logs:
        watch.start()
        await asyncio.sleep(0.2)  # standby: many looks at the lease, no receive, nothing logged
        assert queue.receives == 0
        assert [e["event"] for e in logs] == []

        leading[0] = True
        await _until(lambda: queue.receives >= 3)
        assert [e["event"] for e in logs] == ["watch_started"]

        leading[0] = False
        await _until(lambda: any(e["event"] == "watch_paused" for e in logs))
        await asyncio.sleep(0.05)
        paused_at = queue.receives
        await asyncio.sleep(0.2)
        assert queue.receives == paused_at
        assert [e["event"] for e in logs] == ["watch_started", "watch_paused"]
        assert logs[1]["reason"] == "standby"

        leading[0] = True
        await _until(lambda: queue.receives > paused_at)
        assert [e["event"] for e in logs] == ["watch_started", "watch_paused", "watch_started"]
        assert await watch.close(1) == 0
