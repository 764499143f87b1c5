"""The notifications a connected-home processor publishes to its SNS topic, read from an SQS message.

Pure (no I/O): the results-queue reader hands each SQS message body here and stores what comes back in
the ledger (`spd.sessions.ledger`). Two kinds matter, in the developer guide's format ("Analyzing label
detection results"): `LABEL_DETECTED` (the first sighting of each label in a session) and
`STREAM_PROCESSING_COMPLETE` (the end-of-session summary, with the processed video duration in
`processedVideoDurationMillis`). The SQS body is SNS's envelope, whose `Message` is the notification
as a JSON string; a queue subscribed with raw message delivery gets the notification itself, which is
read too. Anything else is `MalformedNotification`: the reader logs it and deletes the message, since
no retry will make it readable.

Numbers are bounded here, where they are read: a value that is not finite (JSON's `Infinity`, `NaN`)
or outside its range (`PROCESSED_MILLIS_MAX`, `CONFIDENCE_MAX`) is dropped, never clamped (a clamped
duration would count video seconds that never were), and named in `Notification.dropped` for the
reader to log. The rest of the notification is kept: a completion whose duration was dropped still
closes its session, which then counts its requested seconds against the budget. So everything
`parse_notification` returns can be stored (SQLite's INTEGER holds 64 bits; Python's int does not stop).
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from spd.errors import SpdError

PROCESSED_MILLIS_MAX = 86_400_000
"""The longest video duration or frame offset believed, in milliseconds: a day. A session lasts at most
its MaxDurationInSeconds (120 s today); a day leaves room for any longer limit to come."""
CONFIDENCE_MAX = 100.0
"""Confidence is a percentage."""


class NotificationType(StrEnum):
    LABEL_DETECTED = "LABEL_DETECTED"
    STREAM_PROCESSING_COMPLETE = "STREAM_PROCESSING_COMPLETE"


class MalformedNotification(SpdError):
    """A message that is not a stream processor's notification in the documented format."""


@dataclass(frozen=True, slots=True)
class DetectedLabel:
    name: str
    confidence: float | None = None
    offset_ms: int | None = None
    """Where in the session's video it was seen (`frameOffsetMillis`), when the service says."""


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification: `event_id` makes a redelivered one recognisable."""

    type: NotificationType
    session_id: str
    event_id: str
    labels: tuple[DetectedLabel, ...] = ()
    processed_video_millis: int | None = None
    processor: str | None = None
    """The processor's name, from the echoed start request, when present."""
    dropped: tuple[str, ...] = ()
    """Values left out because they were not finite or out of range, each saying which and why."""

    @property
    def processed_seconds(self) -> float | None:
        return None if self.processed_video_millis is None else self.processed_video_millis / 1000


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except RecursionError:
            raise MalformedNotification(f"{what} is JSON nested too deeply") from None
        except ValueError as exc:  # not JSON; an integer past Python's digit limit
            raise MalformedNotification(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise MalformedNotification(f"{what} is not a JSON object")
    return value


class _Bounds:
    """Reads numbers within a range, noting each one left out (`Notification.dropped`)."""

    def __init__(self) -> None:
        self.dropped: list[str] = []

    def number(self, value: Any, what: str, high: float) -> float | None:
        """`value` as a float in [0, high]; None if absent or not a number; None (noted) if out of range."""
        if isinstance(value, bool) or not isinstance(value, int | float):
            return None
        if isinstance(value, int):
            if 0 <= value <= high:
                return float(value)
            shown = str(value) if value.bit_length() <= 64 else f"a {value.bit_length()}-bit integer"
        else:
            if math.isfinite(value) and 0 <= value <= high:
                return value
            shown = repr(value)
        self.dropped.append(f"{what} {shown} is not within 0..{high:g}: left out")
        return None


def parse_notification(body: str | bytes) -> Notification:
    """The notification in an SQS message body (SNS envelope or raw); `MalformedNotification` if none."""
    if isinstance(body, bytes):
        try:
            body = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MalformedNotification(f"the message is not UTF-8: {exc}") from None
    outer = _object(body, "the message")
    envelope_id = outer.get("MessageId")
    message = _object(outer["Message"], "the SNS Message") if "Message" in outer else outer
    namespace = message.get("eventNamespace")
    kind = namespace.get("type") if isinstance(namespace, Mapping) else None
    try:
        notification_type = NotificationType(str(kind))
    except ValueError:
        raise MalformedNotification(
            f"eventNamespace.type is {json.dumps(kind)}; expected LABEL_DETECTED or STREAM_PROCESSING_COMPLETE"
        ) from None
    session_id = message.get("sessionId")
    if not isinstance(session_id, str) or not session_id:
        raise MalformedNotification("the notification has no sessionId")
    event_id = message.get("eventId", envelope_id)
    if not isinstance(event_id, str) or not event_id:
        raise MalformedNotification("the notification has no eventId (and the envelope no MessageId)")
    request = message.get("startStreamProcessorRequest")
    processor = None
    if isinstance(request, Mapping):
        name = request.get("Name", request.get("name"))
        processor = name if isinstance(name, str) else None
    bounds = _Bounds()
    if notification_type is NotificationType.LABEL_DETECTED:
        labels = _labels(message.get("labels"), bounds)
        return Notification(
            notification_type,
            session_id,
            event_id,
            labels=labels,
            processor=processor,
            dropped=tuple(bounds.dropped),
        )
    millis = _processed_millis(message, bounds)
    return Notification(
        notification_type,
        session_id,
        event_id,
        processed_video_millis=millis,
        processor=processor,
        dropped=tuple(bounds.dropped),
    )


def _labels(value: Any, bounds: _Bounds) -> tuple[DetectedLabel, ...]:
    if not isinstance(value, list) or not value:
        raise MalformedNotification("a LABEL_DETECTED notification needs a non-empty labels list")
    labels: list[DetectedLabel] = []
    for item in value:
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise MalformedNotification("every label needs a name")
        mapping = item.get("videoMapping", {})
        kvs = mapping.get("kinesisVideoMapping", {}) if isinstance(mapping, Mapping) else {}
        offset = kvs.get("frameOffsetMillis") if isinstance(kvs, Mapping) else None
        offset_ms = bounds.number(offset, f"{name}: frameOffsetMillis", PROCESSED_MILLIS_MAX)
        confidence = bounds.number(item.get("confidence"), f"{name}: confidence", CONFIDENCE_MAX)
        labels.append(DetectedLabel(name, confidence, None if offset_ms is None else int(offset_ms)))
    return tuple(labels)


def _processed_millis(message: Mapping[str, Any], bounds: _Bounds) -> int | None:
    """`processedVideoDurationMillis`: under `inputInformation.kinesisVideo` in the developer guide's
    format, read from `streamProcessingResults` too. None when the number given is out of range
    (noted in `bounds`); `MalformedNotification` when there is no number at all."""
    for parent, child in (("inputInformation", "kinesisVideo"), ("streamProcessingResults", None)):
        node: Any = message.get(parent)
        if child is not None and isinstance(node, Mapping):
            node = node.get(child)
        if not isinstance(node, Mapping):
            continue
        value = node.get("processedVideoDurationMillis")
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        millis = bounds.number(value, "processedVideoDurationMillis", PROCESSED_MILLIS_MAX)
        return None if millis is None else int(millis)
    raise MalformedNotification(
        "a STREAM_PROCESSING_COMPLETE notification needs processedVideoDurationMillis (a number)"
    )
