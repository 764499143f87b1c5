"""The pure parsers of queue messages refuse what Python's json would choke on (a number past the digit
limit, nesting past the recursion limit) as malformed, and notifications keep only numbers that can be
stored and believed (finite, in range), naming each one left out."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ledger_messages import complete_message, label_message, sns
from spd.events.watch_events import MalformedEvent, parse_message
from spd.sessions.notifications import (
    PROCESSED_MILLIS_MAX,
    MalformedNotification,
    parse_notification,
)

BIG_INT = '{"detail": {"eventName": "UpdateStreamProcessor", "n": ' + "7" * 5000 + "}}"
NESTED = "[" * 30_000 + "]" * 30_000


@pytest.mark.parametrize(("body", "says"), [(BIG_INT, "not JSON"), (NESTED, "nested too deeply")])
def test_a_watch_message_json_cannot_read_is_malformed(body: str, says: str) -> None:
    with pytest.raises(MalformedEvent, match=says):
        parse_message(body)


@pytest.mark.parametrize(
    ("body", "says"),
    [
        (BIG_INT, "not JSON"),
        (NESTED, "nested too deeply"),
        (json.dumps({"Message": NESTED}), "nested too deeply"),
    ],
)
def test_a_notification_json_cannot_read_is_malformed(body: str, says: str) -> None:
    with pytest.raises(MalformedNotification, match=says):
        parse_notification(body)


def _completion(millis: Any) -> str:
    message = complete_message("s-1", "e-1", 0)
    message["inputInformation"]["kinesisVideo"]["processedVideoDurationMillis"] = millis
    return sns(message)


@pytest.mark.parametrize(
    "millis", [float("inf"), float("-inf"), float("nan"), 1e30, 10**400, -1, PROCESSED_MILLIS_MAX + 1]
)
def test_a_duration_out_of_range_is_dropped_and_the_completion_kept(millis: Any) -> None:
    notification = parse_notification(_completion(millis))
    assert notification.session_id == "s-1"
    assert notification.processed_video_millis is None
    (dropped,) = notification.dropped
    assert dropped.startswith("processedVideoDurationMillis ")
    assert "left out" in dropped
    assert len(dropped) < 200  # a 400-digit integer is named by its size, not written out


def test_durations_in_range_are_kept_as_they_are() -> None:
    for millis in (0, 12_500, 12_500.7, PROCESSED_MILLIS_MAX):
        notification = parse_notification(_completion(millis))
        assert notification.processed_video_millis == int(millis)
        assert notification.dropped == ()


def test_a_label_keeps_its_name_when_its_numbers_are_dropped() -> None:
    message = label_message("s-1", "e-1", "PERSON", "PET")
    message["labels"][0]["confidence"] = float("inf")
    message["labels"][0]["videoMapping"]["kinesisVideoMapping"]["frameOffsetMillis"] = 1e30
    message["labels"][1]["confidence"] = 101
    notification = parse_notification(sns(message))
    assert [(x.name, x.confidence, x.offset_ms) for x in notification.labels] == [
        ("PERSON", None, None),
        ("PET", None, 1200),
    ]
    assert len(notification.dropped) == 3
    assert any(d.startswith("PERSON: confidence inf") for d in notification.dropped)
