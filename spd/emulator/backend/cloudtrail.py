"""CloudTrail's record of a stream-processor call, as EventBridge delivers it ("AWS API Call via CloudTrail").

AWS records every management call in CloudTrail, and EventBridge puts the mutating ones on the account's
default bus in that region, where a rule (source `aws.rekognition`, detail-type "AWS API Call via
CloudTrail") can send them to an SQS queue. spd's daemon watches such a queue to repair drift within
seconds, so the emulator emits the same events for every successful mutating stream-processor call,
through moto's EventBridge in the same process (`spd.emulator.moto_services.delivery`); reads emit nothing, like
EventBridge, which does not deliver read-only calls.

`detail` follows CloudTrail's record: `eventSource` `rekognition.amazonaws.com`, `eventName` the
operation, `requestParameters` the request's top-level members with their first letter lower-cased
(`name`, or `resourceArn` for the tagging calls, ...), `responseElements` likewise (null for empty
answers), `userAgent` the request's User-Agent header as sent (where a caller's own suffix shows),
`eventTime` ISO 8601 UTC to the second, `awsRegion`, `recipientAccountId`.

Called by `spd.emulator.http.responses` after the call succeeded.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from typing import Any

from spd.api.rules import MUTATING_STREAM_PROCESSOR_OPERATIONS
from spd.emulator.moto_services import delivery

__all__ = ["DETAIL_TYPE", "EVENT_SOURCE", "MUTATING_OPERATIONS", "SOURCE", "api_call_detail", "emit"]

SOURCE = "aws.rekognition"
DETAIL_TYPE = "AWS API Call via CloudTrail"
EVENT_SOURCE = "rekognition.amazonaws.com"

MUTATING_OPERATIONS = MUTATING_STREAM_PROCESSOR_OPERATIONS
"""The calls that leave a CloudTrail event on the bus (the stream-processor writes)."""


def _lower_first(key: str) -> str:
    return key[:1].lower() + key[1:]


def _elements(members: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not members:
        return None
    return {_lower_first(key): value for key, value in members.items()}


def api_call_detail(
    operation: str,
    request: Mapping[str, Any],
    response: Mapping[str, Any] | None,
    *,
    account: str,
    region: str,
    user_agent: str,
    access_key_id: str | None,
    request_id: str,
    source_ip: str,
    now: float,
) -> dict[str, Any]:
    """The `detail` of the event CloudTrail records for one successful call."""
    identity: dict[str, Any] = {"type": "IAMUser", "accountId": account}
    if access_key_id:
        identity["accessKeyId"] = access_key_id
    return {
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        "eventSource": EVENT_SOURCE,
        "eventName": operation,
        "awsRegion": region,
        "sourceIPAddress": source_ip,
        "userAgent": user_agent,
        "requestParameters": _elements(request),
        "responseElements": _elements(response),
        "requestID": request_id,
        "eventID": str(uuid.uuid4()),
        "readOnly": False,
        "eventType": "AwsApiCall",
        "managementEvent": True,
        "recipientAccountId": account,
        "eventCategory": "Management",
    }


def wanted() -> bool:
    """Whether an event could reach anyone (EventBridge is in use): if not, none is built."""
    return delivery.eventbridge_used()


def emit(detail: Mapping[str, Any], *, account: str, region: str) -> bool:
    """Put the event on the default bus of its account and region; False if EventBridge is unused."""
    return delivery.put_default_bus_event(account, region, SOURCE, DETAIL_TYPE, dict(detail))
