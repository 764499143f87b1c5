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

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

NAME_PATTERN = r"^[a-zA-Z0-9_.\-]+$"
ROLE_ARN_PATTERN = r"^arn:aws:iam::[0-9]{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+$"
KVS_ARN_PATTERN = r"^arn:[a-z0-9-]+:kinesisvideo:[a-z0-9-]+:[0-9]{12}:.+$"
KDS_ARN_PATTERN = r"^arn:[a-z0-9-]+:kinesis:[a-z0-9-]+:[0-9]{12}:.+$"
SNS_ARN_PATTERN = r"^arn:aws:sns:.*:[A-Za-z0-9_]{12}:.+$"
KMS_KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,2048}$"
S3_BUCKET_PATTERN = r"^[0-9A-Za-z.\-_]*$"
REGION_PATTERN = r"^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$"
TAG_PATTERN = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$"
TAG_PATTERN_PORTABLE = r"^[^\x00-\x1f\x7f-\x9f!\x22#$%&'()*,;<>?\[\\\]^`{|}~]*$"
"""`TAG_PATTERN` as `spd schema` publishes it. JSON Schema validators run patterns through their own regex
engines (Python's `re` in `jsonschema`, JavaScript's in editors), and not all of them know Unicode
property classes. This negated class means the same in all of them: AWS's rule exactly for ASCII and the
control characters, any other character allowed (looser beyond ASCII; `spd validate` applies the Unicode
classes)."""
SCHEMA_ID = "urn:spd:spec:1"
"""`$id` of the published schema: names the spec format (version 1), not a download location."""

LABELS = ("PERSON", "PET", "PACKAGE", "ALL")
MAX_REGIONS_OF_INTEREST = 10
MAX_USER_TAGS = 199
"""The API allows 200 tags per processor; spd adds its `spd:stack` tag to every one."""

Name = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NAME_PATTERN)]
StackName = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=NAME_PATTERN)]
CollectionId = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=NAME_PATTERN)]
Region = Annotated[str, StringConstraints(pattern=REGION_PATTERN)]
RoleArn = Annotated[str, StringConstraints(pattern=ROLE_ARN_PATTERN)]
KinesisVideoArn = Annotated[str, StringConstraints(pattern=KVS_ARN_PATTERN)]
KinesisDataArn = Annotated[str, StringConstraints(pattern=KDS_ARN_PATTERN)]
SnsTopicArn = Annotated[str, StringConstraints(pattern=SNS_ARN_PATTERN)]
KmsKeyId = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=KMS_KEY_PATTERN)]
S3Bucket = Annotated[str, StringConstraints(min_length=3, max_length=255, pattern=S3_BUCKET_PATTERN)]
S3KeyPrefix = Annotated[str, StringConstraints(max_length=1024)]
Percent = Annotated[float, Field(ge=0, le=100)]
Ratio = Annotated[float, Field(ge=0, le=1)]
TagKey = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=TAG_PATTERN)]
TagValue = Annotated[str, StringConstraints(max_length=256, pattern=TAG_PATTERN)]
Label = Literal["PERSON", "PET", "PACKAGE", "ALL"]


class _Model(BaseModel):
    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        allow_inf_nan=False,
        use_attribute_docstrings=True,
        regex_engine="rust-regex",
    )


class InputSpec(_Model):
    """Where the video comes from."""

    kinesis_video_stream_arn: KinesisVideoArn
    """ARN of the Kinesis video stream; a stream feeds at most one processor."""


class OutputSpec(_Model):
    """Where results go: a Kinesis data stream (face_search) or an S3 bucket (connected_home)."""

    kinesis_data_stream_arn: KinesisDataArn | None = None
    """face_search only: ARN of the Kinesis data stream; a stream receives from at most one processor."""
    s3_bucket: S3Bucket | None = None
    """connected_home only: bucket for detailed results (3-255 characters)."""
    s3_key_prefix: S3KeyPrefix | None = None
    """connected_home only: key prefix inside the bucket (at most 1024 characters)."""


class FaceSearchSpec(_Model):
    """Face search against a face collection."""

    collection_id: CollectionId
    """The face collection to search (1-255 characters of [a-zA-Z0-9_.-])."""
    face_match_threshold: Percent | None = None
    """Minimum match confidence, 0-100 (default 80; AWS stores anything below 80 as 80)."""


