"""CloudTrail events as an EventBridge rule delivers them to SQS, built by hand for tests and benchmarks,
and the rule itself, for tests that let the emulator emit its own.

The shape is that of Rekognition's "AWS API Call via CloudTrail" events: what `spd.events.watch_events` reads.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

ACCOUNT = "123456789012"
RULE_PATTERN = {"source": ["aws.rekognition"], "detail-type": ["AWS API Call via CloudTrail"]}
"""The EventBridge pattern the watch set-up of docs/guides/watching.md uses."""


def rule_fed_queue(
    emu: Any, name: str = "spd-watch", region: str = "us-east-1", *, visibility_timeout: int = 30
) -> str:
    """An SQS queue that an EventBridge rule (RULE_PATTERN, default bus) feeds; its URL.

    With it the events are the emulator's own: it puts one on the bus for every mutating call it serves.
    `visibility_timeout` (SQS's default, 30 s) is how long a message received and not deleted stays
    hidden: a daemon stopped during its long poll can take one with it, as on AWS, and a standby
    reading the same queue sees it again only then.
    """
    sqs = emu.client(region, "sqs")
    attributes = {"VisibilityTimeout": str(visibility_timeout)}
    url: str = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events = emu.client(region, "events")
    events.put_rule(Name=name, EventPattern=json.dumps(RULE_PATTERN))
    events.put_targets(Rule=name, Targets=[{"Id": "queue", "Arn": arn}])
    return url


def call_event(
    event_name: str,
    processor: str,
    *,
    user_agent: str,
    region: str = "us-east-1",
    account: str = ACCOUNT,
    by_arn: bool = False,
) -> dict[str, Any]:
    """The EventBridge event for one successful call naming `processor` (by ARN for tag calls)."""
    arn = f"arn:aws:rekognition:{region}:{account}:streamprocessor/{processor}"
    params = {"resourceArn": arn} if by_arn else {"name": processor}
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.rekognition",
        "account": account,
        "time": "2026-01-01T00:00:00Z",
        "region": region,
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "eventTime": "2026-01-01T00:00:00Z",
            "eventSource": "rekognition.amazonaws.com",
            "eventName": event_name,
            "awsRegion": region,
            "sourceIPAddress": "127.0.0.1",
            "userAgent": user_agent,
            "requestParameters": params,
            "responseElements": None,
            "eventID": str(uuid.uuid4()),
            "readOnly": False,
            "eventType": "AwsApiCall",
            "managementEvent": True,
            "recipientAccountId": account,
        },
    }


def body(event: dict[str, Any]) -> str:
    return json.dumps(event)


def user_agent_of(client: Any) -> str:
    """The User-Agent header `client` sends (what CloudTrail records as `userAgent`)."""
    seen: list[str] = []

    def capture(request: Any, **_: Any) -> None:
        value = request.headers["User-Agent"]
        seen.append(value.decode() if isinstance(value, bytes) else str(value))

    client.meta.events.register("before-send", capture)
    try:
        client.list_stream_processors(MaxResults=1)
    finally:
        client.meta.events.unregister("before-send", capture)
    return seen[-1]
