"""The shape of a spec file as pydantic models: keys, types, lengths, patterns, ranges, list sizes.

Used by `spd.spec.loader` to check each file in one validation call, and by `spec_json_schema()` (the
`spd schema` command) to publish the same rules as JSON Schema. Models are strict (a quoted "5" is not a
number, `yes` is not a boolean) and forbid unknown keys. Every constraint the Rekognition API states is
here, matched against the whole value; rules that span several keys or processors live in
`spd.spec.validate`.

A processor's fields are all optional at this level because `defaults` may supply them; what must be
present once defaults are applied is checked by `spd.spec.validate`. An explicit empty value (null)
means "not set", which on a processor cancels a default.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    WithJsonSchema,
)

from spd.api import rules
from spd.api.constraints import ROLE_ARN_PATTERN as ROLE_ARN_PATTERN  # the spec's messages key on it
from spd.api.constraints import ROLE_ARN_SHAPE, bound, portable_pattern, shape_of
from spd.api.model import MODEL
from spd.api.shapes import Shape
from spd.spec import durations

_CREATE = "CreateStreamProcessorRequest"
_TAG_KEY = shape_of("TagResourceRequest", "Tags").key or ""
_TAG_VALUE = shape_of("TagResourceRequest", "Tags").value or ""

REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"
"""A region name. Not in the API model (the service takes its region from the endpoint): spd's own."""
SCHEMA_ID = "urn:spd:spec:1"
"""`$id` of the published schema: names the spec format (version 1), not a download location."""


def _string(shape: Shape) -> StringConstraints:
    """The model's length bounds and pattern for a string of `shape`."""
    return StringConstraints(
        min_length=int(shape.min) if shape.min else None,
        max_length=None if shape.max is None else int(shape.max),
        pattern=None if shape.pattern is None else portable_pattern(shape),
    )


def _range(shape: Shape) -> Any:
    """The model's value bounds for a number of `shape`."""
    return Field(ge=bound(shape.min), le=bound(shape.max))


_NAME = shape_of(_CREATE, "Name")
_COLLECTION_ID = shape_of(_CREATE, "Settings", "FaceSearch", "CollectionId")
_LABELS = shape_of(_CREATE, "Settings", "ConnectedHome", "Labels")
_REGIONS = shape_of(_CREATE, "RegionsOfInterest")
_TAGS = shape_of(_CREATE, "Tags")
_MAX_DURATION = shape_of("StartStreamProcessorRequest", "StopSelector", "MaxDurationInSeconds")

NAME_PATTERN = portable_pattern(_NAME)
KVS_ARN_PATTERN = portable_pattern(shape_of(_CREATE, "Input", "KinesisVideoStream", "Arn"))
KDS_ARN_PATTERN = portable_pattern(shape_of(_CREATE, "Output", "KinesisDataStream", "Arn"))
SNS_ARN_PATTERN = portable_pattern(shape_of(_CREATE, "NotificationChannel", "SNSTopicArn"))
KMS_KEY_PATTERN = portable_pattern(shape_of(_CREATE, "KmsKeyId"))
S3_BUCKET_PATTERN = portable_pattern(shape_of(_CREATE, "Output", "S3Destination", "Bucket"))
TAG_KEY_PATTERN = portable_pattern(MODEL.shape(_TAG_KEY))
"""TagKey's pattern without its `(?!aws:)` (Rust regex has no lookaround; `spd.spec.validate` refuses
reserved prefixes with a message of its own)."""
TAG_VALUE_PATTERN = portable_pattern(MODEL.shape(_TAG_VALUE))
TAG_PATTERN = TAG_VALUE_PATTERN
"""The model's tag character class (`\\p{L}`...), which `spd validate` applies through Rust regex."""
_TAG_PATTERNS = (TAG_KEY_PATTERN, TAG_VALUE_PATTERN)

LABELS = rules.CONNECTED_HOME_LABELS
MAX_REGIONS_OF_INTEREST = bound(_REGIONS.max)
MAX_USER_TAGS = int(_TAGS.max or 0) - 1
"""The API allows 200 tags per processor; spd adds its `spd:stack` tag to every one."""

