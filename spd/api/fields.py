"""The one table of a stream processor's configuration fields, kept by hand.

Each row says, for one field: its key path in the spec (and in plans), the attribute of the domain's
`ProcessorConfig` that holds it, where it travels in CreateStreamProcessor's request and
DescribeStreamProcessor's response, where UpdateStreamProcessor takes it (None: not updatable in place),
which `ParametersToDelete` value clears it, and the value the service holds when it is absent.

The planner derives from it what it compares, what it may update in place and the update request; the
AWS mapping derives the Create request, the Update request and the reading of a Describe response. So a
field is added in one place, and `tests/unit/api/test_fields.py` checks the table against `spd.api.model`:
every member of the create, update and describe shapes is either a row here or named in
`OTHER_MEMBERS`, and every path resolves in the model.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Final

from spd.api import rules


class Codec(StrEnum):
    """How a field's value is written on the wire (and read back)."""

    STRING = "string"
    FLOAT = "float"
    BOOL = "bool"
    LABELS = "labels"
    """A list of strings on the wire, a sorted tuple in the domain."""
    REGIONS = "regions"
    """A list of BoundingBox/Polygon structures on the wire, region values in the domain."""


@dataclass(frozen=True, slots=True)
class ConfigField:
    """One configuration field of a stream processor (see the module docstring)."""

    spec: str
    """Key path in the spec, as plans and drift events name the field."""
    attr: str
    """Attribute path on the domain's ProcessorConfig (`settings.labels`)."""
    wire: tuple[str, ...]
    """Member path in CreateStreamProcessorRequest, identical in DescribeStreamProcessorResponse."""
    codec: Codec = Codec.STRING
    kind: str | None = None
    """The processor kind the field belongs to (`rules.FACE_SEARCH`/`rules.CONNECTED_HOME`); None: both."""
    update: tuple[str, ...] | None = None
    """Member path in UpdateStreamProcessorRequest; None when only a replace can change the field."""
    delete: str | None = None
    """The ParametersToDelete value that resets the field to `default`; None when it cannot be cleared."""
    default: Any = None
    """What the service holds (and Describe implies) when the field is absent."""

    @property
    def leaf(self) -> str:
        """The attribute's own name (also its name in `spd.model.UpdateRequest`)."""
        return self.attr.rsplit(".", 1)[-1]

    @property
    def updatable(self) -> bool:
        return self.update is not None

    def applies_to(self, kind: str) -> bool:
        return self.kind is None or self.kind == kind


FIELDS: Final = (
    ConfigField("role_arn", "role_arn", ("RoleArn",), default=""),
    ConfigField(
        "input.kinesis_video_stream_arn",
        "kinesis_video_stream_arn",
        ("Input", "KinesisVideoStream", "Arn"),
        default="",
    ),
    ConfigField(
        "output.kinesis_data_stream_arn", "kinesis_data_stream_arn", ("Output", "KinesisDataStream", "Arn")
    ),
    ConfigField("output.s3_bucket", "s3_bucket", ("Output", "S3Destination", "Bucket")),
    ConfigField("output.s3_key_prefix", "s3_key_prefix", ("Output", "S3Destination", "KeyPrefix")),
    ConfigField(
        "notification_channel.sns_topic_arn", "sns_topic_arn", ("NotificationChannel", "SNSTopicArn")
    ),
    ConfigField("kms_key_id", "kms_key_id", ("KmsKeyId",)),
    ConfigField(
        "regions_of_interest",
        "regions_of_interest",
        ("RegionsOfInterest",),
        Codec.REGIONS,
        update=("RegionsOfInterestForUpdate",),
        delete="RegionsOfInterest",
        default=(),
    ),
    ConfigField(
        "data_sharing",
        "data_sharing",
        ("DataSharingPreference", "OptIn"),
        Codec.BOOL,
        update=("DataSharingPreferenceForUpdate", "OptIn"),
        default=rules.DEFAULT_DATA_SHARING_OPT_IN,
    ),
    ConfigField(
        "face_search.collection_id",
        "settings.collection_id",
        ("Settings", "FaceSearch", "CollectionId"),
        kind=rules.FACE_SEARCH,
        default="",
    ),
    ConfigField(
        "face_search.face_match_threshold",
        "settings.face_match_threshold",
        ("Settings", "FaceSearch", "FaceMatchThreshold"),
        Codec.FLOAT,
        kind=rules.FACE_SEARCH,
        default=rules.DEFAULT_FACE_MATCH_THRESHOLD,
    ),
    ConfigField(
        "connected_home.labels",
        "settings.labels",
        ("Settings", "ConnectedHome", "Labels"),
        Codec.LABELS,
        kind=rules.CONNECTED_HOME,
        update=("SettingsForUpdate", "ConnectedHomeForUpdate", "Labels"),
        default=(),
    ),
    ConfigField(
        "connected_home.min_confidence",
        "settings.min_confidence",
        ("Settings", "ConnectedHome", "MinConfidence"),
        Codec.FLOAT,
        kind=rules.CONNECTED_HOME,
        update=("SettingsForUpdate", "ConnectedHomeForUpdate", "MinConfidence"),
        delete="ConnectedHomeMinConfidence",
        default=rules.DEFAULT_MIN_CONFIDENCE,
    ),
)
"""In the order plans list a new processor's fields."""

UPDATABLE_KINDS: Final = frozenset({rules.CONNECTED_HOME})
"""Kinds whose updatable fields UpdateStreamProcessor changes in place; any change to a face-search
processor (other than its tags) replaces it (docs/explanation/plan-semantics.md)."""

OTHER_MEMBERS: Final = {
    "CreateStreamProcessorRequest": frozenset({"Name", "Tags"}),
    "UpdateStreamProcessorRequest": frozenset({"Name", "ParametersToDelete"}),
    "DescribeStreamProcessorResponse": frozenset(
        {"Name", "StreamProcessorArn", "Status", "StatusMessage", "CreationTimestamp", "LastUpdateTimestamp"}
    ),
}
"""Members of the three shapes that are not configuration fields: identity, tags, status, timestamps."""

BY_SPEC: Final = {f.spec: f for f in FIELDS}
UPDATABLE: Final = tuple(f for f in FIELDS if f.updatable)
