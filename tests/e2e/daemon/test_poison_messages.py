"""Poison messages, through a real `spd run` against `spd emulator`: a message no reader can handle (a
number past Python's digit limit, JSON nested past the recursion limit, `Infinity`, a value SQLite cannot
store) is logged by id and deleted, a message whose ledger cannot be written is left for redelivery (and
dead-lettered by the queue's redrive policy), and every reader goes on with the next message.

Queues are moto's SQS on the emulator's port; each test makes its own, so none sees another's messages.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudtrail import body, call_event
from daemonproc import Daemon, leader_of
from ledger_messages import complete_message, sns
from spdrun import home, write_spec

BIG_INT = '{"detail": {"eventName": "UpdateStreamProcessor", "n": ' + "7" * 5000 + "}}"
"""5,000 digits: past Python's int-from-str limit (4,300), a ValueError out of json.loads."""
NESTED = "[" * 30_000 + "]" * 30_000
"""Past the recursion limit: a RecursionError out of json.loads."""
QUIET = {"SPD_INTERVAL": "300", "SPD_STATUS_INTERVAL": "300"}


def _queue(emu: Any, prefix: str, **attributes: str) -> tuple[Any, str]:
    sqs = emu.client("us-east-1", "sqs")
    url = sqs.create_queue(QueueName=f"{prefix}-{uuid.uuid4().hex[:8]}", Attributes=attributes)["QueueUrl"]
    return sqs, url


