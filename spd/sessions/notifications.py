"""The notifications a connected-home processor publishes to its SNS topic, read from an SQS message.

Pure (no I/O): the results-queue reader hands each SQS message body here and stores what comes back in
the ledger (`spd.sessions.ledger`). Two kinds matter, in the developer guide's format ("Analyzing label
detection results"): `LABEL_DETECTED` (the first sighting of each label in a session) and
`STREAM_PROCESSING_COMPLETE` (the end-of-session summary, with the processed video duration in
`processedVideoDurationMillis`). The SQS body is SNS's envelope, whose `Message` is the notification
as a JSON string; a queue subscribed with raw message delivery gets the notification itself, which is
read too. Anything else is `MalformedNotification`: the reader logs it and deletes the message, since
no retry will make it readable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from spd.errors import SpdError


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

    @property
    def processed_seconds(self) -> float | None:
        return None if self.processed_video_millis is None else self.processed_video_millis / 1000


def _object(value: Any, what: str) -> Mapping[str, Any]:
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise MalformedNotification(f"{what} is not JSON: {exc}") from None
    if not isinstance(value, Mapping):
        raise MalformedNotification(f"{what} is not a JSON object")
    return value


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


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
    if notification_type is NotificationType.LABEL_DETECTED:
        return Notification(
            notification_type,
            session_id,
            event_id,
            labels=_labels(message.get("labels")),
            processor=processor,
        )
    return Notification(
        notification_type,
        session_id,
        event_id,
        processed_video_millis=_processed_millis(message),
        processor=processor,
    )


def _labels(value: Any) -> tuple[DetectedLabel, ...]:
    if not isinstance(value, list) or not value:
        raise MalformedNotification("a LABEL_DETECTED notification needs a non-empty labels list")
    labels: list[DetectedLabel] = []
    for item in value:
        name = item.get("name") if isinstance(item, Mapping) else None
        if not isinstance(name, str) or not name:
            raise MalformedNotification("every label needs a name")
        mapping = item.get("videoMapping", {})
        kvs = mapping.get("kinesisVideoMapping", {}) if isinstance(mapping, Mapping) else {}
        offset = _number(kvs.get("frameOffsetMillis")) if isinstance(kvs, Mapping) else None
        labels.append(
            DetectedLabel(name, _number(item.get("confidence")), None if offset is None else int(offset))
        )
    return tuple(labels)


def _processed_millis(message: Mapping[str, Any]) -> int:
    """`processedVideoDurationMillis`: under `inputInformation.kinesisVideo` in the developer guide's
    format, read from `streamProcessingResults` too."""
    for parent, child in (("inputInformation", "kinesisVideo"), ("streamProcessingResults", None)):
        node: Any = message.get(parent)
        if child is not None and isinstance(node, Mapping):
            node = node.get(child)
        if isinstance(node, Mapping):
            value = _number(node.get("processedVideoDurationMillis"))
            if value is not None and value >= 0:
                return int(value)
    raise MalformedNotification(
        "a STREAM_PROCESSING_COMPLETE notification needs processedVideoDurationMillis (a number)"
    )
