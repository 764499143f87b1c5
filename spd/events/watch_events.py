"""Reading "AWS API Call via CloudTrail" events, as EventBridge delivers them to an SQS queue.

Called by the daemon's watch (`spd.daemon.watch`) for every message of `watch_queue_url`. Pure: a message
body in, a `CallEvent` (or a `MalformedEvent` saying what is wrong) out, and the one rule that decides
whether an event can concern a stream processor at all. The body of such a message is the EventBridge
event itself, e.g.::

    {"source": "aws.rekognition", "detail-type": "AWS API Call via CloudTrail", "region": "us-east-1",
     "detail": {"eventSource": "rekognition.amazonaws.com", "eventName": "UpdateStreamProcessor",
                "awsRegion": "us-east-1", "recipientAccountId": "123456789012",
                "userAgent": "Boto3/1.35 ...", "requestParameters": {"name": "lobby"}}}

TagResource and UntagResource name the processor by ARN (`requestParameters.resourceArn`).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from spd.api.rules import MUTATING_STREAM_PROCESSOR_OPERATIONS
from spd.arn import parse_arn
from spd.model import AMBIENT_TARGET, DesiredState, ProcessorId

WATCH_EVENT = "watch_event"
"""The daemon's log event for every message read from the watch queue."""

DETAIL_TYPE = "AWS API Call via CloudTrail"
SOURCE = "aws.rekognition"
EVENT_SOURCE = "rekognition.amazonaws.com"

CHANGING_CALLS = MUTATING_STREAM_PROCESSOR_OPERATIONS
"""The calls that can make a stream processor differ from its spec."""

BY_ARN = frozenset({"TagResource", "UntagResource"})


class MalformedEvent(ValueError):
    """A message that is not a CloudTrail event as EventBridge sends it; the text says what is wrong."""


@dataclass(frozen=True, slots=True)
class CallEvent:
    """One recorded API call: who made it, what it was, and the processor it named (if any)."""

    event_name: str
    region: str
    user_agent: str
    processor: str | None
    """The processor's name; None when the call names no stream processor (a collection's tags...)."""
    account: str | None = None
    error_code: str | None = None
    event_id: str | None = None

    @property
    def id(self) -> ProcessorId | None:
        return ProcessorId(self.region, self.processor) if self.processor is not None else None

    def processor_id(self, desired: DesiredState) -> ProcessorId | None:
        """The processor the call named, under the spec's target for the call's account and region.

        Names are unique per account and region, so the event's account (`recipientAccountId`) picks
        the target: the spec's processor of that name whose target is in that account, else (for
        pruning) the first declared target that covers the account and region, else the ambient one.
        """
        if self.processor is None:
            return None
        for wanted in desired.processors:
            pid = wanted.id
            if pid.region != self.region or pid.name != self.processor:
                continue
            target = desired.target(pid.target)
            if target is None or self.account is None or target.account_id in (None, self.account):
                return pid
        for target in desired.targets:
            if target.account_id == self.account and self.region in target.regions:
                return ProcessorId(self.region, self.processor, target.name)
        return ProcessorId(self.region, self.processor, AMBIENT_TARGET)


def parse_message(body: str) -> CallEvent:
    """The call an SQS message body records; `MalformedEvent` for anything else."""
    try:
        event = json.loads(body)
    except RecursionError:
        raise MalformedEvent("JSON nested too deeply") from None
    except ValueError as exc:  # not JSON, not UTF-8, an integer past Python's digit limit
        raise MalformedEvent(f"not JSON: {exc}") from None
    if not isinstance(event, dict):
        raise MalformedEvent("not a JSON object")
    detail = event.get("detail")
    if not isinstance(detail, dict):
        raise MalformedEvent("no `detail` object: not an EventBridge event")
    name = _text(detail, "eventName")
    region = _optional_text(detail, "awsRegion") or _optional_text(event, "region")
    if region is None:
        raise MalformedEvent("neither `detail.awsRegion` nor `region` is set")
    source = _optional_text(event, "source")
    event_source = _optional_text(detail, "eventSource")
    if source != SOURCE and event_source != EVENT_SOURCE:
        # Another service's call (a rule matching too broadly): well formed, but not about processors.
        return CallEvent(name, region, _optional_text(detail, "userAgent") or "", None)
    params = detail.get("requestParameters")
    if params is not None and not isinstance(params, dict):
        raise MalformedEvent("`detail.requestParameters` is not an object")
    processor = _processor(name, params or {}) if name in CHANGING_CALLS else None
    if processor is not None and processor[0] is not None:
        region = processor[0]
    return CallEvent(
        event_name=name,
        region=region,
        user_agent=_optional_text(detail, "userAgent") or "",
        processor=processor[1] if processor is not None else None,
        account=_optional_text(detail, "recipientAccountId"),
        error_code=_optional_text(detail, "errorCode"),
        event_id=_optional_text(detail, "eventID") or _optional_text(event, "id"),
    )