def _pending(sqs: Any, url: str) -> int:
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def _wait_empty(sqs: Any, url: str, d: Daemon, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while _pending(sqs, url):
        assert time.monotonic() < deadline, f"messages left on the queue:\n{d.dump()}"
        time.sleep(0.1)


def _send(sqs: Any, url: str, text: str) -> str:
    return str(sqs.send_message(QueueUrl=url, MessageBody=text)["MessageId"])


def _completion(session: str, event: str, millis: float) -> dict[str, Any]:
    """A completion whose duration is any JSON number (json.dumps writes `inf` as `Infinity`)."""
    message = complete_message(session, event, 0)
    message["inputInformation"]["kinesisVideo"]["processedVideoDurationMillis"] = millis
    return message


def _healthy(d: Daemon) -> dict[str, Any]:
    code, text = d.get("/healthz")
    document = json.loads(text)
    assert (code, document["status"]) == (200, "ok"), document
    return dict(document)


def _no_body_logged(d: Daemon, piece: str) -> None:
    assert piece not in "".join(d.raw), "a message body reached the log"


def _reading(
    daemons: Callable[..., Daemon], emu: Any, spec: Path, state: Path, reader: str, **queue: str
) -> Daemon:
    """A daemon of `spec` with its state in `state` and the queue setting `queue`, once its first pass
    is done and its `reader` has logged `<reader>_started`."""
    d = daemons(
        "--endpoint-url", emu.url, "--spec", str(spec), env={**QUIET, "SPD_STATE_DIR": str(state), **queue}
    )
    d.wait_for("reconcile_completed")
    d.wait_for(f"{reader}_started")
    return d


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    return write_spec(tmp_path / "spec.yaml", [home("porch")])


@pytest.mark.parametrize("poison", [BIG_INT, NESTED], ids=["5000_digits", "nested"])
def test_the_watch_logs_and_deletes_a_poison_message_and_reads_the_next(
    emu: Any, spec: Path, tmp_path: Path, daemons: Callable[..., Daemon], poison: str
) -> None:
    sqs, url = _queue(emu, "watch")
    # The good message's reconcile runs 0.1 s after it (not the default second), so the stop finds it done.
    watch = {"SPD_WATCH_QUEUE_URL": url, "SPD_WATCH_DEBOUNCE": "0.1"}
    d = _reading(daemons, emu, spec, tmp_path / "state", "watch", **watch)
    bad = _send(sqs, url, poison)
    good = _send(sqs, url, body(call_event("UpdateStreamProcessor", "porch", user_agent="aws-cli/2")))
    _, line = d.wait_for("watch_event", message_id=good)
    assert line["outcome"] == "queued"
    _, refused = d.wait_for("watch_event", message_id=bad)
    assert (refused["outcome"], refused["level"]) == ("malformed", "warning")
    _wait_empty(sqs, url, d)
    _no_body_logged(d, poison[:1000])
    _healthy(d)
    assert d.stop() == 0
    assert "Traceback" not in d.stderr


@pytest.mark.parametrize(
    "poison",
    [sns(_completion("s-bad", "e-bad", float("inf"))), NESTED],
    ids=["infinity", "nested"],
)
def test_the_results_reader_survives_a_poison_message(
    emu: Any, spec: Path, tmp_path: Path, daemons: Callable[..., Daemon], poison: str
) -> None:
    sqs, url = _queue(emu, "results")
    d = _reading(daemons, emu, spec, tmp_path / "state", "session_results", SPD_RESULTS_QUEUE_URL=url)
    bad = _send(sqs, url, poison)
    _send(sqs, url, sns(complete_message("s-good", "e-good", 4_000)))
    _, done = d.wait_for("session_completed", session_id="s-good")
    assert done["processed_seconds"] == 4.0
    _, logged = d.wait_until(
        lambda line: line.get("message_id") == bad and str(line.get("event", "")).startswith("session_"),
        what=f"a log line about {bad}",
    )
    assert logged["event"] in ("session_notification_malformed", "session_notification_values_dropped")
    _wait_empty(sqs, url, d)
    _no_body_logged(d, poison[:1000])
    _healthy(d)
    assert d.stop() == 0


def test_a_duration_sqlite_cannot_store_is_dropped_and_the_rest_recorded_once(
    emu: Any, spec: Path, tmp_path: Path, daemons: Callable[..., Daemon]
) -> None:
    """1e30 ms: "Python int too large to convert to SQLite INTEGER" at every visibility timeout, before."""
    sqs, url = _queue(emu, "results", VisibilityTimeout="1")
    state = tmp_path / "state"
    d = _reading(daemons, emu, spec, state, "session_results", SPD_RESULTS_QUEUE_URL=url)
    bad = _send(sqs, url, sns(_completion("s-huge", "e-huge", 1e30)))
    _, dropped = d.wait_for("session_notification_values_dropped", message_id=bad)
    assert dropped["level"] == "warning"
    assert dropped["session_id"] == "s-huge"
    assert "processedVideoDurationMillis" in dropped["dropped"][0]
    _, done = d.wait_for("session_completed", session_id="s-huge")
    assert done["processed_seconds"] is None
    _wait_empty(sqs, url, d)
    time.sleep(2)  # two visibility timeouts: a kept message would have come back by now
    assert _pending(sqs, url) == 0
    assert len(d.events("session_notification_values_dropped")) == 1
    assert not d.events("session_notification_failed")
    assert len(d.events("session_completed")) == 1
    assert d.stop() == 0
    with sqlite3.connect(state / "sessions.db") as conn:
        rows = conn.execute("SELECT session_id, type, processed_ms FROM notifications").fetchall()
    assert rows == [("s-huge", "STREAM_PROCESSING_COMPLETE", None)]


def test_the_trigger_queue_survives_a_poison_message(
    emu: Any, spec: Path, tmp_path: Path, daemons: Callable[..., Daemon]
) -> None:
    emu.configure(session_time_scale=100)
    sqs, url = _queue(emu, "triggers")
    d = _reading(daemons, emu, spec, tmp_path / "state", "session_queue", SPD_SESSION_QUEUE_URL=url)
    bad = _send(sqs, url, NESTED)
    good = _send(sqs, url, json.dumps({"processor": "porch"}))
    d.wait_for("session_started", processor="porch", message_id=good)
    # The start path reads such a body as malformed (a refusal, not an error), and the message goes.
    _, refused = d.wait_for("session_refused", message_id=bad)
    assert refused["refusal"] == "malformed"
    _wait_empty(sqs, url, d)
    _no_body_logged(d, NESTED[:1000])
    _healthy(d)
    assert d.stop() == 0


def test_a_trigger_whose_ledger_cannot_be_written_is_kept_then_dead_lettered(
    emu: Any, spec: Path, tmp_path: Path, daemons: Callable[..., Daemon]
) -> None:
    """The ledger file is not a database (an SQLite error at every try): not the message's fault, so
    it stays on the queue, and the queue's redrive policy moves it to the dead-letter queue after
    maxReceiveCount receives. Once the ledger is usable again the next trigger starts its session.

    The queue's visibility timeout is 0, so a message left on the queue is delivered again at the next
    receive: what is asserted is that it comes back and ends in the dead-letter queue, not when."""
    emu.configure(session_time_scale=100)
    sqs, dead_url = _queue(emu, "triggers-dlq")
    dead_arn = sqs.get_queue_attributes(QueueUrl=dead_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    redrive = json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "2"})
    _, url = _queue(emu, "triggers", VisibilityTimeout="0", RedrivePolicy=redrive)
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    ledger = state / "sessions.db"
    ledger.write_bytes(b"this is no database " * 100)
    d = _reading(daemons, emu, spec, state, "session_queue", SPD_SESSION_QUEUE_URL=url)
    kept = _send(sqs, url, json.dumps({"processor": "porch"}))
    # Refused before any call (no ledger row, no Start) as temporary: the message stays on the queue.
    first, refused = d.wait_for("session_refused", message_id=kept)
    assert refused["refusal"] == "ledger_unavailable"
    d.wait_for("session_queue_retry_later", messages=[kept])
    d.wait_for("session_refused", message_id=kept, after=first + 1)  # delivered again
    deadline = time.monotonic() + 30
    while not sqs.receive_message(QueueUrl=dead_url, WaitTimeSeconds=1).get("Messages"):
        assert time.monotonic() < deadline, f"not dead-lettered:\n{d.dump()}"
    _wait_empty(sqs, url, d)
    _healthy(d)

    ledger.unlink()
    good = _send(sqs, url, json.dumps({"processor": "porch"}))
    d.wait_for("session_started", processor="porch", message_id=good)
    _wait_empty(sqs, url, d)
    assert d.stop() == 0


