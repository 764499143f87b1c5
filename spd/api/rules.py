"""What the service enforces or does that botocore's model does not say, kept by hand in one place.

Each value says how it is known: [C] confirmed by AWS's documentation, [I] inferred (see
docs/reference/emulator-fidelity.md). The spec
language, the planner and the emulator read these; nothing else restates them.
"""

from __future__ import annotations

import struct
from typing import Final

STREAM_PROCESSOR_OPERATIONS: Final = (
    "CreateStreamProcessor",
    "DescribeStreamProcessor",
    "ListStreamProcessors",
    "StartStreamProcessor",
    "StopStreamProcessor",
    "UpdateStreamProcessor",
    "DeleteStreamProcessor",
    "TagResource",
    "UntagResource",
    "ListTagsForResource",
)
"""The ten operations that manage stream processors: the keys of rate limits, emulator quotas and faults."""

MUTATING_STREAM_PROCESSOR_OPERATIONS: Final = frozenset(
    {
        "CreateStreamProcessor",
        "UpdateStreamProcessor",
        "DeleteStreamProcessor",
        "StartStreamProcessor",
        "StopStreamProcessor",
        "TagResource",
        "UntagResource",
    }
)
"""The stream-processor calls that change something: CloudTrail records each as an event that can make
a processor differ from its spec (the emulator emits them, the daemon's watch reads them)."""

COLLECTION_OPERATIONS: Final = (
    "CreateCollection",
    "DeleteCollection",
    "DescribeCollection",
    "ListCollections",
)
"""The face-collection operations that preflight reads and the emulator serves."""

CONNECTED_HOME_LABELS: Final = ("PERSON", "PET", "PACKAGE", "ALL")
"""ConnectedHome.Labels values [C]: doc text only, the model has no enum, so the server enforces it.
In the documentation's order, which is the order messages list them in."""

PARAMETERS_TO_DELETE: Final = ("ConnectedHomeMinConfidence", "RegionsOfInterest")
"""UpdateStreamProcessor's ParametersToDelete values, as names for code that deletes them (the model's
enum is what requests are validated against; `tests/api` checks the two agree)."""

SERVICE_REQUIRED: Final = frozenset(
    {
        ("StreamProcessorInput", "KinesisVideoStream"),
        ("KinesisVideoStream", "Arn"),
        ("KinesisDataStream", "Arn"),
        ("S3Destination", "Bucket"),
        ("FaceSearchSettings", "CollectionId"),
    }
)
"""(structure, member) pairs the service requires though the model marks them optional [I]: a stream
processor needs its video stream, an output needs its ARN or bucket, a face search its collection."""

POLYGON_MIN_POINTS: Final = 3
POLYGON_MAX_POINTS: Final = 10
"""A polygon region of interest: the model has no size; the docs say "up to 10 Point objects"
(API_RegionOfInterest) [C]. The minimum of 3 is not in AWS's documents: a shape needs three corners,
and Terraform requires them; the emulator's own stricter choice (setting `polygon_min_points`)."""

MAX_TAGS_PER_RESOURCE: Final = 50
"""User tags a resource may carry: "Maximum number of tags per resource - 50" in AWS's tagging rules
(the Tagging AWS Resources guide that TagResource refers to). The request map's own limit (200 entries)
is the model's; `aws:` tags do not count, and users cannot set them [C]."""

RESERVED_TAG_PREFIX: Final = "aws:"
"""Tag keys AWS keeps for itself, in any case: "Do not use aws:, AWS:, or any upper or lowercase
combination of such as a prefix" (AWS's tagging rules) [C]. The model's TagKey pattern `^(?!aws:)` only
catches the lower-case spelling, so the service rule is this one."""


def reserved_tag_key(key: str) -> bool:
    """Is `key` one of AWS's own (an `aws:` prefix in any case)?"""
    return key[: len(RESERVED_TAG_PREFIX)].lower() == RESERVED_TAG_PREFIX