def ignored_reason(event: CallEvent, *, marker: str) -> str | None:
    """Why `event` needs no reconcile (None: reconcile its processor).

    `marker` is the user-agent suffix of this daemon's own calls: what it did itself is not drift.
    """
    if event.event_name not in CHANGING_CALLS:
        return "not_a_change"
    if event.error_code is not None:
        return "failed_call"  # the call changed nothing
    if event.processor is None:
        return "not_a_stream_processor"
    if marker and marker in event.user_agent:
        return "own_call"
    return None


def processor_from_arn(arn: str) -> tuple[str, str] | None:
    """(region, name) of a stream-processor ARN, None for any other resource's."""
    parts = parse_arn(arn)
    if parts is None or parts.service != "rekognition":
        return None
    kind, _, name = parts.resource.partition("/")
    if kind != "streamprocessor" or not name:
        return None
    return parts.region, name


def _processor(name: str, params: dict[str, Any]) -> tuple[str | None, str] | None:
    if name in BY_ARN:
        arn = params.get("resourceArn", params.get("ResourceArn"))
        if not isinstance(arn, str):
            raise MalformedEvent(f"{name} without a `requestParameters.resourceArn` string")
        found = processor_from_arn(arn)
        return None if found is None else (found[0] or None, found[1])
    processor = params.get("name", params.get("Name"))
    if not isinstance(processor, str) or not processor:
        raise MalformedEvent(f"{name} without a `requestParameters.name` string")
    return None, processor


def _text(data: dict[str, Any], key: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedEvent(f"`detail.{key}` is missing or not a string")
    return value


def _optional_text(data: dict[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


# sqs.<region>.amazonaws.com (and .com.cn), <region>.queue.amazonaws.com, sqs-fips.<region>...
_AWS_HOST = re.compile(r"^(?:sqs(?:-fips)?\.([a-z0-9-]+)|([a-z0-9-]+)\.queue)\.amazonaws\.com(?:\.cn)?$")


def queue_region(url: str) -> str | None:
    """The region an AWS queue URL names; None for other hosts (an emulator, a VPC endpoint...)."""
    host = (urlsplit(url).hostname or "").lower()
    match = _AWS_HOST.match(host)
    if match is None:
        return None
    return match.group(1) or match.group(2)


def queue_url_problem(url: str) -> str | None:
    """Why `url` is not an SQS queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`)."""
    expected = "expected an SQS queue URL, e.g. https://sqs.us-east-1.amazonaws.com/123456789012/spd-watch"
    try:
        parts = urlsplit(url)
    except ValueError:
        return f"{url!r}: {expected}"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"{url!r}: {expected}"
    if parts.query or parts.fragment or "@" in parts.netloc:
        return f"{url!r}: a queue URL has no query, fragment or user name; {expected}"
    segments = [s for s in parts.path.split("/") if s]
    if len(segments) != 2 or not re.fullmatch(r"\d{12}", segments[0]):
        return f"{url!r}: the path must be /<12-digit account>/<queue name>; {expected}"
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,80}(?:\.fifo)?", segments[1]):
        return f"{url!r}: {segments[1]!r} is not a queue name (letters, digits, - and _, up to 80)"
    return None