# -- high availability: the lease is released at SIGTERM after a poison message -------------------------


@pytest.fixture
def ha_daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def test_sigterm_after_a_poison_message_releases_the_lease(
    emu: Any, spec: Path, ha_daemons: list[Daemon]
) -> None:
    """Two daemons share a 6 s lease and a watch queue; the leader reads a poison message, then SIGTERM:
    it exits 0 having released the lease, so the standby finds the lease free instead of expired (the
    leader's shutdown, which waits for its watch's long poll, must end well within the lease)."""
    sqs, url = _queue(emu, "watch-ha")
    table = f"spd-leases-{uuid.uuid4().hex[:8]}"
    for holder in ("host-a:1", "host-b:2"):
        env = {
            **QUIET,
            "SPD_WATCH_QUEUE_URL": url,
            "SPD_HA_TABLE": table,
            "SPD_HA_LEASE_SECONDS": "6",
            "SPD_HA_HOLDER": holder,
        }
        ha_daemons.append(Daemon(["--endpoint-url", emu.url, "--spec", str(spec)], env=env))
    leader, standby = leader_of(*ha_daemons)
    leader.wait_for("watch_started")
    bad = _send(sqs, url, BIG_INT)
    leader.wait_for("watch_event", message_id=bad)
    _wait_empty(sqs, url, leader)
    mark = len(standby.lines)
    leader.signal(signal.SIGTERM)
    assert leader.wait() == 0, leader.dump()
    assert "Traceback" not in leader.stderr
    assert [e["reason"] for e in leader.events("leader_lost")][-1:] == ["released on shutdown"]
    _, acquired = standby.wait_for("leader_acquired", after=mark, timeout=30)
    assert acquired["how"] == "lease was free"
    assert standby.stop() == 0
