"""Stream processors in-process under moto's `mock_aws` (`spd.emulator.mock`, the `spd_mock_aws` fixture).

These are moto's own in-process mocks, the feature under test: no server, boto3's requests answered by
moto's botocore hook, which `install()` points at spd's emulator for Rekognition.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from spd.emulator import mock
from spd.emulator.testing import EmulatorControlError

ACCOUNT = "123456789012"
NO_RETRIES = Config(retries={"mode": "standard", "total_max_attempts": 1})


def _request(name: str, region: str = "us-east-1") -> dict[str, Any]:
    return {
        "Name": name,
        "Input": {"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:{region}:{ACCOUNT}:stream/{name}/1"}},
        "Output": {"KinesisDataStream": {"Arn": f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}"}},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
        "Settings": {"FaceSearch": {"CollectionId": "staff"}},
    }


@pytest.fixture
def installed() -> Iterator[None]:
    mock.install()
    try:
        yield
    finally:
        mock.uninstall()


def _wait_status(client: Any, name: str, status: str) -> None:
    deadline = time.monotonic() + 10
    while client.describe_stream_processor(Name=name)["Status"] != status:
        assert time.monotonic() < deadline, f"{name} never reached {status}"
        time.sleep(0.02)


@pytest.mark.usefixtures("installed")
def test_stream_processors_under_mock_aws_with_moto_reset_between_mocks() -> None:
    with mock_aws():
        rekognition = boto3.client("rekognition", region_name="eu-west-1")
        mock.emulator().create_references(_request("lobby", "eu-west-1"), region="eu-west-1")
        arn = rekognition.create_stream_processor(**_request("lobby", "eu-west-1"))["StreamProcessorArn"]
        assert arn == f"arn:aws:rekognition:eu-west-1:{ACCOUNT}:streamprocessor/lobby"
        mock.emulator().configure(transition_seconds=0.05)
        rekognition.start_stream_processor(Name="lobby")
        _wait_status(rekognition, "lobby", "RUNNING")
        with pytest.raises(ClientError) as info:
            rekognition.create_stream_processor(**_request("lobby", "eu-west-1"))
        assert info.value.response["Error"]["Code"] == "ResourceInUseException"
        # moto's own Rekognition operations still answer
        assert "Labels" in rekognition.detect_labels(Image={"Bytes": b"x"})
    with mock_aws():
        rekognition = boto3.client("rekognition", region_name="eu-west-1")
        assert rekognition.list_stream_processors()["StreamProcessors"] == []
        assert mock.emulator().config()["transition_seconds"] == 1.0


def test_uninstall_gives_rekognition_back_to_moto() -> None:
    mock.install()
    mock.install()  # idempotent
    assert mock.installed()
    mock.uninstall()
    assert not mock.installed()
    with mock_aws():
        rekognition = boto3.client("rekognition", region_name="us-east-1")
        with pytest.raises(NotImplementedError):
            rekognition.list_stream_processors()


def test_spd_mock_aws_fixture_gives_the_control_api(spd_mock_aws: mock.MockEmulator) -> None:
    assert spd_mock_aws.config()["transition_seconds"] == 0.05
    rekognition = boto3.client("rekognition", region_name="us-east-1", config=NO_RETRIES)
    rekognition.create_stream_processor(**_request("porch"))
    spd_mock_aws.fail("porch", "Access denied to Role")
    described = rekognition.describe_stream_processor(Name="porch")
    assert (described["Status"], described["StatusMessage"]) == ("FAILED", "Access denied to Role")

    spd_mock_aws.fault("DeleteStreamProcessor", "ThrottlingException", count=1)
    assert [f["operation"] for f in spd_mock_aws.faults()] == ["DeleteStreamProcessor"]
    with pytest.raises(ClientError) as info:
        rekognition.delete_stream_processor(Name="porch")
    assert info.value.response["Error"]["Code"] == "ThrottlingException"
    rekognition.delete_stream_processor(Name="porch")
    assert spd_mock_aws.stats()["injected"] == {"DeleteStreamProcessor": 1}

    with pytest.raises(EmulatorControlError) as refused:
        spd_mock_aws.configure(no_such_setting=1)
    assert refused.value.status == 400

    spd_mock_aws.reset()
    assert spd_mock_aws.processors() == []
    assert spd_mock_aws.stats()["calls"] == {}


def test_importing_the_plugin_imports_neither_moto_nor_boto3() -> None:
    code = (
        "import sys, spd.emulator.pytest_plugin; "
        "loaded = sorted(m for m in ('moto', 'boto3', 'werkzeug', 'regex') if m in sys.modules); "
        "assert not loaded, loaded"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_sessions_and_cloudtrail_events_under_mock_aws(spd_mock_aws: Any) -> None:
    """No server: the session's notification, the scripted detection and the CloudTrail events reach
    queues through moto's in-process SNS and EventBridge."""
    spd_mock_aws.configure(session_time_scale=0.05)
    sns = boto3.client("sns", region_name="us-east-1")
    sqs = boto3.client("sqs", region_name="us-east-1")
    events = boto3.client("events", region_name="us-east-1")
    topic_arn = sns.create_topic(Name="porch")["TopicArn"]
    results = sqs.create_queue(QueueName="results")["QueueUrl"]
    watch = sqs.create_queue(QueueName="watch")["QueueUrl"]

    def arn(url: str) -> str:
        return str(
            sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        )

    sns.subscribe(TopicArn=topic_arn, Protocol="sqs", Endpoint=arn(results))
    events.put_rule(Name="calls", EventPattern='{"source": ["aws.rekognition"]}')
    events.put_targets(Rule="calls", Targets=[{"Id": "watch", "Arn": arn(watch)}])
    rekognition = boto3.client("rekognition", region_name="us-east-1", config=NO_RETRIES)
    request = {
        "Name": "porch",
        "Input": {"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/porch/1"}},
        "Output": {"S3Destination": {"Bucket": "porch-results"}},
        "NotificationChannel": {"SNSTopicArn": topic_arn},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
        "Settings": {"ConnectedHome": {"Labels": ["PERSON"]}},
    }
    spd_mock_aws.create_references(request)
    rekognition.create_stream_processor(**request)
    spd_mock_aws.detections("porch", [{"name": "PERSON", "confidence": 90, "offset_ms": 100}])
    session_id = rekognition.start_stream_processor(
        Name="porch",
        StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1_700_000_000_000}},
        StopSelector={"MaxDurationInSeconds": 1},
    )["SessionId"]
    kinds: list[str] = []
    deadline = time.monotonic() + 10
    while len(kinds) < 2 and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=results, MaxNumberOfMessages=10).get("Messages", []):
            body = json.loads(json.loads(message["Body"])["Message"])
            assert body["sessionId"] == session_id
            kinds.append(body["eventNamespace"]["type"])
        time.sleep(0.02)
    assert kinds == ["LABEL_DETECTED", "STREAM_PROCESSING_COMPLETE"]
    calls = sqs.receive_message(QueueUrl=watch, MaxNumberOfMessages=10).get("Messages", [])
    names = sorted(json.loads(message["Body"])["detail"]["eventName"] for message in calls)
    assert names == ["CreateStreamProcessor", "StartStreamProcessor"]


@pytest.mark.usefixtures("installed")
def test_references_are_strict_under_mock_aws_by_default() -> None:
    """`install()` serves the same emulator, so a processor whose role does not exist fails at Start."""
    with mock_aws():
        rekognition = boto3.client("rekognition", region_name="us-east-1", config=NO_RETRIES)
        assert mock.emulator().config()["strict_references"] is True
        mock.emulator().configure(transition_seconds=0.05)
        rekognition.create_stream_processor(**_request("lobby"))
        rekognition.start_stream_processor(Name="lobby")
        _wait_status(rekognition, "lobby", "FAILED")
        assert rekognition.describe_stream_processor(Name="lobby")["StatusMessage"] == "Access denied to Role"
