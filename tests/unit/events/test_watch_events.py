"""Reading CloudTrail events as EventBridge delivers them to SQS: what names a processor, what is ignored."""

from __future__ import annotations

import json

import pytest

from cloudtrail import body, call_event
from spd.events.watch_events import (
    MalformedEvent,
    ignored_reason,
    parse_message,
    processor_from_arn,
    queue_region,
    queue_url_problem,
)
from spd.model import ProcessorId

MARKER = "spd/0.1.0 spd-stack/prod"


def test_a_call_naming_a_processor():
    event = parse_message(
        body(call_event("UpdateStreamProcessor", "lobby", user_agent="Boto3/1.35", region="eu-west-1"))
    )
    assert event.id == ProcessorId("eu-west-1", "lobby")
    assert event.event_name == "UpdateStreamProcessor"
    assert event.account == "123456789012"
    assert ignored_reason(event, marker=MARKER) is None


def test_tag_calls_name_the_processor_by_arn_whose_region_wins():
    event = parse_message(
        body(call_event("UntagResource", "lobby", user_agent="x", region="ap-south-1", by_arn=True))
    )
    assert event.id == ProcessorId("ap-south-1", "lobby")
    collection = call_event("TagResource", "x", user_agent="x", by_arn=True)
    collection["detail"]["requestParameters"]["resourceArn"] = (
        "arn:aws:rekognition:us-east-1:1:collection/staff"
    )
    event = parse_message(body(collection))
    assert event.processor is None
    assert ignored_reason(event, marker=MARKER) == "not_a_stream_processor"


@pytest.mark.parametrize(
    ("user_agent", "reason"),
    [
        (f"Boto3/1.35 md/Botocore#1.35 {MARKER}", "own_call"),
        ("Boto3/1.35 md/Botocore#1.35 spd/0.1.0 spd-stack/staging", None),  # another stack's daemon
        ("aws-cli/2.15", None),
    ],
)
def test_own_calls_are_those_of_this_stack(user_agent, reason):
    event = parse_message(body(call_event("StopStreamProcessor", "lobby", user_agent=user_agent)))
    assert ignored_reason(event, marker=MARKER) == reason


def test_reads_failed_calls_and_other_services_are_not_changes():
    read = parse_message(body(call_event("DescribeStreamProcessor", "lobby", user_agent="x")))
    assert ignored_reason(read, marker=MARKER) == "not_a_change"
    failed = call_event("UpdateStreamProcessor", "lobby", user_agent="x")
    failed["detail"]["errorCode"] = "ResourceInUseException"
    assert ignored_reason(parse_message(body(failed)), marker=MARKER) == "failed_call"
    s3 = call_event("PutObject", "x", user_agent="x")
    s3["source"], s3["detail"]["eventSource"] = "aws.s3", "s3.amazonaws.com"
    assert ignored_reason(parse_message(body(s3)), marker=MARKER) == "not_a_change"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"source": "aws.rekognition"}', "no `detail` object"),
        ('{"detail": {"eventName": "UpdateStreamProcessor"}}', "awsRegion"),
        ('{"detail": {"awsRegion": "us-east-1"}}', "eventName"),
        (
            json.dumps(
                {
                    "source": "aws.rekognition",
                    "detail": {
                        "eventName": "StartStreamProcessor",
                        "awsRegion": "us-east-1",
                        "requestParameters": {},
                    },
                }
            ),
            "requestParameters.name",
        ),
        (
            json.dumps(
                {
                    "source": "aws.rekognition",
                    "detail": {
                        "eventName": "TagResource",
                        "awsRegion": "us-east-1",
                        "requestParameters": {"name": 1},
                    },
                }
            ),
            "resourceArn",
        ),
    ],
)
def test_malformed_messages_say_what_is_wrong(text, says):
    with pytest.raises(MalformedEvent, match=None) as caught:
        parse_message(text)
    assert says in str(caught.value)


def test_processor_arns():
    assert processor_from_arn("arn:aws:rekognition:us-east-1:123:streamprocessor/a/b") == ("us-east-1", "a/b")
    assert processor_from_arn("arn:aws:rekognition:us-east-1:123:collection/a") is None
    assert processor_from_arn("arn:aws:s3:::bucket") is None
    assert processor_from_arn("nonsense") is None


def test_queue_urls():
    assert queue_region("https://sqs.eu-central-1.amazonaws.com/123456789012/q") == "eu-central-1"
    assert queue_region("https://us-west-2.queue.amazonaws.com/123456789012/q") == "us-west-2"
    assert queue_region("http://127.0.0.1:5000/123456789012/q") is None
    assert queue_url_problem("https://sqs.eu-central-1.amazonaws.com/123456789012/q.fifo") is None
    assert queue_url_problem("http://127.0.0.1:5000/123456789012/spd-watch") is None
    assert "12-digit account" in (queue_url_problem("https://sqs.us-east-1.amazonaws.com/q") or "")
    assert "not a queue name" in (
        queue_url_problem("https://sqs.us-east-1.amazonaws.com/123456789012/a b") or ""
    )
    assert "expected an SQS queue URL" in (
        queue_url_problem("sqs.us-east-1.amazonaws.com/123456789012/q") or ""
    )
    assert "no query" in (queue_url_problem("https://sqs.us-east-1.amazonaws.com/123456789012/q?x=1") or "")
