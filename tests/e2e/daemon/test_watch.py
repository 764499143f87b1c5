"""The watch: `spd run` (interval 300 s) repairs an out-of-band change as soon as its CloudTrail event
arrives on the watch queue, ignores its own calls and coalesces bursts.

The events are built by hand in the shape an EventBridge rule delivers to SQS (tests/support/cloudtrail.py),
with the User-Agent boto3 really sends; the queue is moto's SQS on the emulator's port.
"""

from __future__ import annotations

import json
import time

import pytest

from cloudtrail import body, call_event, rule_fed_queue, user_agent_of
from daemonproc import Daemon
from spd import __version__
from spd.events.watch_events import parse_message
from spd.model import ProcessorId
from spdrun import home, run_spd, write_spec

DEBOUNCE = "0.3"


@pytest.fixture
def queue(emu):
    sqs = emu.client("us-east-1", "sqs")
    url = sqs.create_queue(QueueName="spd-watch")["QueueUrl"]
    return sqs, url


@pytest.fixture
def daemon(emu, tmp_path, queue):
    _, url = queue
    spec = write_spec(tmp_path / "spec.yaml", [home("porch"), home("garden")], references=emu)
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={
            "SPD_INTERVAL": "300",
            "SPD_STATUS_INTERVAL": "300",
            "SPD_WATCH_QUEUE_URL": url,
            "SPD_WATCH_DEBOUNCE": DEBOUNCE,
        },
    )
    d.wait_for("reconcile_completed")
    d.wait_for("watch_started")
    yield d
    d.kill()


def labels(client, name):
    return client.describe_stream_processor(Name=name)["Settings"]["ConnectedHome"]["Labels"]


def wait_labels(client, name, expected, timeout=30):
    deadline = time.monotonic() + timeout
    while labels(client, name) != expected:
        assert time.monotonic() < deadline, f"{name} still has {labels(client, name)}"
        time.sleep(0.05)


def watch_count(d, outcome):
    return d.metric("spd_watch_events_total", outcome=outcome) or 0.0


def wait_count(d, outcome, at_least, timeout=20):
    deadline = time.monotonic() + timeout
    while watch_count(d, outcome) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} {outcome} events:\n{d.dump()}"
        time.sleep(0.05)


def pending(sqs, url):
    attrs = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attrs["ApproximateNumberOfMessages"]) + int(attrs["ApproximateNumberOfMessagesNotVisible"])


def test_an_out_of_band_change_is_repaired_through_the_watch_queue(emu, queue, daemon):
    sqs, url = queue
    client = emu.client()
    mark = len(daemon.lines)
    client.update_stream_processor(
        Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
    )
    sqs.send_message(
        QueueUrl=url,
        MessageBody=body(call_event("UpdateStreamProcessor", "porch", user_agent=user_agent_of(client))),
    )
    wait_labels(client, "porch", ["PERSON"])
    _, received = daemon.wait_for("watch_event", after=mark, processor="porch")
    assert received["outcome"] == "queued"
    assert received["event_name"] == "UpdateStreamProcessor"
    assert received["ignored"] is None
    i, drift = daemon.wait_for("drift_detected", after=mark, processor="porch")
    assert drift["field"] == "connected_home.labels"
    _, done = daemon.wait_for("watch_reconciled", after=i, processor="porch", target="")
    assert done["done"] == ["update"]
    assert done["errors"] == 0
    # One processor read and fixed, not a pass: no List, the other processor never read.
    # (The second ListTagsForResource is the executor's owner check right before the update.)
    assert done["api_calls_by_operation"] == {
        "DescribeStreamProcessor": 1,
        "ListTagsForResource": 2,
        "UpdateStreamProcessor": 1,
    }
    assert len(daemon.events("reconcile_completed")) == 1
    assert pending(sqs, url) == 0

    # A tag removed out of band (the tag calls name the processor by ARN) is put back too.
    arn = client.describe_stream_processor(Name="garden")["StreamProcessorArn"]
    client.tag_resource(ResourceArn=arn, Tags={"team": "x"})
    sqs.send_message(
        QueueUrl=url,
        MessageBody=body(call_event("TagResource", "garden", user_agent=user_agent_of(client), by_arn=True)),
    )
    daemon.wait_for("watch_reconciled", after=mark, processor="garden")
    assert "team" not in client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert daemon.stop() == 0


