"""Notifications as a connected-home processor publishes them and SQS delivers them, for tests."""

from __future__ import annotations

import json
from typing import Any

STREAM = "arn:aws:kinesisvideo:us-east-1:111122223333:stream/porch/1700000000001"


def label_message(session: str, event: str, *names: str) -> dict[str, Any]:
    return {
        "inputInformation": {"kinesisVideo": {"streamArn": STREAM}},
        "eventNamespace": {"type": "LABEL_DETECTED"},
        "labels": [
            {
                "id": f"{event}-{i}",
                "name": name,
                "confidence": 91.5,
                "frameImageUri": "s3://spd-results/porch/frame.jpg",
                "videoMapping": {"kinesisVideoMapping": {"fragmentNumber": "1", "frameOffsetMillis": 1200}},
            }
            for i, name in enumerate(names)
        ],
        "eventId": event,
        "tags": {},
        "sessionId": session,
        "startStreamProcessorRequest": {"Name": "porch"},
    }


def complete_message(session: str, event: str, millis: int) -> dict[str, Any]:
    return {
        "inputInformation": {"kinesisVideo": {"streamArn": STREAM, "processedVideoDurationMillis": millis}},
        "eventNamespace": {"type": "STREAM_PROCESSING_COMPLETE"},
        "streamProcessingResults": {"message": "ok"},
        "eventId": event,
        "tags": {},
        "sessionId": session,
        "startStreamProcessorRequest": {"Name": "porch"},
    }


def sns(message: dict[str, Any], message_id: str = "sns-1") -> str:
    """An SQS body as an SNS subscription delivers it: the notification as a JSON string in Message."""
    return json.dumps(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": "arn:aws:sns:us-east-1:111122223333:AmazonRekognitionSpd",
            "Subject": "Rekognition Stream Processing Event",
            "Message": json.dumps(message),
            "Timestamp": "2026-11-26T12:00:30.000Z",
        }
    )
