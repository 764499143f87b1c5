"""The results reader's handling of one message: into the ledger, an event once, malformed ones dropped;
and the session metrics those events feed. The queue itself is exercised end to end in
tests/e2e/daemon/test_session_ledger_e2e.py.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from daemonproc import sample
from ledger_messages import complete_message, label_message, sns
from log_recorder import LogRecorder
from spd.aws.watch_queue import QueueMessage, WatchQueue
from spd.config.settings import load_settings
from spd.daemon.metrics import DaemonMetrics
from spd.daemon.session_results import ResultsReader
from spd.errors import SettingsError
from spd.events import LABELS_DETECTED, SESSION_COMPLETED, Event
from spd.sessions.ledger import Ledger, SqliteLedger
from spd.sessions.ledger_port import TriggerRow

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class Harness:
    def __init__(self, state_dir: Path) -> None:
        self.ledger = Ledger.open(state_dir)
        self.events: list[Event] = []
        self.metrics = DaemonMetrics(stats=lambda: None)
        self.log = LogRecorder()

        def on_event(event: Event) -> None:
            self.events.append(event)
            self.metrics.event(event)

        queue = WatchQueue(None, "http://127.0.0.1:1/123456789012/results", "us-east-1")  # type: ignore[arg-type]
        self.reader = ResultsReader(
            queue, SqliteLedger(self.ledger), on_event=on_event, log=lambda: self.log, now=lambda: NOON
        )
        self.count = 0

    def handle(self, body: str) -> str:
        self.count += 1
        return asyncio.run(self.reader.handle(QueueMessage(f"m-{self.count}", f"r-{self.count}", body)))

    def metric(self, name: str, **labels: str) -> float:
        return sample(self.metrics.render().decode(), name, **labels) or 0.0


@pytest.fixture
def harness(tmp_path: Path) -> Any:
    h = Harness(tmp_path)
    yield h
    h.ledger.close()


def test_a_completion_is_stored_and_counted_once_even_when_redelivered(harness: Harness) -> None:
    body = sns(complete_message("s-1", "e-1", 12_500))
    assert harness.handle(body) == "new"
    assert harness.handle(body) == "duplicate"  # SQS redelivers: same event id
    assert [e.name for e in harness.events] == [SESSION_COMPLETED]
    assert harness.events[0].fields["processed_seconds"] == 12.5
    assert harness.events[0].fields["processor"] == "porch"
    assert harness.metric("spd_session_video_seconds_total", processor="porch", target="") == 12.5


def test_labels_are_counted_per_label_once(harness: Harness) -> None:
    body = sns(label_message("s-1", "e-1", "PERSON", "PACKAGE"))
    assert harness.handle(body) == "new"
    assert harness.handle(body) == "duplicate"
    assert harness.handle(sns(label_message("s-2", "e-2", "PERSON"))) == "new"
    assert [e.name for e in harness.events] == [LABELS_DETECTED, LABELS_DETECTED]
    assert harness.events[0].fields["labels"] == ["PERSON", "PACKAGE"]
    assert harness.metric("spd_labels_detected_total", processor="porch", target="", label="PERSON") == 2
    assert harness.metric("spd_labels_detected_total", processor="porch", target="", label="PACKAGE") == 1


def test_the_processor_comes_from_the_ledger_when_the_notification_names_none(harness: Harness) -> None:
    harness.ledger.record_trigger(
        TriggerRow(
            at=NOON,
            processor="garden",
            region="eu-west-1",
            target="lab",
            trigger="http",
            outcome="started",
            session_id="s-7",
        )
    )
    message = complete_message("s-7", "e-7", 3_000)
    del message["startStreamProcessorRequest"]
    assert harness.handle(sns(message)) == "new"
    assert harness.events[0].fields | {"event_id": None} == {
        "processor": "garden",
        "region": "eu-west-1",
        "target": "lab",
        "session_id": "s-7",
        "event_id": None,
        "processed_seconds": 3.0,
    }
    assert harness.metric("spd_session_video_seconds_total", processor="garden", target="lab") == 3
    # A session nobody here started and whose notification names nothing: still counted, as unknown.
    other = complete_message("s-8", "e-8", 1_000)
    del other["startStreamProcessorRequest"]
    assert harness.handle(sns(other)) == "new"
    assert harness.metric("spd_session_video_seconds_total", processor="unknown", target="") == 1


@pytest.mark.parametrize(
    "body",
    [
        "not json",
        '{"Message": "not json either"}',
        sns({"eventNamespace": {"type": "SOMETHING_ELSE"}, "sessionId": "s"}),
        sns({"eventNamespace": {"type": "STREAM_PROCESSING_COMPLETE"}}),
        "[]",
    ],
)
def test_a_malformed_message_is_logged_and_stores_nothing(harness: Harness, body: str) -> None:
    assert harness.handle(body) == "malformed"
    ((level, event, fields),) = harness.log.lines
    assert (level, event) == ("warning", "session_notification_malformed")
    assert fields["message_id"] == "m-1"
    assert fields["error"]
    assert harness.events == []
    assert harness.ledger.sessions(since=datetime(2000, 1, 1, tzinfo=UTC)) == []


def test_a_ledger_that_cannot_be_written_keeps_the_message(harness: Harness) -> None:
    harness.ledger.close()
    assert harness.handle(sns(complete_message("s-1", "e-1", 1_000))) == "failed"
    assert harness.log.lines[-1][1] == "session_notification_failed"
    assert harness.events == []
    harness.ledger = Ledger.open(harness.ledger.path.parent)  # for the fixture's close


def test_session_outcomes_are_counted_by_processor_trigger_and_outcome() -> None:
    metrics = DaemonMetrics(stats=lambda: None)
    for name, trigger in [
        ("session_started", "http"),
        ("session_started", "http"),
        ("session_coalesced", "sqs"),
        ("session_refused", "window"),
        ("session_started", "some_future_source"),
    ]:
        metrics.event(Event(name, {"processor": "porch", "region": "us-east-1", "trigger": trigger}))
    text = metrics.render().decode()
    assert 'spd_sessions_total{outcome="started",processor="porch",target="",trigger="http"} 2.0' in text
    assert 'spd_sessions_total{outcome="coalesced",processor="porch",target="",trigger="sqs"} 1.0' in text
    assert 'spd_sessions_total{outcome="refused",processor="porch",target="",trigger="window"} 1.0' in text
    assert (
        'spd_sessions_total{outcome="started",processor="porch",target="",trigger="some_future_source"} 1.0'
        in text
    )


class FakeQueue:
    """The reader's side of `WatchQueue`: hands out the messages once, records deletes."""

    url = "http://127.0.0.1:1/123456789012/results"
    region = "us-east-1"

    def __init__(self, messages: list[QueueMessage]) -> None:
        self.messages = messages
        self.receives = 0
        self.deleted: list[str] = []

    async def receive(self) -> list[QueueMessage]:
        self.receives += 1
        out, self.messages = self.messages, []
        await asyncio.sleep(0.01)
        return out

    async def delete(self, messages: list[QueueMessage]) -> list[str]:
        self.deleted.extend(m.message_id for m in messages)
        return []