Name = Annotated[str, _string(_NAME)]
StackName = Annotated[str, _string(_NAME)]
CollectionId = Annotated[str, _string(_COLLECTION_ID)]
Region = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]
RoleArn = Annotated[str, _string(ROLE_ARN_SHAPE)]
ACCOUNT_ID_PATTERN = r"^[0-9]{12}$"
AccountId = Annotated[str, StringConstraints(pattern=ACCOUNT_ID_PATTERN)]
TargetName = Annotated[str, _string(_NAME)]
ExternalId = Annotated[str, StringConstraints(min_length=2, max_length=1224, pattern=r"^[\w+=,.@:/-]+$")]
r"""STS AssumeRole's ExternalId: 2-1224 characters of [\w+=,.@:/-]."""
ProfileName = Annotated[str, StringConstraints(min_length=1)]
RoleChain = Annotated[
    Any,
    WithJsonSchema(
        {
            "oneOf": [
                {"type": "string"},
                {"type": "array", "items": {"type": "string"}, "minItems": 1},
            ]
        }
    ),
]
"""A role ARN or a non-empty list of them; checked by `spd.spec.targets` (one message per bad item,
rather than pydantic's per union member)."""
KinesisVideoArn = Annotated[str, _string(shape_of(_CREATE, "Input", "KinesisVideoStream", "Arn"))]
KinesisDataArn = Annotated[str, _string(shape_of(_CREATE, "Output", "KinesisDataStream", "Arn"))]
SnsTopicArn = Annotated[str, _string(shape_of(_CREATE, "NotificationChannel", "SNSTopicArn"))]
KmsKeyId = Annotated[str, _string(shape_of(_CREATE, "KmsKeyId"))]
S3Bucket = Annotated[str, _string(shape_of(_CREATE, "Output", "S3Destination", "Bucket"))]
S3KeyPrefix = Annotated[str, _string(shape_of(_CREATE, "Output", "S3Destination", "KeyPrefix"))]
Percent = Annotated[float, _range(shape_of(_CREATE, "Settings", "FaceSearch", "FaceMatchThreshold"))]
Ratio = Annotated[float, Field(ge=rules.COORDINATE_MIN, le=rules.COORDINATE_MAX)]
TagKey = Annotated[str, _string(MODEL.shape(_TAG_KEY))]
TagValue = Annotated[str, _string(MODEL.shape(_TAG_VALUE))]
if TYPE_CHECKING:
    Label = str
else:
    Label = Literal[LABELS]
LabelList = Annotated[list[Label], Field(min_length=bound(_LABELS.min), max_length=bound(_LABELS.max))]
Polygon = Annotated[
    list["PointSpec"], Field(min_length=rules.POLYGON_MIN_POINTS, max_length=rules.POLYGON_MAX_POINTS)
]
RegionList = Annotated[list["RegionOfInterestSpec"], Field(max_length=MAX_REGIONS_OF_INTEREST)]


class _Model(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        regex_engine="rust-regex",
        defer_build=True,
    )


class InputSpec(_Model):
    """Where the video comes from."""

    kinesis_video_stream_arn: Annotated[
        KinesisVideoArn,
        Field(description="ARN of the Kinesis video stream; a stream feeds at most one processor."),
    ]


class OutputSpec(_Model):
    """Where results go: a Kinesis data stream (face_search) or an S3 bucket (connected_home)."""

    kinesis_data_stream_arn: Annotated[
        KinesisDataArn | None,
        Field(
            description="face_search only: ARN of the Kinesis data stream; a stream receives from at most one processor."
        ),
    ] = None
    s3_bucket: Annotated[
        S3Bucket | None,
        Field(description="connected_home only: bucket for detailed results (3-255 characters)."),
    ] = None
    s3_key_prefix: Annotated[
        S3KeyPrefix | None,
        Field(description="connected_home only: key prefix inside the bucket (at most 1024 characters)."),
    ] = None


class FaceSearchSpec(_Model):
    """Face search against a face collection."""

    collection_id: Annotated[
        CollectionId, Field(description="The face collection to search (1-255 characters of [a-zA-Z0-9_.-]).")
    ]
    face_match_threshold: Annotated[
        Percent | None,
        Field(
            description="Minimum match confidence, 0-100 (default 80; AWS stores anything below 80 as 80)."
        ),
    ] = None


class ConnectedHomeSpec(_Model):
    """Label detection (people, pets, packages)."""

    labels: Annotated[LabelList, Field(description="Non-empty set of PERSON, PET, PACKAGE, ALL.")]
    min_confidence: Annotated[
        Percent | None, Field(description="Minimum label confidence, 0-100 (default 50).")
    ] = None


class NotificationChannelSpec(_Model):
    """SNS topic that receives detection and end-of-session notifications."""

    sns_topic_arn: Annotated[
        SnsTopicArn, Field(description="ARN of the SNS topic; its region must be the processor's.")
    ]