def test_own_calls_processors_not_in_the_spec_and_bursts(emu, queue, daemon):
    sqs, url = queue
    client = emu.client()
    emu.clear_stats()
    own = f"Boto3/1.0 md/Botocore#1.0 spd/{__version__} spd-stack/test-stack"
    sqs.send_message(
        QueueUrl=url, MessageBody=body(call_event("UpdateStreamProcessor", "porch", user_agent=own))
    )
    sqs.send_message(
        QueueUrl=url,
        MessageBody=body(call_event("DeleteStreamProcessor", "stranger", user_agent="aws-cli/2")),
    )
    wait_count(daemon, "own_call", 1)
    wait_count(daemon, "not_in_spec", 1)
    time.sleep(float(DEBOUNCE) * 3)
    assert emu.stats()["calls"] == {}, "an ignored event caused calls"
    assert not daemon.events("watch_reconciled")

    # Another stack's daemon's calls are changes like anyone's.
    other = own.replace("test-stack", "other-stack")
    mark = len(daemon.lines)
    sqs.send_message(
        QueueUrl=url, MessageBody=body(call_event("StopStreamProcessor", "porch", user_agent=other))
    )
    daemon.wait_for("watch_reconciled", after=mark, processor="porch")

    # Ten events about one processor in one burst: one reconcile.
    ua = user_agent_of(client)
    daemon.wait_for("watch_reconciled", after=mark, processor="porch")
    emu.clear_stats()
    mark = len(daemon.lines)
    client.update_stream_processor(
        Name="garden", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
    )
    entries = [
        {"Id": str(n), "MessageBody": body(call_event("UpdateStreamProcessor", "garden", user_agent=ua))}
        for n in range(10)
    ]
    sqs.send_message_batch(QueueUrl=url, Entries=entries)
    daemon.wait_for("watch_reconciled", after=mark, processor="garden")
    wait_count(daemon, "coalesced", 9)
    time.sleep(float(DEBOUNCE) * 3)
    assert len([e for e in daemon.lines[mark:] if e.get("event") == "watch_reconciled"]) == 1
    # The emulator saw boto3's update, then one read (Describe + tags) and one repair (owner check +
    # update): nothing twice.
    assert emu.stats()["calls"] == {
        "UpdateStreamProcessor": 2,
        "DescribeStreamProcessor": 1,
        "ListTagsForResource": 2,
    }
    assert labels(client, "garden") == ["PERSON"]
    assert pending(sqs, url) == 0
    assert daemon.stop() == 0


def test_malformed_messages_are_logged_and_deleted(emu, queue, daemon):
    sqs, url = queue
    mark = len(daemon.lines)
    sqs.send_message(QueueUrl=url, MessageBody="this is not an event")
    sqs.send_message(QueueUrl=url, MessageBody='{"detail-type": "AWS API Call via CloudTrail"}')
    sqs.send_message(
        QueueUrl=url,
        MessageBody='{"source": "aws.rekognition", "detail": {"eventName": "UpdateStreamProcessor", '
        '"awsRegion": "us-east-1", "eventSource": "rekognition.amazonaws.com", "requestParameters": {}}}',
    )
    for _ in range(3):
        i, line = daemon.wait_for("watch_event", after=mark, outcome="malformed")
        assert line["level"] == "warning"
        assert line["error"]
        mark = i + 1
    deadline = time.monotonic() + 20
    while pending(sqs, url):
        assert time.monotonic() < deadline, "malformed messages left on the queue"
        time.sleep(0.1)
    assert watch_count(daemon, "malformed") == 3
    assert daemon.stop() == 0


def test_a_watch_queue_url_that_is_not_one_is_refused(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    result = run_spd(["run", "--spec", str(spec)], env={"SPD_WATCH_QUEUE_URL": "https://example.com/queue"})
    assert result.returncode == 78, result.stderr
    assert "SPD_WATCH_QUEUE_URL" in result.stderr
    assert "12-digit account" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_queue_that_cannot_be_read_is_reported_and_retried_while_passes_go_on(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=emu)
    missing = f"{emu.url}/123456789012/no-such-queue"
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={"SPD_INTERVAL": "300", "SPD_WATCH_QUEUE_URL": missing},
    )
    try:
        _, failed = d.wait_for("watch_receive_failed")
        assert failed["level"] == "error"
        assert failed["consecutive_failures"] == 1
        assert "Traceback" not in d.stderr
        _, done = d.wait_for("reconcile_completed")
        assert done["errors"] == 0
        assert d.stop() == 0
    finally:
        d.kill()


def test_the_body_an_eventbridge_rule_delivers_is_what_the_watch_reads(emu):
    """moto's EventBridge, with the rule docs/guides/watching.md describes, delivering to the queue: the real shape."""
    sqs, url = emu.client("us-east-1", "sqs"), rule_fed_queue(emu)
    events = emu.client("us-east-1", "events")
    detail = call_event("UntagResource", "porch", user_agent="aws-cli/2", by_arn=True)["detail"]
    sent = events.put_events(
        Entries=[
            {
                "Source": "aws.rekognition",
                "DetailType": "AWS API Call via CloudTrail",
                "Detail": json.dumps(detail),
            }
        ]
    )
    assert sent["FailedEntryCount"] == 0
    received = sqs.receive_message(QueueUrl=url, WaitTimeSeconds=5)["Messages"]
    event = parse_message(received[0]["Body"])
    assert event.id == ProcessorId("us-east-1", "porch")
    assert event.event_name == "UntagResource"
