"""Every successful mutating stream-processor call leaves an "AWS API Call via CloudTrail" event on moto's
default EventBridge bus, so a rule with an SQS target delivers it; reads and refused calls leave none."""

from __future__ import annotations

import json
import time
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from cloudtrail import rule_fed_queue
from spd.emulator.testing import DUMMY_CREDENTIALS, EmulatorProcess

ACCOUNT = "123456789012"
AGENT_SUFFIX = "spd-watch-test/1.0"


def _rekognition(emu: EmulatorProcess, region: str = "us-east-1") -> Any:
    return boto3.session.Session(region_name=region, **DUMMY_CREDENTIALS).client(
        "rekognition",
        endpoint_url=emu.url,
        config=Config(user_agent_extra=AGENT_SUFFIX, retries={"total_max_attempts": 1}),
    )


def _drain(emu: EmulatorProcess, queue_url: str, region: str = "us-east-1") -> list[dict[str, Any]]:
    sqs = emu.client(region, "sqs")
    found: list[dict[str, Any]] = []
    while True:
        received = sqs.receive_message(QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=0)
        messages = received.get("Messages", [])
        if not messages:
            return found
        for message in messages:
            found.append(json.loads(message["Body"]))
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])


def _request(name: str = "porch") -> dict[str, Any]:
    return {
        "Name": name,
        "Input": {"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/{name}/1"}},
        "Output": {"S3Destination": {"Bucket": "porch-results"}},
        "NotificationChannel": {"SNSTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:porch"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
        "Settings": {"ConnectedHome": {"Labels": ["PERSON"]}},
    }


def test_each_mutating_call_is_delivered_with_the_callers_user_agent(emu: EmulatorProcess) -> None:
    emu.configure(session_time_scale=0.01)
    queue_url = rule_fed_queue(emu)
    rekognition = _rekognition(emu)
    arn = rekognition.create_stream_processor(**_request())["StreamProcessorArn"]
    rekognition.describe_stream_processor(Name="porch")
    rekognition.list_stream_processors()
    rekognition.list_tags_for_resource(ResourceArn=arn)
    rekognition.update_stream_processor(
        Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"MinConfidence": 70}}
    )
    time.sleep(0.1)  # UPDATING lasts 0.05 s
    session_id = rekognition.start_stream_processor(
        Name="porch",
        StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1_700_000_000_000}},
        StopSelector={"MaxDurationInSeconds": 1},
    )["SessionId"]
    rekognition.tag_resource(ResourceArn=arn, Tags={"team": "doors"})
    rekognition.untag_resource(ResourceArn=arn, TagKeys=["team"])
    time.sleep(0.1)  # the session (10 ms) is over
    rekognition.delete_stream_processor(Name="porch")

    events = _drain(emu, queue_url)
    names = [event["detail"]["eventName"] for event in events]
    assert names == [
        "CreateStreamProcessor",
        "UpdateStreamProcessor",
        "StartStreamProcessor",
        "TagResource",
        "UntagResource",
        "DeleteStreamProcessor",
    ]
    for event in events:
        assert event["source"] == "aws.rekognition"
        assert event["detail-type"] == "AWS API Call via CloudTrail"
        # (moto's SQS target drops the envelope's "account"; the detail carries recipientAccountId)
        assert event["region"] == "us-east-1"
        detail = event["detail"]
        assert detail["eventSource"] == "rekognition.amazonaws.com"
        assert AGENT_SUFFIX in detail["userAgent"]
        assert detail["userAgent"].startswith("Boto3/")
        assert detail["awsRegion"] == "us-east-1"
        assert detail["recipientAccountId"] == ACCOUNT
        assert detail["eventTime"].endswith("Z")
        assert detail["readOnly"] is False
        assert detail["userIdentity"] == {"type": "IAMUser", "accountId": ACCOUNT, "accessKeyId": "testing"}
        assert detail["eventType"] == "AwsApiCall"
    by_name = {event["detail"]["eventName"]: event["detail"] for event in events}
    assert by_name["CreateStreamProcessor"]["requestParameters"]["name"] == "porch"
    assert by_name["CreateStreamProcessor"]["responseElements"] == {"streamProcessorArn": arn}
    assert by_name["StartStreamProcessor"]["requestParameters"]["name"] == "porch"
    assert by_name["StartStreamProcessor"]["responseElements"] == {"sessionId": session_id}
    assert by_name["TagResource"]["requestParameters"] == {"resourceArn": arn, "tags": {"team": "doors"}}
    assert by_name["UntagResource"]["requestParameters"] == {"resourceArn": arn, "tagKeys": ["team"]}
    assert by_name["DeleteStreamProcessor"]["requestParameters"] == {"name": "porch"}
    assert by_name["DeleteStreamProcessor"]["responseElements"] is None


def test_stop_is_delivered(emu: EmulatorProcess) -> None:
    queue_url = rule_fed_queue(emu)
    rekognition = _rekognition(emu)
    request = {
        "Name": "lobby",
        "Input": {"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/lobby/1"}},
        "Output": {"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/lobby"}},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
        "Settings": {"FaceSearch": {"CollectionId": "staff"}},
    }
    emu.create_references(request)
    rekognition.create_stream_processor(**request)
    rekognition.start_stream_processor(Name="lobby")
    time.sleep(0.1)
    rekognition.stop_stream_processor(Name="lobby")
    names = [event["detail"]["eventName"] for event in _drain(emu, queue_url)]
    assert names == ["CreateStreamProcessor", "StartStreamProcessor", "StopStreamProcessor"]


def test_refused_and_read_calls_leave_no_event(emu: EmulatorProcess) -> None:
    queue_url = rule_fed_queue(emu)
    rekognition = _rekognition(emu)
    with pytest.raises(ClientError):
        rekognition.delete_stream_processor(Name="nobody")
    with pytest.raises(ClientError):
        rekognition.start_stream_processor(Name="nobody")
    emu.fault("CreateStreamProcessor", "ThrottlingException", count=1)
    with pytest.raises(ClientError):
        rekognition.create_stream_processor(**_request())
    rekognition.list_stream_processors()
    assert _drain(emu, queue_url) == []


def test_events_stay_in_their_region(emu: EmulatorProcess) -> None:
    east = rule_fed_queue(emu)
    west = rule_fed_queue(emu, region="us-west-2")
    _rekognition(emu, "us-west-2").create_stream_processor(**_request())
    assert _drain(emu, east, "us-east-1") == []
    (event,) = _drain(emu, west, "us-west-2")
    assert event["detail"]["awsRegion"] == "us-west-2"
    assert event["region"] == "us-west-2"


def test_without_eventbridge_calls_work_as_before(emu: EmulatorProcess) -> None:
    rekognition = _rekognition(emu)
    rekognition.create_stream_processor(**_request())
    assert rekognition.describe_stream_processor(Name="porch")["Status"] == "STOPPED"
