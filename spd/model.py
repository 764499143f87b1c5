"""Plain domain values shared by the spec, the planner, the AWS gateway and the emulator-facing tests.

Everything here is immutable and canonical: two configs that mean the same thing to the service compare
equal. That is what lets the planner diff desired against observed with `==` and never report drift
that the service itself introduced (float32 rounding, defaults, label order, region order).
No I/O and no third-party imports live here; the API's own facts (defaults, single precision, labels)
come from `spd.api.rules`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from spd.api import rules
from spd.api.fields import UPDATABLE, ConfigField

STACK_TAG = "spd:stack"
"""The ownership tag: a processor is spd's to change only if this tag names the current stack."""

RESERVED_TAG_PREFIX = "spd:"
AWS_TAG_PREFIX = "aws:"

# The API's facts live in spd.api.rules; these names are the domain's view of them.
DEFAULT_FACE_MATCH_THRESHOLD = rules.DEFAULT_FACE_MATCH_THRESHOLD
"""AWS stores any threshold below this as this value."""
DEFAULT_MIN_CONFIDENCE = rules.DEFAULT_MIN_CONFIDENCE
DEFAULT_DATA_SHARING = rules.DEFAULT_DATA_SHARING_OPT_IN
f32 = rules.f32

OPERATIONS = rules.STREAM_PROCESSOR_OPERATIONS
"""The ten stream-processor API operations: the keys of rate limits, emulator quotas and faults."""


class Kind(StrEnum):
    """The two processor kinds; fixed at create time."""

    FACE_SEARCH = "face_search"
    CONNECTED_HOME = "connected_home"


class Status(StrEnum):
    """StreamProcessorStatus as the service reports it."""

    STOPPED = "STOPPED"
    STARTING = "STARTING"
    RUNNING = "RUNNING"
    FAILED = "FAILED"
    STOPPING = "STOPPING"
    UPDATING = "UPDATING"

    @property
    def transitional(self) -> bool:
        """True while the service is moving the processor between stable states."""
        return self in (Status.STARTING, Status.STOPPING, Status.UPDATING)


class RunState(StrEnum):
    """What the operator wants the processor to be doing."""

    RUNNING = "running"
    STOPPED = "stopped"


def fleet_repr(obj: Any, **counted: tuple[Any, ...]) -> str:
    """A repr for a fleet-sized container: its small fields in full, its large tuples as counts.

    The dataclass repr of a plan or an observed state of 30,000 processors is a string of hundreds of
    megabytes, and the standard library builds such reprs where nobody reads them: `asyncio.run` puts
    its main task (whose result is the plan) in its SIGINT handler, and `signal.getsignal` formats that
    handler into an error message it then discards. That raised `spd plan`'s peak memory by half.
    """
    fields = [f"{k}=<{len(v)}>" for k, v in counted.items()]
    small = [f"{name}={getattr(obj, name)!r}" for name in obj.__dataclass_fields__ if name not in counted]
    return f"{type(obj).__name__}({', '.join([*small, *fields])})"


@dataclass(frozen=True, slots=True)
class Point:
    x: float
    y: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "x", f32(self.x))
        object.__setattr__(self, "y", f32(self.y))


@dataclass(frozen=True, slots=True)
class BoundingBox:
    left: float
    top: float
    width: float
    height: float

    def __post_init__(self) -> None:
        for name in ("left", "top", "width", "height"):
            object.__setattr__(self, name, f32(getattr(self, name)))

    def sort_key(self) -> tuple[int, tuple[float, ...]]:
        return (0, (self.left, self.top, self.width, self.height))


@dataclass(frozen=True, slots=True)
class Polygon:
    points: tuple[Point, ...]

    def sort_key(self) -> tuple[int, tuple[float, ...]]:
        return (1, tuple(c for p in self.points for c in (p.x, p.y)))


RegionOfInterest = BoundingBox | Polygon