class ConnectedHomeSpec(_Model):
    """Label detection (people, pets, packages)."""

    labels: Annotated[list[Label], Field(min_length=1, max_length=128)]
    """Non-empty set of PERSON, PET, PACKAGE, ALL."""
    min_confidence: Percent | None = None
    """Minimum label confidence, 0-100 (default 50)."""


class NotificationChannelSpec(_Model):
    """SNS topic that receives detection and end-of-session notifications."""

    sns_topic_arn: SnsTopicArn


class BoundingBoxSpec(_Model):
    """A box as ratios of the frame (0..1), which must lie inside the frame."""

    left: Ratio
    top: Ratio
    width: Ratio
    height: Ratio


class PointSpec(_Model):
    x: Ratio
    y: Ratio


class RegionOfInterestSpec(_Model):
    """Exactly one of `bounding_box` or `polygon`."""

    model_config = ConfigDict(
        json_schema_extra={"oneOf": [{"required": ["bounding_box"]}, {"required": ["polygon"]}]}
    )

    bounding_box: BoundingBoxSpec | None = None
    polygon: Annotated[list[PointSpec], Field(min_length=3, max_length=10)] | None = None
    """3 to 10 points."""


class ProcessorFields(_Model):
    """Every processor key except `name`: what `defaults` may set and a processor may override."""

    region: Region | None = None
    """AWS region, e.g. us-east-1; required on the processor or in defaults."""
    role_arn: RoleArn | None = None
    """IAM role Rekognition assumes; required on the processor or in defaults."""
    input: InputSpec | None = None
    face_search: FaceSearchSpec | None = None
    connected_home: ConnectedHomeSpec | None = None
    output: OutputSpec | None = None
    notification_channel: NotificationChannelSpec | None = None
    """connected_home only, and required there."""
    kms_key_id: KmsKeyId | None = None
    """connected_home only: KMS key (id, alias or ARN) for the S3 results."""
    regions_of_interest: Annotated[list[RegionOfInterestSpec], Field(max_length=10)] | None = None
    """Up to 10 regions of the frame to watch."""
    data_sharing: bool | None = None
    """Share data with AWS to improve its models (default false)."""
    desired_state: Literal["running", "stopped"] | None = None
    """face_search: running (default) or stopped; connected_home: stopped only (sessions end by themselves)."""
    protect: bool | None = None
    """Never delete or replace this processor (default false)."""
    tags: dict[TagKey, TagValue] | None = None
    """User tags (at most 199 after merging with defaults); keys starting aws: or spd: are refused."""


class ProcessorDefaults(ProcessorFields):
    """Values for every processor of this file; a processor's own keys win, tags merge per key."""


class ProcessorSpec(ProcessorFields):
    """One stream processor."""

    name: Name
    """Processor name, 1-128 characters of [a-zA-Z0-9_.-]; unique per region."""


class SpecDocument(_Model):
    """One spec file."""

    model_config = ConfigDict(title="spd spec")

    version: Annotated[int, Field(ge=1, le=1, json_schema_extra={"const": 1})]
    """Spec format version; must be 1."""
    stack: StackName
    """Ownership scope: every processor spd creates carries the tag spd:stack=<stack>; same in every file."""
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
    """`node` with the tag pattern in its portable form, and tag maps that refuse keys not matching it.

    pydantic publishes `dict[TagKey, TagValue]` as `patternProperties`, which only constrains the keys that
    match; `propertyNames` + `additionalProperties` make a bad key an error, as it is for `spd validate`.
    """
    if isinstance(node, list):
        return [_portable(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _portable(value) for key, value in node.items()}
    if out.get("pattern") == TAG_PATTERN:
        out["pattern"] = TAG_PATTERN_PORTABLE
    by_pattern = out.get("patternProperties")
    if isinstance(by_pattern, dict) and set(by_pattern) == {TAG_PATTERN}:
        del out["patternProperties"]
        out["propertyNames"] = {**out.get("propertyNames", {}), "pattern": TAG_PATTERN_PORTABLE}
        out["additionalProperties"] = by_pattern[TAG_PATTERN]
    return out