async def test_a_standby_reads_nothing_and_the_leader_deletes_what_it_handled(tmp_path: Path) -> None:
    queue = FakeQueue(
        [
            QueueMessage("good", "r1", sns(complete_message("s-1", "e-1", 5_000))),
            QueueMessage("bad", "r2", "garbage"),
        ]
    )
    leader = False
    seen: list[Event] = []
    ledger = SqliteLedger.open(tmp_path)
    reader = ResultsReader(
        queue,  # type: ignore[arg-type]
        ledger,
        on_event=seen.append,
        log=lambda: LogRecorder(),  # type: ignore[arg-type,return-value]
        sleep=lambda _: asyncio.sleep(0.005),
        active=lambda: leader,
    )
    reader.start()
    await asyncio.sleep(0.1)
    assert queue.receives == 0  # standby: the leader's reader takes every message
    leader = True
    for _ in range(200):
        if queue.deleted:
            break
        await asyncio.sleep(0.01)
    await reader.close()
    await ledger.close()
    assert queue.deleted == ["good", "bad"]
    assert [e.name for e in seen] == [SESSION_COMPLETED]


def test_results_queue_url_is_checked_like_the_watch_queue(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SPD_RESULTS_QUEUE_URL", "")
    assert load_settings(None).results_queue_url is None
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/spd-session-results"
    monkeypatch.setenv("SPD_RESULTS_QUEUE_URL", url)
    assert load_settings(None).results_queue_url == url
    monkeypatch.setenv("SPD_RESULTS_QUEUE_URL", "sqs/results")
    with pytest.raises(SettingsError) as caught:
        load_settings(None)
    assert "SPD_RESULTS_QUEUE_URL" in str(caught.value.diagnostics[0])
    assert "expected an SQS queue URL" in str(caught.value.diagnostics[0])