def canonical_regions(regions: Iterable[RegionOfInterest]) -> tuple[RegionOfInterest, ...]:
    """Regions in a stable order: the service treats the list as a set, so order is not drift."""
    return tuple(sorted(regions, key=lambda r: r.sort_key()))


# One serialisation of a region of interest, in two spellings: the spec's and the plan's (`bounding_box`,
# `left`...) and the API's (`BoundingBox`, `Left`...), the second derived from the first, so the plan,
# the importer and the wire mapping cannot drift apart.
BOX_SIDES = ("left", "top", "width", "height")
POINT_AXES = ("x", "y")


def spec_key(name: str) -> str:
    """A key as the spec and the plan spell it (`bounding_box`)."""
    return name


def api_key(name: str) -> str:
    """The same key as the Rekognition API spells it (`bounding_box` -> `BoundingBox`, `x` -> `X`)."""
    return "".join(part.capitalize() for part in name.split("_"))


def _same(value: float) -> Any:
    return value


def region_document(
    region: RegionOfInterest,
    key: Callable[[str], str] = spec_key,
    number: Callable[[float], Any] = _same,
) -> dict[str, Any]:
    """`region` as a JSON-like mapping, keys spelt by `key` (`spec_key`, `api_key`), numbers by `number`."""
    if isinstance(region, BoundingBox):
        return {key("bounding_box"): {key(side): number(getattr(region, side)) for side in BOX_SIDES}}
    return {
        key("polygon"): [{key(axis): number(getattr(p, axis)) for axis in POINT_AXES} for p in region.points]
    }


def region_from_document(data: Mapping[str, Any], key: Callable[[str], str] = spec_key) -> RegionOfInterest:
    """The region a `region_document` (of the same spelling) describes; a missing number reads as 0."""
    box = data.get(key("bounding_box"))
    if box is not None:
        return BoundingBox(*(float(box.get(key(side), 0.0)) for side in BOX_SIDES))
    points = data.get(key("polygon")) or []
    return Polygon(tuple(Point(*(float(p.get(key(axis), 0.0)) for axis in POINT_AXES)) for p in points))


@dataclass(frozen=True, slots=True)
class FaceSearch:
    collection_id: str
    face_match_threshold: float = DEFAULT_FACE_MATCH_THRESHOLD

    def __post_init__(self) -> None:
        # Below 80 the service stores 80; planning the stored value is what keeps it from drifting.
        object.__setattr__(
            self,
            "face_match_threshold",
            f32(max(self.face_match_threshold, DEFAULT_FACE_MATCH_THRESHOLD)),
        )


@dataclass(frozen=True, slots=True)
class ConnectedHome:
    labels: tuple[str, ...]
    min_confidence: float = DEFAULT_MIN_CONFIDENCE

    def __post_init__(self) -> None:
        object.__setattr__(self, "labels", tuple(sorted(set(self.labels))))
        object.__setattr__(self, "min_confidence", f32(self.min_confidence))


Settings = FaceSearch | ConnectedHome


