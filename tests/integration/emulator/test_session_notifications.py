"""Connected-home sessions push what the service pushes: SNS notifications (received by an SQS queue
subscribed to the processor's topic, through moto in the same emulator) and an S3 session summary.

Sessions here last 1 s of video at `session_time_scale` 0.05, so 50 ms of wall-clock time.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from spd.emulator.testing import EmulatorControlError, EmulatorProcess

ACCOUNT = "123456789012"
KVS = f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/porch/1700000000000"
SCALE = 0.05


@pytest.fixture
def emu_sessions(emu: EmulatorProcess) -> EmulatorProcess:
    emu.configure(session_time_scale=SCALE)
    return emu


def _topic_with_queue(emu: EmulatorProcess, topic: str = "porch-events") -> tuple[str, str]:
    sns, sqs = emu.client(service="sns"), emu.client(service="sqs")
    topic_arn = sns.create_topic(Name=topic)["TopicArn"]
    queue_url = sqs.create_queue(QueueName=f"{topic}-results")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=queue_arn)
    return topic_arn, queue_url


def _create(
    emu: EmulatorProcess,
    topic_arn: str,
    *,
    bucket: str = "porch-results",
    references: bool = True,
    **settings: Any,
) -> None:
    """Create the processor `porch`; with `references`, first its role, stream, bucket and topic (as an
    account set up for it has them), so that it runs under strict references."""
    request: dict[str, Any] = {
        "Name": "porch",
        "Input": {"KinesisVideoStream": {"Arn": KVS}},
        "Output": {"S3Destination": {"Bucket": bucket, "KeyPrefix": "cams/"}},
        "NotificationChannel": {"SNSTopicArn": topic_arn},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
        "Settings": {"ConnectedHome": {"Labels": ["PERSON", "PACKAGE"], **settings}},
        "Tags": {"team": "doors"},
    }
    if references:
        emu.create_references(request)
    emu.client().create_stream_processor(**request)


def _start(emu: EmulatorProcess, seconds: int = 1) -> str:
    response = emu.client().start_stream_processor(
        Name="porch",
        StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1_700_000_000_000}},
        StopSelector={"MaxDurationInSeconds": seconds},
    )
    return str(response["SessionId"])


def _messages(
    emu: EmulatorProcess, queue_url: str, count: int, timeout: float = 10.0
) -> list[dict[str, Any]]:
    """The SNS envelopes of the next `count` messages on the queue, in order of publication."""
    sqs = emu.client(service="sqs")
    found: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while len(found) < count and time.monotonic() < deadline:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        for message in received.get("Messages", []):
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
        if len(found) < count:
            time.sleep(0.02)
    assert len(found) == count, f"expected {count} messages, got {found}"
    return found


def _no_more(emu: EmulatorProcess, queue_url: str) -> None:
    time.sleep(0.2)
    received = emu.client(service="sqs").receive_message(QueueUrl=queue_url, WaitTimeSeconds=0)
    assert received.get("Messages", []) == []


def test_session_end_is_published_to_the_topic(emu_sessions: EmulatorProcess) -> None:
    topic_arn, queue_url = _topic_with_queue(emu_sessions)
    _create(emu_sessions, topic_arn)
    session_id = _start(emu_sessions, seconds=1)

    (envelope,) = _messages(emu_sessions, queue_url, 1)
    assert envelope["Subject"] == "Rekognition Stream Processing Event"
    assert envelope["TopicArn"] == topic_arn
    message = json.loads(envelope["Message"])
    assert message["eventNamespace"] == {"type": "STREAM_PROCESSING_COMPLETE"}
    assert message["sessionId"] == session_id
    assert message["inputInformation"] == {
        "kinesisVideo": {"streamArn": KVS, "processedVideoDurationMillis": 1000}
    }
    assert message["tags"] == {"team": "doors"}
    assert message["startStreamProcessorRequest"]["StopSelector"] == {"MaxDurationInSeconds": 1}
    assert isinstance(message["streamProcessingResults"]["message"], str)
    # By the time it is published the session is over.
    assert emu_sessions.client().describe_stream_processor(Name="porch")["Status"] == "STOPPED"


def test_each_session_gets_its_own_notification(emu_sessions: EmulatorProcess) -> None:
    topic_arn, queue_url = _topic_with_queue(emu_sessions)
    _create(emu_sessions, topic_arn)
    first = _start(emu_sessions, seconds=2)
    (one,) = _messages(emu_sessions, queue_url, 1)
    second = _start(emu_sessions, seconds=3)
    (two,) = _messages(emu_sessions, queue_url, 1)
    assert first != second
    assert [json.loads(m["Message"])["sessionId"] for m in (one, two)] == [first, second]
    durations = [
        json.loads(m["Message"])["inputInformation"]["kinesisVideo"]["processedVideoDurationMillis"]
        for m in (one, two)
    ]
    assert durations == [2000, 3000]


def test_scripted_detections_arrive_as_label_detected(emu_sessions: EmulatorProcess) -> None:
    topic_arn, queue_url = _topic_with_queue(emu_sessions)
    _create(emu_sessions, topic_arn, MinConfidence=60)
    scripted = emu_sessions.detections(
        "porch",
        [
            {"name": "PERSON", "confidence": 91.5, "offset_ms": 200},
            {"name": "PACKAGE", "confidence": 80, "offset_ms": 400},
            {"name": "PERSON", "confidence": 99, "offset_ms": 600},  # second PERSON: not reported
            {"name": "PACKAGE", "confidence": 10, "offset_ms": 100},  # below MinConfidence
            {"name": "PERSON", "confidence": 95, "offset_ms": 5000},  # after the session's end
        ],
    )
    assert len(scripted) == 5
    session_id = _start(emu_sessions, seconds=1)

    envelopes = _messages(emu_sessions, queue_url, 3)
    messages = [json.loads(envelope["Message"]) for envelope in envelopes]
    kinds = [m["eventNamespace"]["type"] for m in messages]
    assert kinds == ["LABEL_DETECTED", "LABEL_DETECTED", "STREAM_PROCESSING_COMPLETE"]
    assert {m["sessionId"] for m in messages} == {session_id}
    person, package = (m["labels"][0] for m in messages[:2])
    assert (person["name"], person["confidence"]) == ("PERSON", 91.5)
    assert (package["name"], package["confidence"]) == ("PACKAGE", 80.0)
    mapping = person["videoMapping"]["kinesisVideoMapping"]
    assert mapping["frameOffsetMillis"] == 200
    assert mapping["producerTimestamp"] == 1_700_000_000_200
    assert person["frameImageUri"].startswith(f"s3://porch-results/cams/porch/{session_id}/")
    assert set(person["boundingBox"]) == {"left", "top", "height", "width"}
    _no_more(emu_sessions, queue_url)

    # The script was for that session only.
    _start(emu_sessions, seconds=1)
    (envelope,) = _messages(emu_sessions, queue_url, 1)
    assert json.loads(envelope["Message"])["eventNamespace"]["type"] == "STREAM_PROCESSING_COMPLETE"


def test_session_summary_is_written_when_the_bucket_exists(emu_sessions: EmulatorProcess) -> None:
    s3 = emu_sessions.client(service="s3")
    s3.create_bucket(Bucket="porch-results")
    topic_arn, queue_url = _topic_with_queue(emu_sessions)
    _create(emu_sessions, topic_arn)
    emu_sessions.detections("porch", [{"name": "PERSON", "confidence": 70, "offset_ms": 100}])
    session_id = _start(emu_sessions, seconds=1)
    _messages(emu_sessions, queue_url, 2)  # the summary is written before the completion is published

    key = f"cams/porch/{session_id}/summary.json"
    listed = s3.list_objects_v2(Bucket="porch-results", Prefix=f"cams/porch/{session_id}/")
    assert [item["Key"] for item in listed["Contents"]] == [key]
    summary = json.loads(s3.get_object(Bucket="porch-results", Key=key)["Body"].read())
    assert summary["sessionId"] == session_id
    assert summary["streamProcessorName"] == "porch"
    assert summary["inputInformation"]["kinesisVideo"]["processedVideoDurationMillis"] == 1000
    assert [label["name"] for label in summary["labels"]] == ["PERSON"]


def test_no_bucket_no_topic_nothing_breaks(emu_sessions: EmulatorProcess) -> None:
    """Lenient references (strict ones would fail the start): delivery copes with what is missing."""
    emu_sessions.configure(strict_references=False)
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:missing-topic"
    _create(emu_sessions, topic, bucket="missing-bucket", references=False)
    _start(emu_sessions, seconds=1)
    time.sleep(0.2)
    rekognition = emu_sessions.client()
    assert rekognition.describe_stream_processor(Name="porch")["Status"] == "STOPPED"
    _start(emu_sessions, seconds=1)  # and the next session starts as usual


def test_stop_mid_session_reports_the_video_processed_so_far(emu_sessions: EmulatorProcess) -> None:
    emu_sessions.configure(connected_home_stop_allowed_in=["STARTING"], session_time_scale=1.0)
    topic_arn, queue_url = _topic_with_queue(emu_sessions)
    _create(emu_sessions, topic_arn)
    session_id = _start(emu_sessions, seconds=120)
    emu_sessions.client().stop_stream_processor(Name="porch")
    (envelope,) = _messages(emu_sessions, queue_url, 1)
    message = json.loads(envelope["Message"])
    assert message["sessionId"] == session_id
    assert message["eventNamespace"]["type"] == "STREAM_PROCESSING_COMPLETE"
    assert 0 <= message["inputInformation"]["kinesisVideo"]["processedVideoDurationMillis"] < 120_000


def test_reset_cancels_pending_notifications(emu_sessions: EmulatorProcess) -> None:
    emu_sessions.configure(session_time_scale=0.5)  # a 1 s session ends 0.5 s after the start
    topic_arn, _ = _topic_with_queue(emu_sessions)
    _create(emu_sessions, topic_arn)
    _start(emu_sessions, seconds=1)
    emu_sessions.reset_fast()
    # The same names again, after the reset: nothing of the old session may reach the new queue.
    topic_arn, queue_url = _topic_with_queue(emu_sessions)
    time.sleep(0.7)
    _no_more(emu_sessions, queue_url)


def test_failing_a_processor_ends_its_session_silently(emu_sessions: EmulatorProcess) -> None:
    emu_sessions.configure(session_time_scale=0.3)
    topic_arn, queue_url = _topic_with_queue(emu_sessions)
    _create(emu_sessions, topic_arn)
    _start(emu_sessions, seconds=1)
    emu_sessions.fail("porch", "Access denied to Role")
    time.sleep(0.4)
    _no_more(emu_sessions, queue_url)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"labels": [{"name": "PET", "confidence": 90, "offset_ms": 0}]}, "not among the processor's labels"),
        (
            {"labels": [{"name": "ALL", "confidence": 90, "offset_ms": 0}]},
            "must be one of PERSON, PET, PACKAGE",
        ),
        ({"labels": [{"name": "PERSON", "confidence": 100.5, "offset_ms": 0}]}, "between 0 and 100"),
        ({"labels": [{"name": "PERSON", "confidence": True, "offset_ms": 0}]}, "between 0 and 100"),
        ({"labels": [{"name": "PERSON", "confidence": 90, "offset_ms": -1}]}, "between 0 and 120000"),
        ({"labels": [{"name": "PERSON", "confidence": 90, "offset_ms": 120001}]}, "between 0 and 120000"),
        (
            {"labels": [{"name": "PERSON", "confidence": 90, "offset_ms": 1.5}]},
            "offset_ms must be an integer",
        ),
        ({"labels": [{"name": "PERSON", "confidence": 90}]}, "offset_ms must be an integer"),
        ({"labels": [{"name": "PERSON", "confidence": 90, "offset_ms": 0, "x": 1}]}, "unknown key(s): x"),
        ({"labels": "PERSON"}, "labels must be a list"),
        ({"labelz": []}, "unknown key(s): labelz"),
    ],
)
def test_bad_detections_are_refused(emu: EmulatorProcess, body: dict[str, Any], message: str) -> None:
    _create(emu, f"arn:aws:sns:us-east-1:{ACCOUNT}:porch")
    with pytest.raises(EmulatorControlError) as refused:
        emu.control("POST", "processors/porch/detections", body)
    assert refused.value.status == 400
    assert message in refused.value.body["error"]


def test_detections_for_unknown_or_face_search_processors_are_refused(emu: EmulatorProcess) -> None:
    with pytest.raises(EmulatorControlError) as unknown:
        emu.detections("nobody", [])
    assert unknown.value.status == 404
    emu.client().create_stream_processor(
        Name="lobby",
        Input={"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/lobby/1"}},
        Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/lobby"}},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
        Settings={"FaceSearch": {"CollectionId": "staff"}},
    )
    with pytest.raises(EmulatorControlError) as face_search:
        emu.detections("lobby", [{"name": "PERSON", "confidence": 90, "offset_ms": 0}])
    assert face_search.value.status == 400
    assert "face-search" in face_search.value.body["error"]


def test_all_labels_allow_every_detectable_label(emu: EmulatorProcess) -> None:
    _create(emu, f"arn:aws:sns:us-east-1:{ACCOUNT}:porch")
    emu.client().update_stream_processor(
        Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["ALL"]}}
    )
    scripted = emu.detections("porch", [{"name": "PET", "confidence": 50, "offset_ms": 10}])
    assert scripted == [{"name": "PET", "confidence": 50.0, "offset_ms": 10}]
