"""The shared queue-reader loop with an in-memory queue: one failing message changes nothing for the
others and never ends the reader; a reader that ends anyway is logged and makes `/healthz` 503."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import structlog

from log_recorder import LogRecorder
from spd.aws.watch_queue import QueueMessage
from spd.daemon.metrics import Health
from spd.daemon.notify import Notifier
from spd.daemon.queue_loop import QueueReader, temporary
from spd.daemon.service import Daemon, load_config
from spd.errors import EndpointError, InvalidParameterError, ThrottledError
from spd.store.sqlite_store import StoreError
from spdrun import home, write_spec


class FakeQueue:
    """The reader's side of `WatchQueue`: one batch, then nothing; records receives and deletes."""

    url = "http://127.0.0.1:1/123456789012/q"
    region = "us-east-1"

    def __init__(self, messages: list[QueueMessage], *, fail: BaseException | None = None) -> None:
        self.messages = messages
        self.fail = fail
        self.receives = 0
        self.deleted: list[str] = []

    async def receive(self) -> list[QueueMessage]:
        self.receives += 1
        await asyncio.sleep(0.005)
        if self.fail is not None:
            raise self.fail
        out, self.messages = self.messages, []
        return out

    async def delete(self, messages: list[QueueMessage]) -> list[str]:
        self.deleted.extend(m.message_id for m in messages)
        return []


def _reader(queue: FakeQueue, handle: Any, log: LogRecorder, *, concurrent: bool = False) -> QueueReader:
    return QueueReader(
        queue,  # type: ignore[arg-type]
        name="test_queue",
        handle=handle,
        active=lambda: True,
        log=lambda: log,  # type: ignore[arg-type,return-value]
        sleep=lambda _: asyncio.sleep(0.005),
        concurrent=concurrent,
    )


async def _until(condition: Any, what: str) -> None:
    for _ in range(1000):
        if condition():
            return
        await asyncio.sleep(0.005)
    raise AssertionError(f"never: {what}")


@pytest.mark.parametrize("concurrent", [False, True])
async def test_one_failing_message_is_logged_and_the_others_are_handled(concurrent: bool) -> None:
    handled: list[str] = []

    async def handle(message: QueueMessage) -> bool:
        if message.body == "recursion":
            raise RecursionError("maximum recursion depth exceeded while decoding a JSON array")
        if message.body == "digits":
            int("7" * 5000)
        if message.body == "disk":
            raise sqlite3.OperationalError("disk I/O error")
        handled.append(message.message_id)
        return message.body != "later"

    queue = FakeQueue(
        [
            QueueMessage("m1", "r1", "recursion"),
            QueueMessage("m2", "r2", "good"),
            QueueMessage("m3", "r3", "digits"),
            QueueMessage("m4", "r4", "disk"),
            QueueMessage("m5", "r5", "later"),
            QueueMessage("m6", "r6", "good"),
        ]
    )
    log = LogRecorder()
    reader = _reader(queue, handle, log, concurrent=concurrent)
    reader.start()
    await _until(lambda: queue.deleted and queue.receives >= 3, "deleted and read on")
    await reader.close()
    assert sorted(handled) == ["m2", "m5", "m6"]
    # The message's own failures are deleted; the disk's and the reader's "later" are left for SQS.
    assert sorted(queue.deleted) == ["m1", "m2", "m3", "m6"]
    failed = {f["message_id"]: f for f in log.named("test_queue_message_failed")}
    assert sorted(failed) == ["m1", "m3", "m4"]
    assert failed["m1"]["error_type"] == "RecursionError"
    assert failed["m1"]["action"] == "deleted"
    assert failed["m3"]["error_type"] == "ValueError"
    assert "5000 digits" in failed["m3"]["error"]
    assert failed["m3"]["raised_at"].startswith("test_reader_health.py:")
    assert failed["m4"]["action"] == "kept for redelivery"
    assert all(len(f["error"]) <= 200 for f in failed.values())
    assert reader.stopped is None
    assert not log.named("test_queue_stopped")