COORDINATE_MIN: Final = 0.0
COORDINATE_MAX: Final = 1.0
"""Coordinates are ratios of the frame [C]; the model puts no range on them, so this rule is the service's."""

COORDINATE_TOLERANCE: Final = 1e-6
"""Slack for `Left + Width <= 1` with single-precision values."""

DEFAULT_FACE_MATCH_THRESHOLD: Final = 80.0
"""FaceMatchThreshold when absent, and the least value the service keeps: lower values are stored as 80 [C]."""

DEFAULT_MIN_CONFIDENCE: Final = 50.0
"""ConnectedHome.MinConfidence when absent [C]."""

DEFAULT_DATA_SHARING_OPT_IN: Final = False
"""DataSharingPreference.OptIn echoed when absent [I]."""

MAX_SESSION_SECONDS: Final = 120
"""StopSelector.MaxDurationInSeconds upper bound of a connected-home session [C]."""

DEFAULT_SESSION_SECONDS: Final = 10
"""StopSelector.MaxDurationInSeconds when a Start leaves it out ("The default is 10 seconds") [C]."""

PRODUCER_TIMESTAMP_MIN_MS: Final = 10**12
"""KVSStreamStartSelector.ProducerTimestamp is in milliseconds [C]; below 10^12 (September 2001 in
milliseconds, 33,000 years ahead in seconds) a value is taken for seconds and refused [I]."""

FACE_SEARCH: Final = "face_search"
CONNECTED_HOME: Final = "connected_home"

KIND_RULES: Final = {
    FACE_SEARCH: {
        "settings": "FaceSearch",
        "output": "KinesisDataStream",
        "forbidden": ("NotificationChannel", "KmsKeyId"),
    },
    CONNECTED_HOME: {
        "settings": "ConnectedHome",
        "output": "S3Destination",
        "required": ("NotificationChannel",),
    },
}
"""Which settings go with which output and channel [C]: exactly one of FaceSearch/ConnectedHome, and the
output to match (FaceSearch → KinesisDataStream; ConnectedHome → S3Destination plus an SNS channel).
`forbidden` is what spd's spec language refuses on a face-search processor; the service itself only
says they "should not be used" (`LABEL_DETECTION_ONLY`)."""

LABEL_DETECTION_ONLY: Final = ("NotificationChannel", "KmsKeyId", "RegionsOfInterest")
"""CreateStreamProcessor members the API reference describes, each in the same words, as for label
detection processors that "should not be used to create a face search stream processor" [C]. That is
advice, not a documented refusal, so the emulator accepts all three on a face-search processor unless
its settings say otherwise (`face_search_kms_and_notification`, `face_search_regions_of_interest`)."""

FACE_SEARCH_UPDATABLE: Final = ("DataSharingPreferenceForUpdate", "RegionsOfInterestForUpdate")
"""UpdateStreamProcessor members that apply to a face-search processor: the API reference documents
`DataSharingPreferenceForUpdate` for every processor, and RegionsOfInterest are accepted on face search
as above. `SettingsForUpdate` holds only ConnectedHomeForUpdate, so it cannot apply to face search [C]."""

ERROR_STATUS: Final = {
    "AccessDeniedException": 400,
    "InternalServerError": 500,
    "InvalidPaginationTokenException": 400,
    "InvalidParameterException": 400,
    "LimitExceededException": 400,
    "ProvisionedThroughputExceededException": 400,
    "ResourceAlreadyExistsException": 400,
    "ResourceInUseException": 400,
    "ResourceNotFoundException": 400,
    "ServiceQuotaExceededException": 400,
    "ThrottlingException": 500,
}
"""HTTP status of each modelled error [C]: 500 for InternalServerError and ThrottlingException."""


def f32(value: float) -> float:
    """Round through single precision, as the service stores every Float and Percent [C]."""
    rounded: float = struct.unpack("f", struct.pack("f", float(value)))[0]
    return rounded