def canonical_tags(tags: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """User-visible tags in a stable order; `aws:` tags belong to AWS and are never compared."""
    return tuple(sorted((k, v) for k, v in tags.items() if not k.startswith(AWS_TAG_PREFIX)))


AMBIENT_TARGET = ""
"""The target of processors the spec gives none: the ambient credentials (one account, as before targets)."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a group of processors lives: an account reached by a role chain or a profile, and its regions.

    `role_arns` is the chain assumed in order (each hop's credentials assume the next; `external_id` is
    sent on the first hop only); empty with a `profile`. `account_id` is None only for a profile target
    declared without one: then ARNs cannot be checked against it.
    """

    name: str
    regions: tuple[str, ...]
    account_id: str | None = None
    role_arns: tuple[str, ...] = ()
    external_id: str | None = field(default=None, repr=False)
    profile: str | None = None


@dataclass(frozen=True, slots=True)
class ProcessorId:
    """A processor's identity: names are unique per account and region, so per (target, region).

    `target` is the spec's target name (`AMBIENT_TARGET` without one): a processor never moves between
    accounts, so the same name under another target is another processor.
    """

    region: str
    name: str
    target: str = AMBIENT_TARGET

    def __str__(self) -> str:
        if self.target:
            return f"{self.target}/{self.region}/{self.name}"
        return f"{self.region}/{self.name}"

    @property
    def location(self) -> tuple[str, str]:
        """(target, region): the unit that has its own credentials, clients, pacers and concurrency."""
        return (self.target, self.region)


@dataclass(frozen=True, slots=True)
class ProcessorConfig:
    """Everything the service stores about a processor apart from its run state and tags.

    Built canonical (see the module docstring), so desired and observed configs compare with `==`.
    """

    name: str
    region: str
    role_arn: str
    kinesis_video_stream_arn: str
    settings: Settings
    kinesis_data_stream_arn: str | None = None
    s3_bucket: str | None = None
    s3_key_prefix: str | None = None
    sns_topic_arn: str | None = None
    kms_key_id: str | None = None
    regions_of_interest: tuple[RegionOfInterest, ...] = ()
    data_sharing: bool = DEFAULT_DATA_SHARING

    def __post_init__(self) -> None:
        object.__setattr__(self, "regions_of_interest", canonical_regions(self.regions_of_interest))
        if self.s3_key_prefix == "":
            object.__setattr__(self, "s3_key_prefix", None)

    @property
    def kind(self) -> Kind:
        return Kind.FACE_SEARCH if isinstance(self.settings, FaceSearch) else Kind.CONNECTED_HOME

    @property
    def id(self) -> ProcessorId:
        return ProcessorId(self.region, self.name)

    def value(self, field: ConfigField) -> Any:
        """This config's value of a field of `spd.api.fields.FIELDS`; None when the kind has no such field."""
        if not field.applies_to(self.kind.value):
            return None
        value: Any = self
        for part in field.attr.split("."):
            value = getattr(value, part)
        return value


@dataclass(frozen=True, slots=True)
class SourceLocation:
    """Where in the spec a processor was declared, for messages that point the operator at it."""

    file: str
    line: int
    column: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


@dataclass(frozen=True, slots=True)
class LocatedReference:
    """A processor key that names another resource, with its full key path and where its value is written.

    `field` is the path inside the processor (`input.kinesis_video_stream_arn`); `key_path` the path in
    the file (`processors[1].input.kinesis_video_stream_arn`, or `defaults.role_arn` when inherited from
    there); `location` the position of the value.
    """

    field: str
    key_path: str
    location: SourceLocation


@dataclass(frozen=True, slots=True)
class SessionWindow:
    """A time of day when sessions are chained back to back: opens at each `cron` time (in `timezone`),
    stays open `duration_seconds`."""

    cron: str
    duration_seconds: int
    timezone: str


@dataclass(frozen=True, slots=True)
class SessionPolicy:
    """How spd runs a connected-home processor's sessions (the spec's `sessions` block, defaults applied).

    Not processor configuration: the service never sees it, so the planner never compares it.
    """

    max_duration_seconds: int = rules.DEFAULT_SESSION_SECONDS
    windows: tuple[SessionWindow, ...] = ()
    budget_seconds_per_day: int | None = None


@dataclass(frozen=True, slots=True)
class ProducerTimestamp:
    """Start a session at the fragment the producer stamped at `millis` (Unix time, milliseconds)."""

    millis: int


@dataclass(frozen=True, slots=True)
class FragmentNumber:
    """Start a session at this Kinesis video fragment (digits, as the service spells them)."""

    number: str


StartSelector = ProducerTimestamp | FragmentNumber


@dataclass(frozen=True, slots=True)
class DesiredProcessor:
    """One processor as the spec wants it."""

    config: ProcessorConfig
    run_state: RunState
    tags: tuple[tuple[str, str], ...]
    """Canonical user tags including the `spd:stack` ownership tag."""
    protect: bool = False
    source: SourceLocation | None = None
    references: tuple[LocatedReference, ...] = field(default=(), compare=False)
    """Where each resource the processor references is written (empty when not loaded from a file)."""
    target: str = AMBIENT_TARGET
    sessions: SessionPolicy | None = field(default=None, compare=False)
    """How its sessions run: set for every connected-home processor (defaults when the spec has no
    `sessions` block), None for face search. Outside the comparison: not processor configuration."""

    @property
    def id(self) -> ProcessorId:
        return ProcessorId(self.config.region, self.config.name, self.target)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def tag_dict(self) -> dict[str, str]:
        return dict(self.tags)


@dataclass(frozen=True, slots=True, repr=False)
class DesiredState:
    """The whole validated spec: a stack name and its processors."""

    stack: str
    processors: tuple[DesiredProcessor, ...]
    files: tuple[str, ...] = ()
    targets: tuple[Target, ...] = ()

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(sorted({p.config.region for p in self.processors}))

    @property
    def locations(self) -> tuple[tuple[str, str], ...]:
        """Every (target, region) the spec's processors live in, sorted."""
        return tuple(sorted({p.id.location for p in self.processors}))

    @property
    def scope(self) -> tuple[tuple[str, str], ...]:
        """The (target, region) pairs spd reads and prunes in: the processors' own, and every region of
        every declared target (a target whose processors all left the spec is still read, so they can be
        pruned, and a processor moved away from it deleted there)."""
        declared = {(t.name, r) for t in self.targets for r in t.regions}
        return tuple(sorted(set(self.locations) | declared))

    def target(self, name: str) -> Target | None:
        """The declared target `name`; None for the ambient target (or an undeclared name)."""
        return next((t for t in self.targets if t.name == name), None)

    def by_id(self) -> dict[ProcessorId, DesiredProcessor]:
        return {p.id: p for p in self.processors}

    def __repr__(self) -> str:
        return fleet_repr(self, processors=self.processors)


@dataclass(frozen=True, slots=True)
class ObservedProcessor:
    """One processor as the service reports it.

    `config` and `tags` are None when only the List call was made (the status sweep reads no more).
    """

    id: ProcessorId
    status: Status
    arn: str | None = None
    status_message: str | None = None
    config: ProcessorConfig | None = None
    tags: tuple[tuple[str, str], ...] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def name(self) -> str:
        return self.id.name

    @property
    def tag_dict(self) -> dict[str, str]:
        return dict(self.tags or ())

    def stack(self) -> str | None:
        """The stack that owns this processor, or None when spd does not."""
        if self.tags is None:
            return None
        return self.tag_dict.get(STACK_TAG)


@dataclass(frozen=True, slots=True, repr=False)
class ObservedState:
    """Every processor seen in the regions that were read."""

    regions: tuple[str, ...]
    processors: tuple[ObservedProcessor, ...] = field(default=())
    unreadable: tuple[tuple[ProcessorId, str], ...] = field(default=())
    """Listed processors whose Describe or ListTagsForResource failed (after retries), with the error:
    nothing is known about their config or owner, so nothing may be done to them this pass."""
    failed_targets: tuple[tuple[str, str], ...] = field(default=())
    """Declared targets that could not be read at all (credentials refused, unreachable), with why:
    nothing of them is known, so none of their processors is planned this pass."""

    def by_id(self) -> dict[ProcessorId, ObservedProcessor]:
        return {p.id: p for p in self.processors}

    def __repr__(self) -> str:
        return fleet_repr(self, processors=self.processors, unreadable=self.unreadable)


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    """What UpdateStreamProcessor must send; None means "leave unchanged" (connected home only).

    One attribute per updatable row of `spd.api.fields.FIELDS`, named as the row's domain attribute.
    """

    labels: tuple[str, ...] | None = None
    min_confidence: float | None = None
    regions_of_interest: tuple[RegionOfInterest, ...] | None = None
    data_sharing: bool | None = None
    parameters_to_delete: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        return not self.parameters_to_delete and all(getattr(self, f.leaf) is None for f in UPDATABLE)
