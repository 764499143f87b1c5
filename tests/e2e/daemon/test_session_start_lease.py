"""A leader paused while a trigger's Describe is in flight, resumed after the standby took the lease,
makes no StartStreamProcessor call: real `spd run` processes sharing a lease in `spd emulator`'s
DynamoDB, SIGSTOP/SIGCONT, and the emulator's call counts.

The emulator holds every DescribeStreamProcessor for 2 s (`latency_ms`); the lease is 4 s. The paused
daemon is the only one that handles the trigger until it wakes, so every StartStreamProcessor counted
before the new leader handles anything would be the old leader's.
"""

from __future__ import annotations

import json
import signal
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from daemonproc import Daemon
from spdrun import home, write_spec

LEASE = "4"
DESCRIBE_LATENCY_MS = 2000
SLOW = 60.0
"""Generous timeouts: the machine may be loaded; nothing here asserts on speed."""


def _calls(emu: Any, operation: str) -> int:
    return int(emu.stats()["calls"].get(operation, 0))


def _pair(daemons: Any, emu: Any, tmp_path: Path, **env: str) -> tuple[Daemon, Daemon]:
    """Leader `a` (its first pass done: the processor exists) and standby `b`, same spec, own state."""
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    common = {
        "SPD_HA_TABLE": f"spd-leases-{uuid.uuid4().hex[:8]}",
        "SPD_HA_LEASE_SECONDS": LEASE,
        # No pass of their own during the test: the only Describe calls are the trigger's.
        "SPD_INTERVAL": "600",
        "SPD_STATUS_INTERVAL": "600",
        **env,
    }
    a = daemons(
        "--endpoint-url", emu.url, "--spec", str(spec),
        env={**common, "SPD_HA_HOLDER": "host-a:1", "SPD_STATE_DIR": str(tmp_path / "a")},
    )  # fmt: skip
    a.wait_for("leader_acquired", timeout=SLOW)
    a.wait_for("reconcile_completed", timeout=SLOW)
    b = daemons(
        "--endpoint-url", emu.url, "--spec", str(spec),
        env={**common, "SPD_HA_HOLDER": "host-b:2", "SPD_STATE_DIR": str(tmp_path / "b")},
    )  # fmt: skip
    b.wait_for("daemon_started", timeout=SLOW)
    time.sleep(2)  # b has read the lease: it is standby
    assert not b.events("leader_acquired"), b.dump()
    return a, b


OUTCOMES = ("session_started", "session_coalesced", "session_refused")


def _outcome(d: Daemon) -> dict[str, Any]:
    """The daemon's first trigger outcome line, whatever it was."""
    return d.wait_until(lambda line: line.get("event") in OUTCOMES, timeout=SLOW, what="trigger outcome")[1]


def _describe_in_flight(emu: Any, before: int) -> None:
    deadline = time.monotonic() + SLOW
    while _calls(emu, "DescribeStreamProcessor") <= before:
        assert time.monotonic() < deadline, "the trigger's Describe never reached the emulator"
        time.sleep(0.02)


def _pause_until_taken_over(emu: Any, a: Daemon, b: Daemon) -> None:
    """SIGSTOP `a` during the Describe it is waiting for; SIGCONT it once `b` holds the lease."""
    a.signal(signal.SIGSTOP)
    try:
        b.wait_for("leader_acquired", timeout=SLOW)
        # The Describe's answer is waiting in a's socket now; a resumes straight into it.
        time.sleep(DESCRIBE_LATENCY_MS / 1000)
    finally:
        a.signal(signal.SIGCONT)


@pytest.fixture
def slow_describe(emu: Any) -> Any:
    emu.configure(session_time_scale=100, latency_ms={"DescribeStreamProcessor": DESCRIBE_LATENCY_MS})
    return emu


def test_http_trigger_of_a_paused_leader_makes_no_start(
    slow_describe: Any, tmp_path: Path, daemons: Any
) -> None:
    emu = slow_describe
    a, b = _pair(daemons, emu, tmp_path)
    url = a.http + "/v1/sessions"
    answer: dict[str, Any] = {}

    def post() -> None:
        request = urllib.request.Request(url, data=json.dumps({"processor": "porch"}).encode(), method="POST")
        request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=3 * SLOW) as response:
                answer.update(code=response.status, body=json.loads(response.read()))
        except urllib.error.HTTPError as err:
            answer.update(code=err.code, body=json.loads(err.read()))

    describes, starts = _calls(emu, "DescribeStreamProcessor"), _calls(emu, "StartStreamProcessor")
    poster = threading.Thread(target=post, daemon=True)
    poster.start()
    _describe_in_flight(emu, describes)
    _pause_until_taken_over(emu, a, b)
    poster.join(timeout=3 * SLOW)
    assert answer, a.dump()
    outcome = _outcome(a)
    assert _calls(emu, "StartStreamProcessor") == starts, (answer, a.dump())
    assert (outcome["event"], outcome.get("refusal")) == ("session_refused", "not_leader"), outcome
    assert answer["code"] == 503, answer
    assert answer["body"]["refusal"] == "not_leader"
    assert not a.events("session_started")
    assert emu.client().describe_stream_processor(Name="porch")["Status"] == "STOPPED"


def test_sqs_trigger_of_a_paused_leader_makes_no_start_and_waits_for_the_new_leader(
    slow_describe: Any, tmp_path: Path, daemons: Any
) -> None:
    emu = slow_describe
    sqs = emu.client("us-east-1", "sqs")
    # Invisible long enough that only the paused daemon holds the message until it has handled it: it
    # holds it about 8 s (the Describe, the lease, the Describe's answer), 14 s leaves a wide margin
    # (and the new leader waits for the message 16 s less than with SQS's default of 30 s).
    url = sqs.create_queue(
        QueueName=f"spd-sessions-{uuid.uuid4().hex[:6]}", Attributes={"VisibilityTimeout": "14"}
    )["QueueUrl"]
    a, b = _pair(daemons, emu, tmp_path, SPD_SESSION_QUEUE_URL=url)
    a.wait_for("session_queue_started", timeout=SLOW)
    describes, starts = _calls(emu, "DescribeStreamProcessor"), _calls(emu, "StartStreamProcessor")
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"processor": "porch"}))
    _describe_in_flight(emu, describes)
    _pause_until_taken_over(emu, a, b)
    refused = _outcome(a)
    assert _calls(emu, "StartStreamProcessor") == starts, a.dump()
    assert (refused["event"], refused.get("refusal")) == ("session_refused", "not_leader"), refused
    assert not a.events("session_started")
    assert not b.events("session_started")
    # Kept on the queue (a temporary refusal): the new leader gets it once it is visible again.
    a.wait_for("session_queue_retry_later", timeout=SLOW)
    _, started = b.wait_for("session_started", message_id=refused["message_id"], timeout=3 * SLOW)
    assert started["trigger"] == "sqs"
    assert _calls(emu, "StartStreamProcessor") == starts + 1
