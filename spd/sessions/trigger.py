"""A session trigger: its JSON body read, checked against the spec, and turned into a start request.

Pure (no I/O): every trigger source (`POST /v1/sessions`, the SQS trigger queue, `spd session start`,
a window) hands its body here and gets either a `SessionRequest` or a `TriggerRefused` naming why, so
that a bad trigger is refused the same way wherever it came from, and before any call to the service.
The constraints on the selectors and the duration are read from the API model (`spd.api`), not
restated.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from spd.api import rules
from spd.api.constraints import full_match_pattern, shape_of, value_range
from spd.errors import SpdError
from spd.model import (
    DesiredProcessor,
    DesiredState,
    FragmentNumber,
    Kind,
    ProcessorId,
    ProducerTimestamp,
    SessionPolicy,
    StartSelector,
)
from spd.spec.suggest import did_you_mean

_START = "StartStreamProcessorRequest"
_FRAGMENT = shape_of(_START, "StartSelector", "KVSStreamStartSelector", "FragmentNumber")
_TIMESTAMP = shape_of(_START, "StartSelector", "KVSStreamStartSelector", "ProducerTimestamp")
_DURATION = shape_of(_START, "StopSelector", "MaxDurationInSeconds")
_FRAGMENT_PATTERN = re.compile(full_match_pattern(_FRAGMENT))
MIN_DURATION: Final = int(_DURATION.min or 0)
MAX_DURATION: Final = int(_DURATION.max or rules.MAX_SESSION_SECONDS)
FRAGMENT_MAX_LENGTH: Final = int(_FRAGMENT.max or 0)
_TIMESTAMP_LOW, _TIMESTAMP_HIGH = value_range(_TIMESTAMP)

KEYS: Final = (
    "processor",
    "target",
    "region",
    "producer_timestamp_ms",
    "fragment_number",
    "max_duration_seconds",
)
"""The keys a trigger body may have; `processor` is the only required one."""


class TriggerSource(StrEnum):
    """Where a trigger came from (the `trigger` label of events, metrics and the ledger)."""

    HTTP = "http"
    SQS = "sqs"
    CLI = "cli"
    WINDOW = "window"


class RefusalReason(StrEnum):
    """Why a trigger was refused: the input's fault (4xx over HTTP) or the processor's state."""

    MALFORMED = "malformed"
    """Not JSON, not an object, an unknown key or a value of the wrong type."""
    UNKNOWN_PROCESSOR = "unknown_processor"
    AMBIGUOUS_PROCESSOR = "ambiguous_processor"
    FACE_SEARCH = "face_search"
    SECONDS_TIMESTAMP = "seconds_timestamp"
    BAD_TIMESTAMP = "bad_timestamp"
    """A producer timestamp beyond what the API's StartSelector holds."""
    BOTH_SELECTORS = "both_selectors"
    BAD_FRAGMENT = "bad_fragment"
    BAD_DURATION = "bad_duration"
    BUDGET = "budget"
    NOT_FOUND = "not_found"
    """The spec names it but the service does not have it (not applied yet)."""
    NOT_OWNED = "not_owned"
    """The processor does not carry this stack's `spd:stack` tag: spd never starts it."""
    SERVICE_ERROR = "service_error"
    NOT_LEADER = "not_leader"
    """This daemon may no longer act (another may hold the lease): the trigger is for the leader."""
    LEDGER_UNAVAILABLE = "ledger_unavailable"
    """The ledger cannot be written (disk full, damaged file): no session starts that it would not know."""

    @property
    def bad_input(self) -> bool:
        """True when the trigger itself is wrong (the HTTP layer answers 400), not the processor's state."""
        return self in _BAD_INPUT


_BAD_INPUT = frozenset(
    {
        RefusalReason.MALFORMED,
        RefusalReason.UNKNOWN_PROCESSOR,
        RefusalReason.AMBIGUOUS_PROCESSOR,
        RefusalReason.FACE_SEARCH,
        RefusalReason.SECONDS_TIMESTAMP,
        RefusalReason.BAD_TIMESTAMP,
        RefusalReason.BOTH_SELECTORS,
        RefusalReason.BAD_FRAGMENT,
        RefusalReason.BAD_DURATION,
    }
)