async def test_a_reader_that_dies_is_logged_and_makes_healthz_unhealthy() -> None:
    queue = FakeQueue([], fail=RuntimeError("the SQS client broke"))
    log = LogRecorder()

    async def handle(message: QueueMessage) -> bool:
        return True

    reader = _reader(queue, handle, log)
    clock = [100.0]
    health = Health(
        10,
        clock=lambda: clock[0],
        stopped_readers=lambda: {r.name: r.stopped for r in [reader] if r.stopped is not None},
    )
    health.succeeded()
    assert health.check()[0] == 200
    reader.start()
    await _until(lambda: reader.stopped is not None, "the reader stopped")
    code, body = health.check()
    assert code == 503
    assert body["status"] == "reader_stopped"
    assert body["stopped_readers"] == {"test_queue": "RuntimeError: the SQS client broke"}
    (stopped,) = log.named("test_queue_stopped")
    assert stopped["reason"] == "RuntimeError: the SQS client broke"
    assert isinstance(stopped["exc_info"], RuntimeError)
    await reader.close()  # never raises for a task that already died
    assert health.check()[0] == 503  # still unread: only a restart reads the queue again


def test_a_standby_with_a_stopped_reader_is_unhealthy_too() -> None:
    health = Health(
        10,
        lease=lambda: {"role": "standby", "lease_error": None},
        stopped_readers=lambda: {"watch": "ValueError: x"},
    )
    code, body = health.check()
    assert (code, body["status"], body["role"]) == (503, "reader_stopped", "standby")
    health.stopped_readers = dict
    code, body = health.check()
    assert (code, body["status"]) == (200, "standby")
    assert "stopped_readers" not in body


@pytest.mark.parametrize(
    ("exc", "kept"),
    [
        (OSError(28, "No space left on device"), True),
        (sqlite3.OperationalError("database is locked"), True),
        (sqlite3.DatabaseError("file is not a database"), True),
        (StoreError("sessions.db: not an spd session ledger database"), True),
        (ThrottledError("StartStreamProcessor", "ThrottlingException", "slow down"), True),
        (EndpointError("unreachable"), True),
        (InvalidParameterError("StartStreamProcessor", "InvalidParameterException", "bad"), False),
        (sqlite3.IntegrityError("NOT NULL constraint failed"), False),
        (OverflowError("Python int too large to convert to SQLite INTEGER"), False),
        (ValueError("Exceeds the limit (4300 digits)"), False),
        (RecursionError("maximum recursion depth exceeded"), False),
        (KeyError("x"), False),
    ],
)
def test_only_failures_outside_the_message_leave_it_for_redelivery(exc: Exception, kept: bool) -> None:
    assert temporary(exc) is kept


class StoppedReader:
    """What the daemon asks of a reader for `/healthz`: its name and why it stopped."""

    def __init__(self, name: str, stopped: str | None) -> None:
        self.name = name
        self.stopped = stopped


def test_the_daemons_healthz_names_each_stopped_reader(tmp_path: Path) -> None:
    config = load_config(None, {"spec": write_spec(tmp_path / "spec.yaml", [home("porch")])}, environ={})
    daemon = Daemon(
        config,
        reload=lambda: config,
        log=structlog.get_logger(),
        notifier=Notifier.from_environ({}),
        environ={},
        clock=lambda: 5.0,
    )
    ctx = daemon.context
    ctx.health.succeeded()
    assert ctx.health.render()[0] == 200
    ctx.readers.append(StoppedReader("watch", None))
    ctx.readers.append(StoppedReader("session_queue", "RecursionError: too deep"))
    code, text = ctx.health.render()
    assert code == 503
    document = json.loads(text)
    assert document["status"] == "reader_stopped"
    assert document["stopped_readers"] == {"session_queue": "RecursionError: too deep"}
