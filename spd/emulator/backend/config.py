"""The emulator's settings: every timing, quota and inferred service rule, as one typed value.

`EmulatorConfig` is immutable; the control API (`PUT /_emulator/config`) and the state file produce new
values through `EmulatorConfig.updated`, which rejects unknown keys and out-of-range values with a
`ConfigValueError` naming the key and stating the range. Every numeric setting has one (`BOUNDS`): an
unbounded one let `{"latency_ms": 1e308}` break every later call. Rules marked [I] in the docstrings are inferred (the public sources
do not state them) and are settings precisely so that a contract run against real AWS can correct them
without code changes.

Used by `spd.emulator.backend.service` (which holds the current value) and the control API.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spd.api import rules
from spd.model import OPERATIONS, Status

STATUSES: tuple[str, ...] = tuple(status.value for status in Status)

ERROR_CODES: tuple[str, ...] = (
    "AccessDeniedException",
    "InternalServerError",
    "InvalidParameterException",
    "LimitExceededException",
    "ResourceInUseException",
    "ResourceNotFoundException",
    "ValidationException",
)
"""Codes a setting may choose for an inferred error."""

EMULATED_OPERATIONS: tuple[str, ...] = (*OPERATIONS, *rules.COLLECTION_OPERATIONS)
"""The operations the emulator serves itself: the keys of per-operation latency, TPS limits and faults."""

ALL_OPERATIONS = "*"
"""Wildcard accepted wherever an operation name is: applies to every operation."""


class ConfigValueError(ValueError):
    """A configuration change was refused; the message names the offending key."""


@dataclass(frozen=True, slots=True)
class EmulatorConfig:
    """Current emulator settings. Defaults suit interactive use; tests shrink the timings."""

    latency_ms: float | dict[str, float] = 0.0
    """Delay added before every stream-processor operation: one number for all, or `{operation: ms}`
    (`"*"` as a key sets the default for unnamed operations)."""

    tps: dict[str, float] = field(default_factory=dict)
    """Token-bucket rate limits `{operation: requests per second}` (`"*"` for every operation), per
    account and region, with a burst of one second's worth (at least 1). Over the limit the call fails
    with ProvisionedThroughputExceededException (HTTP 400). AWS publishes no figures, so none by default."""

    transition_seconds: float = 1.0
    """[I] How long STARTING (face search), STOPPING and UPDATING last, unless overridden below."""

    start_seconds: float | None = None
    """[I] Face-search STARTING -> RUNNING delay; `null` means `transition_seconds`."""

    stop_seconds: float | None = None
    """[I] STOPPING -> STOPPED delay; `null` means `transition_seconds`."""

    update_seconds: float | None = None
    """[I] UPDATING -> STOPPED delay; `null` means `transition_seconds`."""

    delete_seconds: float = 0.5
    """[I] Deletion is asynchronous: the processor stays visible (Describe, List) this long."""

    name_reuse_seconds: float = 2.0
    """[I] A deleted processor's name stays reserved this long after the DeleteStreamProcessor call;
    creating it again meanwhile is a ResourceInUseException."""

    max_processors: int = 10000
    """Stream processors per account and region before LimitExceededException. AWS was observed at 10
    (2018); the default is high so that local fleets fit. Processors being deleted still count."""

    default_max_duration_seconds: int = 10
    """Connected-home session length when StopSelector omits MaxDurationInSeconds (AWS docs: 10)."""

    session_time_scale: float = 1.0
    """Multiplier on connected-home session length (MaxDurationInSeconds); tests use e.g. 0.05 so a
    one-second session ends after 50 ms. 1.0 is what AWS does."""

    max_tags: int = rules.MAX_TAGS_PER_RESOURCE
    """Tags a processor or collection may carry (AWS's tagging rules: 50 per resource). A Create or
    TagResource that would leave more is ServiceQuotaExceededException (the error TagResource documents
    for it); a request map of more than 200 entries breaks the model's own constraint and is
    InvalidParameterException whatever this says."""

    page_size: int = 1000
    """ListStreamProcessors page size without MaxResults (AWS: 1000) and the cap on MaxResults [I]."""

    start_allowed_in: tuple[str, ...] = ("STOPPED", "FAILED")
    """[I] Statuses in which StartStreamProcessor is legal; otherwise ResourceInUseException."""

    stop_allowed_in: tuple[str, ...] = ("RUNNING",)
    """[I] Statuses in which StopStreamProcessor is legal for a face-search processor; otherwise
    ResourceInUseException "Stream Processor not available for stopping"."""

    connected_home_stop_allowed_in: tuple[str, ...] = ()
    """[I] The same for connected-home processors. AWS documents Stop for face search only, so none;
    `["STARTING"]` lets Stop end a session early."""

    update_allowed_in: tuple[str, ...] = ("STOPPED", "FAILED")
    """[I] Statuses in which UpdateStreamProcessor is legal (connected home only)."""

    delete_allowed_in: tuple[str, ...] = ("STOPPED", "FAILED", "STARTING", "STOPPING")
    """Statuses in which DeleteStreamProcessor is legal; otherwise ResourceInUseException "Cannot delete
    stream processor.". The developer guide's example stops a processor and deletes it at once (so in
    STOPPING), and its troubleshooting page says to delete a processor stuck in STARTING; nothing
    documents a refusal, so only RUNNING and UPDATING are refused [I]."""

    face_search_update_error: str = "InvalidParameterException"
    """[I] The error UpdateStreamProcessor returns when it asks a face-search processor for label
    detection settings (`SettingsForUpdate`, `ParametersToDelete: ConnectedHomeMinConfidence`); an update
    of its data sharing or regions of interest is accepted (`spd.api.rules.FACE_SEARCH_UPDATABLE`)."""

    validation_error: str = "InvalidParameterException"
    """[I] The error code for a request that breaks a constraint. Rekognition documents
    InvalidParameterException; some AWS front ends answer ValidationException instead."""

    face_search_regions_of_interest: bool = True
    """Face-search processors accept RegionsOfInterest. The API reference says it "should not be used to
    create a face search stream processor", the words it uses for KmsKeyId and NotificationChannel: advice,
    not a documented refusal (`spd.api.rules.LABEL_DETECTION_ONLY`). False refuses it with
    InvalidParameterException."""

    face_search_kms_and_notification: bool = True
    """Face-search processors accept KmsKeyId and NotificationChannel, for the same reason; false refuses
    them with InvalidParameterException."""

    polygon_min_points: int = rules.POLYGON_MIN_POINTS
    """Fewest points in a region-of-interest polygon: the emulator's own stricter choice (AWS documents
    only the maximum; Terraform requires 3). 1 accepts any polygon."""

    polygon_max_points: int = rules.POLYGON_MAX_POINTS
    """Most points in a polygon (AWS docs: "up to 10 Point objects")."""

    coordinate_checks: bool = True
    """Bounding-box and polygon coordinates must be ratios in 0..1 and boxes must fit in the frame. AWS
    documents the values as ratios of the frame but no refusal: the emulator's own stricter choice."""

    throttling_status: int = 500
    """HTTP status of ThrottlingException (API reference: 500; the developer guide also lists 400)."""

    detailed_messages: bool = True
    """[I] Validation errors say which member broke which constraint; false gives AWS's terse
    "Request has invalid parameters"."""

    strict_references: bool = True
    """Start checks what the processor references in the same emulator (account and region): a missing
    role (or one whose trust policy does not let rekognition.amazonaws.com assume it), video stream, data
    stream, collection, SNS topic or S3 bucket sends it to FAILED with AWS's StatusMessage when the
    start's transition ends, instead of on, as AWS does. On by default; `POST /_emulator/references`
    creates what a request or spec references. False (`spd emulator --lenient`) runs whatever they name."""

    timing_profile: str = "fast"
    """How long transitions last when no explicit `*_seconds` setting says: `fast` (the defaults above,
    for tests) or `realistic`, of the order AWS takes (`TIMING_PROFILES`), to check a client's timeouts.
    Setting a profile sets its timings; an explicit timing in the same change wins."""

    enforce_iam: bool = False
    """Rekognition calls must be signed with the access key of an IAM user of the emulator's moto IAM whose
    policies allow the action on the processor or collection (`spd.emulator.backend.iam_enforcement`); otherwise
    AccessDeniedException, as on AWS. Other services stay open. Off by default: any key works."""

    assume_role_seconds: int = 3600
    """How long the credentials of an STS AssumeRole that names no DurationSeconds last (AWS: one hour).
    A few minutes let a test see assumed credentials refreshed before they expire."""

    random_seed: int | None = None
    """Seed for rate-based fault injection; set it for reproducible runs."""

    def to_json(self) -> dict[str, Any]:
        """The config as the control API shows it and the state file stores it."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, dict):
                value = dict(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def updated(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """A copy with `changes` applied; raises `ConfigValueError` for unknown keys or bad values."""
        if not isinstance(changes, Mapping):
            raise ConfigValueError("config must be a JSON object")
        known = {f.name for f in dataclasses.fields(self)}
        unknown = sorted(k for k in changes if k not in known)
        if unknown:
            raise ConfigValueError(
                f"unknown config key(s): {', '.join(unknown)}; known keys: {', '.join(sorted(known))}"
            )
        values = {name: _check(name, value) for name, value in changes.items()}
        if "timing_profile" in values:
            profile = TIMING_PROFILES[values["timing_profile"]]
            values = {**profile, **values}
        result = dataclasses.replace(self, **values)
        if result.polygon_min_points > result.polygon_max_points:
            raise ConfigValueError("polygon_min_points must not exceed polygon_max_points")
        return result

    def operation_latency_seconds(self, operation: str) -> float:
        if isinstance(self.latency_ms, dict):
            ms = self.latency_ms.get(operation, self.latency_ms.get(ALL_OPERATIONS, 0.0))
        else:
            ms = self.latency_ms
        return ms / 1000.0

    def operation_tps(self, operation: str) -> float | None:
        return self.tps.get(operation, self.tps.get(ALL_OPERATIONS))

    @property
    def effective_start_seconds(self) -> float:
        return self.transition_seconds if self.start_seconds is None else self.start_seconds

    @property
    def effective_stop_seconds(self) -> float:
        return self.transition_seconds if self.stop_seconds is None else self.stop_seconds

    @property
    def effective_update_seconds(self) -> float:
        return self.transition_seconds if self.update_seconds is None else self.update_seconds


@dataclass(frozen=True, slots=True)
class Bound:
    """The range a numeric setting may take; the message of a refusal states it."""

    low: float
    high: float
    integer: bool = False
    low_exclusive: bool = False

    def describe(self) -> str:
        kind = "an integer" if self.integer else "a number"
        if self.low_exclusive:
            return f"{kind} > {_show(self.low)} and <= {_show(self.high)}"
        return f"{kind} between {_show(self.low)} and {_show(self.high)}"

    def check(self, name: str, value: Any) -> Any:
        """`value` if it is in range (as a float unless integral); `ConfigValueError` otherwise."""
        if not _in_range(self, value):
            raise ConfigValueError(f"{name} must be {self.describe()}, got {_show(value)}")
        return value if self.integer else float(value)


def _in_range(bound: Bound, value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    if bound.integer and not isinstance(value, int):
        return False
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if value > bound.high:
        return False
    return value > bound.low if bound.low_exclusive else value >= bound.low


def _show(value: Any) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


MAX_SECONDS = 3600.0
"""Longest simulated delay of any kind (transitions, deletion, name reuse): one hour."""

BOUNDS: dict[str, Bound] = {
    "latency_ms": Bound(0, 60_000),
    "tps": Bound(0, 1_000_000, low_exclusive=True),
    "transition_seconds": Bound(0, MAX_SECONDS),
    "start_seconds": Bound(0, MAX_SECONDS),
    "stop_seconds": Bound(0, MAX_SECONDS),
    "update_seconds": Bound(0, MAX_SECONDS),
    "delete_seconds": Bound(0, MAX_SECONDS),
    "name_reuse_seconds": Bound(0, MAX_SECONDS),
    "max_processors": Bound(0, 1_000_000, integer=True),
    "default_max_duration_seconds": Bound(1, 120, integer=True),
    "session_time_scale": Bound(0, 100, low_exclusive=True),
    "max_tags": Bound(1, 10_000, integer=True),
    "page_size": Bound(1, 10_000, integer=True),
    "polygon_min_points": Bound(1, 100, integer=True),
    "polygon_max_points": Bound(1, 100, integer=True),
    "throttling_status": Bound(400, 599, integer=True),
    "assume_role_seconds": Bound(1, 43_200, integer=True),
    "random_seed": Bound(0, 2**64 - 1, integer=True),
}
"""Every numeric setting's range (the manual's table of emulator settings, docs/guides/emulator.md, shows the same). Keys of `latency_ms`
and `tps` maps obey the bound of their setting; `start_seconds`, `stop_seconds`, `update_seconds` and
`random_seed` may also be null."""

TIMING_PROFILES: dict[str, dict[str, Any]] = {
    "fast": {
        "transition_seconds": 1.0,
        "start_seconds": None,
        "stop_seconds": None,
        "update_seconds": None,
        "delete_seconds": 0.5,
        "name_reuse_seconds": 2.0,
    },
    "realistic": {
        "transition_seconds": 10.0,
        "start_seconds": 20.0,
        "stop_seconds": 10.0,
        "update_seconds": 10.0,
        "delete_seconds": 5.0,
        "name_reuse_seconds": 10.0,
    },
}
"""The timings of each `timing_profile`. `realistic` is of the order AWS takes: AWS publishes no figures,
but the developer guide's examples poll DescribeStreamProcessor while a processor is STARTING, and
DeleteStreamProcessor says a name may not be reusable "for a few seconds" [I]: seconds to tens of
seconds, so a client whose timeouts assume the fast profile's second finds out here."""

