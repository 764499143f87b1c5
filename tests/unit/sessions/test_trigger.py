"""Trigger bodies: every bad input refused with its reason, good ones resolved against the spec."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from builders import desired, face_config, home_config, state
from spd.model import FragmentNumber, ProcessorId, ProducerTimestamp, SessionPolicy
from spd.sessions.trigger import (
    FRAGMENT_MAX_LENGTH,
    RefusalReason,
    TriggerRefused,
    TriggerSource,
    parse_trigger,
    session_request,
)

NOW_MS = 1_764_000_000_000
PORCH = replace(
    desired(home_config("porch")), sessions=SessionPolicy(max_duration_seconds=30, budget_seconds_per_day=600)
)
LOBBY = desired(face_config("lobby"))
EU_PORCH = replace(desired(home_config("porch", region="eu-west-1")), sessions=SessionPolicy())
SPEC = state(PORCH, LOBBY)


def request(body: Any, spec: Any = SPEC) -> Any:
    return session_request(body, spec, source=TriggerSource.HTTP, arrival_ms=NOW_MS)


BAD = [
    ("not json", b"{processor: porch", RefusalReason.MALFORMED, "not JSON"),
    ("not an object", "[1, 2]", RefusalReason.MALFORMED, "JSON object, got list"),
    ("null", "null", RefusalReason.MALFORMED, "got null"),
    ("unknown key", {"processor": "porch", "duration": 5}, RefusalReason.MALFORMED, "unknown key duration"),
    ("no processor", {"region": "us-east-1"}, RefusalReason.MALFORMED, "processor"),
    ("processor not a string", {"processor": 7}, RefusalReason.MALFORMED, "processor"),
    (
        "target not a string",
        {"processor": "porch", "target": 7},
        RefusalReason.MALFORMED,
        "target must be a string",
    ),
    (
        "unknown target",
        {"processor": "porch", "target": "lab"},
        RefusalReason.UNKNOWN_PROCESSOR,
        "in lab in stack",
    ),
    ("unknown processor", {"processor": "garage"}, RefusalReason.UNKNOWN_PROCESSOR, "no processor 'garage'"),
    (
        "wrong region",
        {"processor": "porch", "region": "eu-west-1"},
        RefusalReason.UNKNOWN_PROCESSOR,
        "eu-west-1",
    ),
    ("face search", {"processor": "lobby"}, RefusalReason.FACE_SEARCH, "face_search"),
    (
        "seconds",
        {"processor": "porch", "producer_timestamp_ms": 1_764_000_000},
        RefusalReason.SECONDS_TIMESTAMP,
        "looks like seconds, the API wants milliseconds",
    ),
    (
        "negative",
        {"processor": "porch", "producer_timestamp_ms": -1},
        RefusalReason.SECONDS_TIMESTAMP,
        "negative",
    ),
    ("float ts", {"processor": "porch", "producer_timestamp_ms": 1.5e12}, RefusalReason.MALFORMED, "integer"),
    ("bool ts", {"processor": "porch", "producer_timestamp_ms": True}, RefusalReason.MALFORMED, "integer"),
    (
        "both selectors",
        {"processor": "porch", "producer_timestamp_ms": NOW_MS, "fragment_number": "1"},
        RefusalReason.BOTH_SELECTORS,
        "not both",
    ),
    (
        "fragment letters",
        {"processor": "porch", "fragment_number": "12a"},
        RefusalReason.BAD_FRAGMENT,
        "digits",
    ),
    ("fragment empty", {"processor": "porch", "fragment_number": ""}, RefusalReason.BAD_FRAGMENT, "digits"),
    (
        "fragment unicode digits",
        {"processor": "porch", "fragment_number": "١٢٣"},
        RefusalReason.BAD_FRAGMENT,
        "digits",
    ),
    (
        "fragment a number",
        {"processor": "porch", "fragment_number": 123},
        RefusalReason.BAD_FRAGMENT,
        "quote it",
    ),
    (
        "fragment too long",
        {"processor": "porch", "fragment_number": "9" * (FRAGMENT_MAX_LENGTH + 1)},
        RefusalReason.BAD_FRAGMENT,
        "digits",
    ),
    (
        "duration 0",
        {"processor": "porch", "max_duration_seconds": 0},
        RefusalReason.BAD_DURATION,
        "between 1 and 120",
    ),
    (
        "duration 121",
        {"processor": "porch", "max_duration_seconds": 121},
        RefusalReason.BAD_DURATION,
        "between 1 and 120",
    ),
    (
        "duration text",
        {"processor": "porch", "max_duration_seconds": "30"},
        RefusalReason.MALFORMED,
        "integer",
    ),
]


@pytest.mark.parametrize(("body", "reason", "words"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_triggers_are_refused_with_their_reason(body: Any, reason: RefusalReason, words: str) -> None:
    with pytest.raises(TriggerRefused) as refused:
        request(body)
    assert refused.value.reason is reason
    assert words in refused.value.message
    assert reason.bad_input
    assert not refused.value.temporary


def test_no_selector_starts_at_the_arrival_time_for_the_spec_duration() -> None:
    got = request('{"processor": "porch"}')
    assert got.processor == ProcessorId("us-east-1", "porch")
    assert got.selector == ProducerTimestamp(NOW_MS)
    assert got.max_duration_seconds == 30
    assert got.budget_seconds_per_day == 600
    assert got.source is TriggerSource.HTTP


def test_selectors_and_duration_from_the_trigger() -> None:
    got = request(
        {"processor": "porch", "fragment_number": "91343852333181432392682062622220590765191907586"}
    )
    assert got.selector == FragmentNumber("91343852333181432392682062622220590765191907586")
    got = request({"processor": "porch", "producer_timestamp_ms": NOW_MS - 5000, "max_duration_seconds": 120})
    assert (got.selector, got.max_duration_seconds) == (ProducerTimestamp(NOW_MS - 5000), 120)


def test_a_name_in_two_regions_needs_the_region() -> None:
    spec = state(PORCH, EU_PORCH)
    with pytest.raises(TriggerRefused) as refused:
        request({"processor": "porch"}, spec)
    assert refused.value.reason is RefusalReason.AMBIGUOUS_PROCESSOR
    assert request({"processor": "porch", "region": "eu-west-1"}, spec).processor.region == "eu-west-1"


def test_a_name_in_two_targets_needs_the_target() -> None:
    """Names are unique per target and region: the same name and region in two accounts."""
    in_target = {t: replace(PORCH, target=t) for t in ("alpha", "beta")}
    spec = state(*in_target.values())
    with pytest.raises(TriggerRefused) as refused:
        request({"processor": "porch", "region": "us-east-1"}, spec)
    assert refused.value.reason is RefusalReason.AMBIGUOUS_PROCESSOR
    assert "exists in alpha/us-east-1, beta/us-east-1; give target" in refused.value.message
    got = request({"processor": "porch", "target": "beta"}, spec)
    assert got.processor == ProcessorId("us-east-1", "porch", "beta")


def test_parse_alone_reads_every_key() -> None:
    trigger = parse_trigger(
        b'{"processor": "porch", "region": "us-east-1", "fragment_number": "7", "max_duration_seconds": 5}'
    )
    assert (trigger.processor, trigger.region, trigger.fragment_number, trigger.max_duration_seconds) == (
        "porch",
        "us-east-1",
        "7",
        5,
    )
