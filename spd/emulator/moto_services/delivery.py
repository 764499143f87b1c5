"""Hands what the emulated service emits to moto's SNS, S3 and EventBridge backends, in-process.

The emulator serves moto's services on its own port, from moto's process-wide backends, so what
Rekognition would push (session notifications to the customer's SNS topic, session summaries to the
customer's bucket, CloudTrail events to the default EventBridge bus) is handed straight to those backends:
an SQS queue subscribed to the topic, or targeted by an EventBridge rule, then receives it the way moto
delivers anything else. The same holds under moto's `mock_aws` (`spd.emulator.mock`).

Each function returns whether it delivered and never raises for a missing destination: AWS drops what
it cannot deliver without failing the call that caused it. A service nobody has used in this process has
no resources (moto imports a service's backend on its first request), so its backend is not even
imported: a Rekognition-only run stays as light as before.

Called by `spd.emulator.backend.sessions` (notifications, summaries) and `spd.emulator.http.responses` (CloudTrail).
"""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from spd.arn import parse_arn
from spd.emulator.moto_services import moto_glue

_log = logging.getLogger(__name__)

_SNS = "moto.sns.models"
_S3 = "moto.s3.models"
_EVENTS = "moto.events.models"


def publish_to_topic(topic_arn: str, subject: str, message: Any) -> bool:
    """Publish `message` (JSON-encoded) to an SNS topic, if the topic exists."""
    if _SNS not in sys.modules:
        return False
    arn = parse_arn(topic_arn)
    if arn is None or arn.service != "sns":
        return False
    sns_backends = moto_glue.sns_backends()

    region, account = arn.region, arn.account
    try:
        backend = sns_backends[account][region]
    except KeyError:
        return False
    if topic_arn not in backend.topics:
        return False
    backend.publish(json.dumps(message), arn=topic_arn, subject=subject)
    return True


def put_bucket_object(account: str, bucket: str, key: str, body: Any) -> bool:
    """Write `body` (JSON-encoded) to s3://bucket/key, if the bucket exists in that account."""
    if _S3 not in sys.modules:
        return False
    s3_backends = moto_glue.s3_backends()

    try:
        backend = s3_backends[account]["global"]
    except KeyError:
        return False
    if bucket not in backend.buckets:
        return False
    backend.put_object(bucket, key, json.dumps(body).encode())
    return True


def eventbridge_used() -> bool:
    """Whether anything has called EventBridge in this process (moto's backend is loaded on first use):
    until then there is no rule an event could match."""
    return _EVENTS in sys.modules


def put_default_bus_event(account: str, region: str, source: str, detail_type: str, detail: Any) -> bool:
    """Put one event on the default EventBridge bus of that account and region (rules deliver it)."""
    if not eventbridge_used():
        return False
    events_backends = moto_glue.events_backends()

    try:
        backend = events_backends[account][region]
    except KeyError:
        return False
    entries = backend.put_events(
        [{"Source": source, "DetailType": detail_type, "Detail": json.dumps(detail)}]
    )
    return all("EventId" in entry for entry in entries)