NULLABLE = frozenset({"start_seconds", "stop_seconds", "update_seconds", "random_seed"})


def _boolean(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigValueError(f"{name} must be true or false, got {value!r}")
    return value


def _operation_map(name: str, value: Any) -> dict[str, float]:
    if not isinstance(value, Mapping):
        raise ConfigValueError(f"{name} must be an object {{operation: number}}, got {_show(value)}")
    out: dict[str, float] = {}
    for op, number in value.items():
        if op != ALL_OPERATIONS and op not in EMULATED_OPERATIONS:
            raise ConfigValueError(
                f"{name}: unknown operation {_show(op)}; expected one of {', '.join(EMULATED_OPERATIONS)} or '*'"
            )
        out[op] = BOUNDS[name].check(f"{name}.{op}", number)
    return out


def _check(name: str, value: Any) -> Any:
    """Validate and normalise one setting; the per-key rules live here, next to each other."""
    if name == "latency_ms" and isinstance(value, Mapping):
        return _operation_map(name, value)
    if name == "tps":
        return _operation_map(name, value)
    if name in BOUNDS:
        if value is None and name in NULLABLE:
            return None
        return BOUNDS[name].check(name, value)
    if name.endswith("_allowed_in"):
        if isinstance(value, str) or not isinstance(value, list | tuple):
            raise ConfigValueError(f"{name} must be a list of statuses, got {_show(value)}")
        bad = [s for s in value if s not in STATUSES]
        if bad:
            raise ConfigValueError(
                f"{name}: unknown status(es) {_show(bad)}; expected some of {', '.join(STATUSES)}"
            )
        return tuple(dict.fromkeys(value))
    if name == "timing_profile":
        if value not in TIMING_PROFILES:
            raise ConfigValueError(f"{name} must be one of {', '.join(TIMING_PROFILES)}, got {_show(value)}")
        return value
    if name in ("face_search_update_error", "validation_error"):
        if value not in ERROR_CODES:
            raise ConfigValueError(f"{name} must be one of {', '.join(ERROR_CODES)}, got {_show(value)}")
        return value
    return _boolean(name, value)
