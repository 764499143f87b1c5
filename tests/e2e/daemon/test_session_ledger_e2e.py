"""The session ledger end to end, all real processes: `spd emulator`, `spd run` reading the results queue,
`spd session start` and `spd sessions`.

The processor's notification channel is an SNS topic in the emulator (moto) with an SQS queue subscribed,
as an operator sets it up on AWS; the emulator publishes the session's LABEL_DETECTED and
STREAM_PROCESSING_COMPLETE notifications to it, and the daemon stores them in the ledger that
`spd sessions` reads and counts them on /metrics. Sessions run at `session_time_scale` 0.05: 2 s of
video end 100 ms after the start.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from daemonproc import Daemon
from spdrun import home, run_spd, write_spec

EMULATOR_ACCOUNT = "123456789012"


def subscribed_queue(emu: Any) -> tuple[str, str]:
    sns, sqs = emu.client(service="sns"), emu.client(service="sqs")
    topic_arn = sns.create_topic(Name="porch-events")["TopicArn"]
    assert topic_arn == f"arn:aws:sns:us-east-1:{EMULATOR_ACCOUNT}:porch-events"
    url = sqs.create_queue(QueueName="spd-session-results")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, url


def pending(emu: Any, url: str) -> int:
    attrs = emu.client(service="sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def porch_daemon(
    emu: Any, tmp_path: Path, topic_arn: str, max_seconds: int, **queues: str
) -> tuple[Daemon, Path, dict[str, str]]:
    """`spd run` of a spec holding `porch` (notifications to `topic_arn`, sessions of at most
    `max_seconds`), reading the queues `queues` names (SPD_* settings); (daemon, spec, the environment
    `spd session start` and `spd sessions` need to find the same state)."""
    spec = write_spec(
        tmp_path / "spec.yaml",
        [
            home(
                "porch",
                notification_channel={"sns_topic_arn": topic_arn},
                sessions={"max_duration_seconds": max_seconds},
            )
        ],
        references=emu,
    )
    env = {"SPD_STATE_DIR": str(tmp_path / "state"), "SPD_ENDPOINT_URL": emu.url}
    daemon = Daemon(
        ["--spec", str(spec)], env={**env, "SPD_INTERVAL": "300", "SPD_STATUS_INTERVAL": "300", **queues}
    )
    return daemon, spec, env


@pytest.fixture
def setup(emu: Any, tmp_path: Path) -> Any:
    emu.configure(session_time_scale=0.05)
    topic_arn, url = subscribed_queue(emu)
    d, spec, env = porch_daemon(emu, tmp_path, topic_arn, 2, SPD_RESULTS_QUEUE_URL=url)
    try:
        d.wait_for("reconcile_completed")
        d.wait_for("session_results_started", queue=url)
        yield d, spec, env, url
    finally:
        d.kill()


def test_a_session_end_reaches_the_ledger_and_the_metrics(emu: Any, setup: Any) -> None:
    d, spec, env, url = setup
    # The daemon created the processor with the topic as its notification channel.
    channel = emu.client().describe_stream_processor(Name="porch")["NotificationChannel"]
    assert channel["SNSTopicArn"].endswith(":porch-events")
    emu.detections("porch", [{"name": "PERSON", "confidence": 91.5, "offset_ms": 200}])

    started = run_spd(["session", "start", str(spec), "porch", "--output", "json"], env=env)
    assert started.returncode == 0, started.stderr
    session_id = json.loads(started.stdout)["session_id"]

    _, labels = d.wait_for("labels_detected", session_id=session_id)
    assert (labels["processor"], labels["region"], labels["labels"]) == ("porch", "us-east-1", ["PERSON"])
    _, done = d.wait_for("session_completed", session_id=session_id)
    assert (done["processor"], done["region"], done["processed_seconds"]) == ("porch", "us-east-1", 2.0)

    listed = run_spd(["sessions", str(spec), "--output", "json"], env=env)
    assert listed.returncode == 0, listed.stderr
    (row,) = json.loads(listed.stdout)["sessions"]
    assert row["session_id"] == session_id
    assert row["processed_seconds"] == 2.0
    assert row["labels"] == ["PERSON"]

    assert d.metric("spd_session_video_seconds_total", processor="porch", target="") == 2.0
    assert d.metric("spd_labels_detected_total", label="PERSON", processor="porch", target="") == 1.0
    assert (
        d.metric("spd_sessions_total", outcome="started", processor="porch", target="", trigger="cli") is None
    )
    # (a `spd session start` beside the daemon is counted by neither: it is another process)

    # Redelivered and malformed messages: the first changes nothing, the second is logged; both deleted.
    sqs = emu.client(service="sqs")
    sqs.send_message(
        QueueUrl=url,
        MessageBody=json.dumps(
            {
                "Type": "Notification",
                "MessageId": "again",
                "Message": json.dumps(_completion(session_id, done["event_id"])),
            }
        ),
    )
    sqs.send_message(QueueUrl=url, MessageBody="this is not a notification")
    _, malformed = d.wait_for("session_notification_malformed")
    assert "not JSON" in malformed["error"]
    deadline = time.monotonic() + 20
    while pending(emu, url):
        assert time.monotonic() < deadline, "messages left on the results queue"
        time.sleep(0.1)
    assert len(d.events("session_completed")) == 1
    assert d.metric("spd_session_video_seconds_total", processor="porch", target="") == 2.0
    assert "Traceback" not in d.stderr
    assert d.stop() == 0


def _completion(session_id: str, event_id: str) -> dict[str, Any]:
    """The completion the emulator published, again (a redelivery: same event id)."""
    return {
        "eventNamespace": {"type": "STREAM_PROCESSING_COMPLETE"},
        "sessionId": session_id,
        "eventId": event_id,
        "inputInformation": {"kinesisVideo": {"processedVideoDurationMillis": 2000}},
        "startStreamProcessorRequest": {"Name": "porch"},
    }


def test_a_queued_trigger_runs_a_session_whose_end_reaches_the_ledger(emu: Any, tmp_path: Path) -> None:
    """The issue's whole path in one daemon: a trigger on the session queue starts a session with its
    selector (as the service received it, read back from the session's own notification), a second
    trigger during it is coalesced, the end notification reaches the ledger, `spd sessions` and
    /metrics."""
    emu.configure(session_time_scale=0.05)  # 60 s of video end 3 s after the start
    topic_arn, results_url = subscribed_queue(emu)
    sns, sqs = emu.client(service="sns"), emu.client(service="sqs")
    # A second subscriber, the test's own, sees what the service published (and so what it was sent).
    witness = sqs.create_queue(QueueName="witness")["QueueUrl"]
    witness_arn = sqs.get_queue_attributes(QueueUrl=witness, AttributeNames=["QueueArn"])["Attributes"]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=witness_arn["QueueArn"])
    triggers = sqs.create_queue(QueueName="spd-triggers")["QueueUrl"]
    d, spec, env = porch_daemon(
        emu, tmp_path, topic_arn, 60, SPD_RESULTS_QUEUE_URL=results_url, SPD_SESSION_QUEUE_URL=triggers
    )
    try:
        d.wait_for("reconcile_completed")
        d.wait_for("session_queue_started")
        sqs.send_message(
            QueueUrl=triggers, MessageBody=json.dumps({"processor": "porch", "fragment_number": "9134385233"})
        )
        _, started = d.wait_for("session_started", processor="porch")
        assert started["trigger"] == "sqs"
        sqs.send_message(QueueUrl=triggers, MessageBody=json.dumps({"processor": "porch"}))
        _, coalesced = d.wait_for("session_coalesced", processor="porch")
        assert coalesced["trigger"] == "sqs"
        _, done = d.wait_for("session_completed", session_id=started["session_id"], timeout=60)
        assert done["processed_seconds"] == 60.0
        assert emu.stats()["calls"]["StartStreamProcessor"] == 1

        seen = [
            json.loads(json.loads(m["Body"])["Message"])
            for m in sqs.receive_message(QueueUrl=witness, MaxNumberOfMessages=10, WaitTimeSeconds=5).get(
                "Messages", []
            )
        ]
        (completion,) = [n for n in seen if n["eventNamespace"]["type"] == "STREAM_PROCESSING_COMPLETE"]
        request = completion["startStreamProcessorRequest"]
        assert request["StartSelector"] == {"KVSStreamStartSelector": {"FragmentNumber": "9134385233"}}
        assert request["StopSelector"] == {"MaxDurationInSeconds": 60}

        listed = run_spd(["sessions", str(spec), "--output", "json"], env=env)
        rows = json.loads(listed.stdout)["sessions"]
        assert sorted(r["outcome"] for r in rows) == ["coalesced", "started"]
        (row,) = [r for r in rows if r["outcome"] == "started"]
        assert (row["session_id"], row["processed_seconds"]) == (started["session_id"], 60.0)

        assert (
            d.metric("spd_sessions_total", outcome="started", processor="porch", target="", trigger="sqs")
            == 1.0
        )
        assert (
            d.metric("spd_sessions_total", outcome="coalesced", processor="porch", target="", trigger="sqs")
            == 1.0
        )
        assert d.metric("spd_session_video_seconds_total", processor="porch", target="") == 60.0
        assert "Traceback" not in d.stderr
        assert d.stop() == 0
    finally:
        d.kill()