class BoundingBoxSpec(_Model):
    """A box as ratios of the frame (0..1), which must lie inside the frame."""

    left: Annotated[Ratio, Field(description="Left edge, as a ratio of the frame's width.")]
    top: Annotated[Ratio, Field(description="Top edge, as a ratio of the frame's height.")]
    width: Annotated[Ratio, Field(description="Width as a ratio of the frame's; left + width at most 1.")]
    height: Annotated[Ratio, Field(description="Height as a ratio of the frame's; top + height at most 1.")]


class PointSpec(_Model):
    """A point of a polygon, as ratios of the frame (0..1)."""

    x: Annotated[Ratio, Field(description="Distance from the left edge, as a ratio of the frame's width.")]
    y: Annotated[Ratio, Field(description="Distance from the top edge, as a ratio of the frame's height.")]


class RegionOfInterestSpec(_Model):
    """Exactly one of `bounding_box` or `polygon`."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["bounding_box"]}, {"required": ["polygon"]}]}
    )

    bounding_box: BoundingBoxSpec | None = None
    polygon: Annotated[Polygon | None, Field(description="3 to 10 points.")] = None


DURATION_PATTERN = durations.DURATION_PATTERN
"""A window's length, in the one duration syntax (`spd.spec.durations`: `2h`, `90m`, `1h30m`)."""
SessionSeconds = Annotated[int, _range(_MAX_DURATION)]


class SessionWindowSpec(_Model):
    """A time when sessions run back to back: from each cron time, for `duration`."""

    cron: Annotated[
        str,
        Field(description='Five-field crontab expression for when the window opens, e.g. "0 7 * * mon-fri".'),
    ]
    duration: Annotated[
        str,
        Field(
            min_length=2,
            pattern=DURATION_PATTERN,
            description="How long the window stays open: 2h, 30m, 90s or 1h30m (at most 24h).",
        ),
    ]
    timezone: Annotated[
        str, Field(description="IANA time zone of the cron expression, e.g. Europe/Berlin.")
    ] = "UTC"


class SessionsSpec(_Model):
    """connected_home only: how spd runs the processor's sessions."""

    max_duration_seconds: Annotated[
        SessionSeconds | None,
        Field(description="Length of each session (the StopSelector), 1-120 seconds; default 10."),
    ] = None
    windows: Annotated[
        list[SessionWindowSpec] | None,
        Field(description="Times when sessions are chained back to back."),
    ] = None
    budget_seconds_per_day: Annotated[
        int | None,
        Field(
            ge=1, description="Cap on requested session seconds per UTC day; triggers beyond it are refused."
        ),
    ] = None


class ProcessorFields(_Model):
    """Every processor key except `name`: what `defaults` may set and a processor may override."""

    target: Annotated[
        TargetName | None,
        Field(description="The target (account and regions) the processor lives in; one of `targets`."),
    ] = None
    region: Annotated[
        Region | None,
        Field(description="AWS region, e.g. us-east-1; required on the processor or in defaults."),
    ] = None
    role_arn: Annotated[
        RoleArn | None,
        Field(description="IAM role Rekognition assumes; required on the processor or in defaults."),
    ] = None
    input: InputSpec | None = None
    face_search: FaceSearchSpec | None = None
    connected_home: ConnectedHomeSpec | None = None
    output: OutputSpec | None = None
    notification_channel: Annotated[
        NotificationChannelSpec | None, Field(description="connected_home only, and required there.")
    ] = None
    kms_key_id: Annotated[
        KmsKeyId | None,
        Field(description="connected_home only: KMS key (id, alias or ARN) for the S3 results."),
    ] = None
    regions_of_interest: Annotated[
        RegionList | None, Field(description="Up to 10 regions of the frame to watch.")
    ] = None
    data_sharing: Annotated[
        bool | None, Field(description="Share data with AWS to improve its models (default false).")
    ] = None
    desired_state: Annotated[
        Literal["running", "stopped"] | None,
        Field(
            description="face_search: running (default) or stopped; connected_home: stopped only (sessions end by themselves)."
        ),
    ] = None
    protect: Annotated[
        bool | None, Field(description="Never delete or replace this processor (default false).")
    ] = None
    sessions: Annotated[
        SessionsSpec | None,
        Field(description="connected_home only: session length, windows and daily budget (not sent to AWS)."),
    ] = None
    tags: Annotated[
        dict[TagKey, TagValue] | None,
        Field(
            description="User tags (at most 199 after merging with defaults); keys starting aws: or spd: are refused."
        ),
    ] = None


class ProcessorDefaults(ProcessorFields):
    """Values for every processor of this file; a processor's own keys win, tags merge per key."""


class ProcessorSpec(ProcessorFields):
    """One stream processor."""

    name: Annotated[
        Name, Field(description="Processor name, 1-128 characters of [a-zA-Z0-9_.-]; unique per region.")
    ]