class TriggerRefused(SpdError):
    """A trigger that will not start a session, with a reason code and a sentence for the operator.

    `temporary` is true only for a service error worth trying again (throttling, 5xx): an SQS reader may
    leave such a message on the queue; every other refusal is final.
    """

    def __init__(self, reason: RefusalReason, message: str, *, temporary: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.temporary = temporary


@dataclass(frozen=True, slots=True)
class Trigger:
    """A trigger body as read: nothing looked up yet."""

    processor: str
    region: str | None = None
    producer_timestamp_ms: int | None = None
    fragment_number: str | None = None
    max_duration_seconds: int | None = None
    target: str | None = None
    """Needed only when the name is used in several targets (names are unique per target and region)."""


@dataclass(frozen=True, slots=True)
class SessionRequest:
    """A checked trigger: which processor to start, from where in the stream, for how long."""

    processor: ProcessorId
    selector: StartSelector
    max_duration_seconds: int
    source: TriggerSource
    budget_seconds_per_day: int | None = None


def _refuse(reason: RefusalReason, message: str) -> TriggerRefused:
    return TriggerRefused(reason, message)


def _integer(body: Mapping[str, Any], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _refuse(RefusalReason.MALFORMED, f"{key} must be an integer, got {json.dumps(value)}")
    return value


def parse_trigger(body: str | bytes | Mapping[str, Any]) -> Trigger:
    """Read a trigger body (JSON text, or an already decoded object) and check each value on its own.

    Raises `TriggerRefused`: not JSON, not an object, unknown keys, a wrong type, both selectors, a
    producer timestamp that looks like seconds, a fragment number that is not digits, a duration outside
    the API's range.

    JSON nested too deeply for the decoder (or for rendering a value in a message) is refused as
    malformed too: a trigger never ends in a RecursionError.
    """
    try:
        return _parse(body)
    except RecursionError:
        raise _refuse(RefusalReason.MALFORMED, "the trigger's JSON is nested too deeply") from None


def _parse(body: str | bytes | Mapping[str, Any]) -> Trigger:
    if isinstance(body, str | bytes):
        try:
            decoded: Any = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise _refuse(RefusalReason.MALFORMED, f"the trigger is not JSON: {exc}") from None
    else:
        decoded = body
    if not isinstance(decoded, Mapping):
        kind = type(decoded).__name__ if decoded is not None else "null"
        raise _refuse(RefusalReason.MALFORMED, f"the trigger must be a JSON object, got {kind}")
    unknown = sorted(str(k) for k in decoded if k not in KEYS)
    if unknown:
        raise _refuse(
            RefusalReason.MALFORMED,
            f"unknown key{'s' if len(unknown) > 1 else ''} {', '.join(unknown)}; expected {', '.join(KEYS)}",
        )
    processor = decoded.get("processor")
    if not isinstance(processor, str) or not processor:
        raise _refuse(RefusalReason.MALFORMED, "processor (the processor's name, a string) is required")
    region, target = decoded.get("region"), decoded.get("target")
    for key, value in (("region", region), ("target", target)):
        if value is not None and not isinstance(value, str):
            raise _refuse(RefusalReason.MALFORMED, f"{key} must be a string, got {json.dumps(value)}")
    timestamp = _integer(decoded, "producer_timestamp_ms")
    fragment = decoded.get("fragment_number")
    duration = _integer(decoded, "max_duration_seconds")
    if timestamp is not None and fragment is not None:
        raise _refuse(
            RefusalReason.BOTH_SELECTORS,
            "give producer_timestamp_ms or fragment_number, not both (a session starts at one point)",
        )
    if timestamp is not None:
        _check_timestamp(timestamp)
    if fragment is not None:
        _check_fragment(fragment)
    if duration is not None:
        _check_duration(duration)
    return Trigger(processor, region, timestamp, fragment, duration, target)


def _check_timestamp(millis: int) -> None:
    if _TIMESTAMP_HIGH is not None and millis > _TIMESTAMP_HIGH:
        raise _refuse(
            RefusalReason.BAD_TIMESTAMP,
            f"producer_timestamp_ms must be at most {int(_TIMESTAMP_HIGH)} (got {millis})",
        )
    if millis < (_TIMESTAMP_LOW or 0):
        raise _refuse(
            RefusalReason.SECONDS_TIMESTAMP, f"producer_timestamp_ms must not be negative (got {millis})"
        )
    if millis < rules.PRODUCER_TIMESTAMP_MIN_MS:
        raise _refuse(
            RefusalReason.SECONDS_TIMESTAMP,
            f"producer_timestamp_ms {millis} looks like seconds, the API wants milliseconds "
            f"(e.g. {millis * 1000})",
        )


def _check_fragment(fragment: Any) -> None:
    if not isinstance(fragment, str):
        raise _refuse(
            RefusalReason.BAD_FRAGMENT,
            f"fragment_number must be a string of digits, got {json.dumps(fragment)} "
            "(fragment numbers exceed what a JSON number holds exactly; quote it)",
        )
    if not _FRAGMENT_PATTERN.fullmatch(fragment) or len(fragment) > FRAGMENT_MAX_LENGTH:
        raise _refuse(
            RefusalReason.BAD_FRAGMENT,
            f"fragment_number must be 1-{FRAGMENT_MAX_LENGTH} digits, got {json.dumps(fragment)}",
        )


def _check_duration(seconds: int) -> None:
    if not MIN_DURATION <= seconds <= MAX_DURATION:
        raise _refuse(
            RefusalReason.BAD_DURATION,
            f"max_duration_seconds must be between {MIN_DURATION} and {MAX_DURATION}, got {seconds}",
        )


def find_processor(
    desired: DesiredState, name: str, region: str | None, target: str | None = None
) -> DesiredProcessor:
    """The spec's processor `name` (in `region` and `target` when given); refused when unknown or
    ambiguous."""
    matches = [
        p
        for p in desired.processors
        if p.name == name
        and (region is None or p.config.region == region)
        and (target is None or p.id.target == target)
    ]
    if not matches:
        where = " in " + "/".join(w for w in (target, region) if w) if target or region else ""
        hint = did_you_mean(name, (p.name for p in desired.processors))
        raise _refuse(
            RefusalReason.UNKNOWN_PROCESSOR, f"no processor {name!r}{where} in stack {desired.stack!r}{hint}"
        )
    if len(matches) > 1:
        places = ", ".join(sorted("/".join(w for w in p.id.location if w) for p in matches))
        regions = {p.config.region for p in matches}
        give = (
            "region"
            if len(regions) == len(matches)
            else "target"
            if len(regions) == 1
            else "target and region"
        )
        raise _refuse(
            RefusalReason.AMBIGUOUS_PROCESSOR, f"processor {name!r} exists in {places}; give {give}"
        )
    return matches[0]


def resolve_trigger(
    trigger: Trigger, desired: DesiredState, *, source: TriggerSource, arrival_ms: int
) -> SessionRequest:
    """The start request for `trigger`: its processor found in the spec and a connected-home one, the
    selector (the trigger's, else `arrival_ms`), the duration (the trigger's, else the spec's)."""
    processor = find_processor(desired, trigger.processor, trigger.region, trigger.target)
    if processor.config.kind is not Kind.CONNECTED_HOME:
        raise _refuse(
            RefusalReason.FACE_SEARCH,
            f"processor {processor.name!r} is a face_search processor; only connected_home processors "
            "run sessions",
        )
    policy = processor.sessions or SessionPolicy()
    selector: StartSelector
    if trigger.fragment_number is not None:
        selector = FragmentNumber(trigger.fragment_number)
    else:
        millis = arrival_ms if trigger.producer_timestamp_ms is None else trigger.producer_timestamp_ms
        selector = ProducerTimestamp(millis)
    duration = trigger.max_duration_seconds or policy.max_duration_seconds
    return SessionRequest(
        processor=processor.id,
        selector=selector,
        max_duration_seconds=duration,
        source=source,
        budget_seconds_per_day=policy.budget_seconds_per_day,
    )


def session_request(
    body: str | bytes | Mapping[str, Any], desired: DesiredState, *, source: TriggerSource, arrival_ms: int
) -> SessionRequest:
    """`parse_trigger` then `resolve_trigger`: a trigger body to a start request, or `TriggerRefused`."""
    return resolve_trigger(parse_trigger(body), desired, source=source, arrival_ms=arrival_ms)