class TargetSpec(_Model):
    """An account reached by assuming a role (or a chain of roles) or through a named profile."""

    account_id: Annotated[
        AccountId | None,
        Field(
            description="The 12-digit account id (a quoted string); ARNs of the target's processors must name it."
        ),
    ] = None
    role_arn: Annotated[
        RoleChain | None,
        Field(
            description="IAM role assumed with STS; a list is a role chain (each role assumes the next). "
            "Exclusive with profile."
        ),
    ] = None
    external_id: Annotated[
        ExternalId | None, Field(description="External id sent when assuming the first role.")
    ] = None
    profile: Annotated[
        ProfileName | None,
        Field(description="A named profile of the AWS config files; exclusive with role_arn."),
    ] = None
    regions: Annotated[
        list[Region], Field(min_length=1, description="The regions the target's processors may live in.")
    ]


class SpecDocument(_Model):
    """One spec file."""

    model_config = ConfigDict(title="spd spec")

    version: Annotated[
        Annotated[int, Field(ge=1, le=1, json_schema_extra={"const": 1})],
        Field(description="Spec format version; must be 1."),
    ]
    stack: Annotated[
        StackName,
        Field(
            description="Ownership scope: every processor spd creates carries the tag spd:stack=<stack>; same in every file."
        ),
    ]
    targets: Annotated[
        dict[TargetName, TargetSpec] | None,
        Field(description="Accounts and regions by name; without it, the ambient credentials."),
    ] = None
    defaults: ProcessorDefaults | None = None
    processors: list[ProcessorSpec]


def spec_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of one spec file, as `spd schema` prints it."""
    schema = _portable(SpecDocument.model_json_schema())
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def _portable(node: Any) -> Any:
    """`node` with the tag patterns in their portable form, and tag maps that refuse keys not matching it.

    pydantic publishes `dict[TagKey, TagValue]` as `patternProperties`, which only constrains the keys that
    match; `propertyNames` + `additionalProperties` make a bad key an error, as it is for `spd validate`.
    """
    if isinstance(node, list):
        return [_portable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _portable(value) for key, value in node.items()}
    if out.get("pattern") in _TAG_PATTERNS:
        out["pattern"] = portable_tag_pattern(out["pattern"])
    by_pattern = out.get("patternProperties")
    if isinstance(by_pattern, dict) and len(by_pattern) == 1 and set(by_pattern) <= set(_TAG_PATTERNS):
        [(key_pattern, value_schema)] = by_pattern.items()
        del out["patternProperties"]
        out["propertyNames"] = {**out.get("propertyNames", {}), "pattern": portable_tag_pattern(key_pattern)}
        out["additionalProperties"] = value_schema
    return out


_PORTABLE_BELOW = 0xA0
"""Characters below this (ASCII and the C1 controls) are decided exactly by the portable tag pattern."""


@functools.cache
def portable_tag_pattern(pattern: str) -> str:
    """A tag pattern (`\\p{L}`...) as `spd schema` publishes it, derived from the model's pattern.

    JSON Schema validators run patterns through their own regex engines (Python's `re` in `jsonschema`,
    JavaScript's in editors), and not all of them know Unicode property classes. The derived pattern is
    a negated class of the characters below U+00A0 that `pattern` refuses (asked of the same engine
    `spd validate` uses): the API's rule exactly for ASCII and the control characters, any other
    character allowed (looser beyond ASCII; `spd validate` applies the Unicode classes).
    """
    checker = TypeAdapter(Annotated[str, StringConstraints(pattern=pattern)])
    refused = []
    for code in range(_PORTABLE_BELOW):
        try:
            checker.validate_python(chr(code))
        except ValidationError:
            refused.append(code)
    return f"^[^{_class_ranges(refused)}]*$"


def _class_ranges(codes: list[int]) -> str:
    """Sorted code points as the body of a regex character class: runs of control characters written as
    ranges, printable characters one by one (so the published pattern reads as the list it is)."""
    runs: list[list[int]] = []
    for code in codes:
        if runs and runs[-1][1] == code - 1 and not _printable(code) and not _printable(runs[-1][1]):
            runs[-1][1] = code
        else:
            runs.append([code, code])
    return "".join(
        _class_char(low) if low == high else f"{_class_char(low)}-{_class_char(high)}" for low, high in runs
    )


def _printable(code: int) -> bool:
    return 0x20 <= code < 0x7F


def _class_char(code: int) -> str:
    char = chr(code)
    if not _printable(code) or char == '"':
        return f"\\x{code:02x}"
    return "\\" + char if char in "\\]^-[" else char
