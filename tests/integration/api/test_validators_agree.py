"""The spec language and the emulator accept and refuse the same values: both read `spd.api`.

For each field, a corpus of values (valid ones, and ones that break a length, a pattern, a range, a list
size or a hand-kept rule) is set on a valid spec processor and on the matching valid
CreateStreamProcessor request. The spec side is `spd validate`'s check (schema, then the processor
rules); the emulator side is the request validation its CreateStreamProcessor handler runs. Values where
spd is deliberately stricter than the API (the `spd:` tag prefix, the ARN's region, NotificationChannel
and KmsKeyId on face search) are not in the corpus: those are spd's rules, not the API's.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from spd.api import rules
from spd.api.constraints import shape_of
from spd.emulator.backend.config import EmulatorConfig
from spd.emulator.backend.errors import RekognitionError
from spd.emulator.backend.validation import parse_create
from spd.spec.schema import SpecDocument
from spd.spec.validate import check_processor

ACCOUNT = "123456789012"
KVS = f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/door/1"
KDS = f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/faces"
SNS = f"arn:aws:sns:us-east-1:{ACCOUNT}:events"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/rekognition"

FACE_SPEC: dict[str, Any] = {
    "name": "door",
    "region": "us-east-1",
    "role_arn": ROLE,
    "input": {"kinesis_video_stream_arn": KVS},
    "face_search": {"collection_id": "staff"},
    "output": {"kinesis_data_stream_arn": KDS},
}
FACE_WIRE: dict[str, Any] = {
    "Name": "door",
    "RoleArn": ROLE,
    "Input": {"KinesisVideoStream": {"Arn": KVS}},
    "Settings": {"FaceSearch": {"CollectionId": "staff"}},
    "Output": {"KinesisDataStream": {"Arn": KDS}},
}
HOME_SPEC: dict[str, Any] = {
    "name": "porch",
    "region": "us-east-1",
    "role_arn": ROLE,
    "input": {"kinesis_video_stream_arn": KVS},
    "connected_home": {"labels": ["PERSON"]},
    "output": {"s3_bucket": "porch-results"},
    "notification_channel": {"sns_topic_arn": SNS},
}
HOME_WIRE: dict[str, Any] = {
    "Name": "porch",
    "RoleArn": ROLE,
    "Input": {"KinesisVideoStream": {"Arn": KVS}},
    "Settings": {"ConnectedHome": {"Labels": ["PERSON"]}},
    "Output": {"S3Destination": {"Bucket": "porch-results"}},
    "NotificationChannel": {"SNSTopicArn": SNS},
}

NAME_MAX = int(shape_of("CreateStreamProcessorRequest", "Name").max or 0)
COLLECTION_MAX = int(
    shape_of("CreateStreamProcessorRequest", "Settings", "FaceSearch", "CollectionId").max or 0
)
PREFIX_MAX = int(shape_of("CreateStreamProcessorRequest", "Output", "S3Destination", "KeyPrefix").max or 0)
LABELS_MAX = int(shape_of("CreateStreamProcessorRequest", "Settings", "ConnectedHome", "Labels").max or 0)
REGIONS_MAX = int(shape_of("CreateStreamProcessorRequest", "RegionsOfInterest").max or 0)
TAG_KEY_MAX = int(shape_of("TagResourceRequest", "Tags").max or 0)

UNICODE_DIGITS = "١٢٣٤٥٦٧٨٩٠١٢"
"""Twelve Arabic-Indic digits: `\\d` in the model means ASCII digits, so no account id is made of these."""

# field: (kind, spec path, wire path, [values])
CORPUS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...], list[Any]]] = {
    "name": (
        "face",
        ("name",),
        ("Name",),
        [
            "a",
            "cam_1.front-door",
            "a" * NAME_MAX,
            "a" * (NAME_MAX + 1),
            "",
            "front door",
            "caméra",
            "x\n",
            "x/y",
        ],
    ),
    "collection_id": (
        "face",
        ("face_search", "collection_id"),
        ("Settings", "FaceSearch", "CollectionId"),
        ["staff.2024", "c" * COLLECTION_MAX, "c" * (COLLECTION_MAX + 1), "", "staff list", "staff\n"],
    ),
    "role_arn": (
        "face",
        ("role_arn",),
        ("RoleArn",),
        [
            ROLE,
            f"arn:aws:iam::{ACCOUNT}:role/path/to/role+x=y,z@q",
            f"arn:aws:iam::{ACCOUNT}:user/someone",
            "arn:aws:iam::12345678901:role/short-account",
            f"arn:aws:iam::{UNICODE_DIGITS}:role/r",
            f"arn:aws:iam::{ACCOUNT}:role/r\n",
            f"arn:aws-cn:iam::{ACCOUNT}:role/r",
        ],
    ),
    "video_stream": (
        "face",
        ("input", "kinesis_video_stream_arn"),
        ("Input", "KinesisVideoStream", "Arn"),
        [
            KVS,
            f"arn:aws-cn:kinesisvideo:us-east-1:{ACCOUNT}:stream/x/1",
            f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/x",
            f"arn:aws:kinesisvideo:us-east-1:{UNICODE_DIGITS}:stream/x/1",
            f"arn:AWS:kinesisvideo:us-east-1:{ACCOUNT}:stream/x/1",
            f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:",
        ],
    ),
    "data_stream": (
        "face",
        ("output", "kinesis_data_stream_arn"),
        ("Output", "KinesisDataStream", "Arn"),
        [KDS, f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/x/1", f"arn:aws:kinesis:us-east-1:{ACCOUNT}"],
    ),
    "face_match_threshold": (
        "face",
        ("face_search", "face_match_threshold"),
        ("Settings", "FaceSearch", "FaceMatchThreshold"),
        [0, 50, 79.5, 80, 100, 100.01, -0.5, 1e6],
    ),
    "sns_topic": (
        "home",
        ("notification_channel", "sns_topic_arn"),
        ("NotificationChannel", "SNSTopicArn"),
        [
            SNS,
            f"arn:aws:sns:us-east-1:{ACCOUNT}:",
            f"arn:aws:sqs:us-east-1:{ACCOUNT}:q",
            "arn:aws:sns:us-east-1:1:t",
        ],
    ),
    "kms_key": (
        "home",
        ("kms_key_id",),
        ("KmsKeyId",),
        [
            "alias/results",
            "1234abcd-12ab-34cd-56ef-1234567890ab",
            f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd",
            "",
            "-leading-dash",
            "with space",
            "k" * 2049,
        ],
    ),
    "s3_bucket": (
        "home",
        ("output", "s3_bucket"),
        ("Output", "S3Destination", "Bucket"),
        ["abc", "my.bucket-name_1", "ab", "b" * 256, "my bucket", "bucket/key"],
    ),
    "s3_key_prefix": (
        "home",
        ("output", "s3_key_prefix"),
        ("Output", "S3Destination", "KeyPrefix"),
        ["", "results/", "p" * PREFIX_MAX, "p" * (PREFIX_MAX + 1)],
    ),
    "labels": (
        "home",
        ("connected_home", "labels"),
        ("Settings", "ConnectedHome", "Labels"),
        [
            ["PERSON"],
            list(rules.CONNECTED_HOME_LABELS),
            ["PERSON", "PERSON"],
            [],
            ["DOG"],
            ["person"],
            ["PET"] * LABELS_MAX,
            ["PET"] * (LABELS_MAX + 1),
        ],
    ),
    "min_confidence": (
        "home",
        ("connected_home", "min_confidence"),
        ("Settings", "ConnectedHome", "MinConfidence"),
        [0, 49.9, 100, 101, -1],
    ),
    "tag_value": (
        "face",
        ("tags", "team"),
        ("Tags", "team"),
        ["", "video ops", "équipe 2 = top/left+@_.-", "hq!", "tab\there", "v" * 256, "v" * 257, "a#b"],
    ),
}


def _box(left: float, top: float, width: float, height: float) -> tuple[dict[str, Any], dict[str, Any]]:
    spec = {"bounding_box": {"left": left, "top": top, "width": width, "height": height}}
    wire = {"BoundingBox": {"Left": left, "Top": top, "Width": width, "Height": height}}
    return spec, wire


def _polygon(points: int) -> tuple[dict[str, Any], dict[str, Any]]:
    xy = [(0.1 + 0.05 * i, 0.2) for i in range(points)]
    return {"polygon": [{"x": x, "y": y} for x, y in xy]}, {"Polygon": [{"X": x, "Y": y} for x, y in xy]}


REGIONS: list[tuple[str, list[tuple[dict[str, Any], dict[str, Any]]]]] = [
    ("one box", [_box(0.1, 0.1, 0.5, 0.5)]),
    ("box to the edge", [_box(0.5, 0.0, 0.5, 1.0)]),
    ("box out of frame", [_box(0.6, 0.1, 0.5, 0.5)]),
    ("box a hair past the edge", [_box(0.5, 0.0, 0.5000005, 1.0)]),
    ("box just past the edge", [_box(0.5, 0.0, 0.50001, 1.0)]),
    ("negative ratio", [_box(-0.1, 0.1, 0.5, 0.5)]),
    ("ratio above 1", [_box(0.1, 1.5, 0.1, 0.1)]),
    ("fewest points", [_polygon(rules.POLYGON_MIN_POINTS)]),
    ("too few points", [_polygon(rules.POLYGON_MIN_POINTS - 1)]),
    ("most points", [_polygon(rules.POLYGON_MAX_POINTS)]),
    ("too many points", [_polygon(rules.POLYGON_MAX_POINTS + 1)]),
    ("most regions", [_box(0.1, 0.1, 0.1, 0.1)] * REGIONS_MAX),
    ("too many regions", [_box(0.1, 0.1, 0.1, 0.1)] * (REGIONS_MAX + 1)),
    (
        "box and polygon",
        [
            (
                {**_box(0.1, 0.1, 0.1, 0.1)[0], **_polygon(3)[0]},
                {**_box(0.1, 0.1, 0.1, 0.1)[1], **_polygon(3)[1]},
            )
        ],
    ),
]

TAG_KEYS = [
    "team",
    "cost-centre:video",
    "équipe",
    "",
    "k" * TAG_KEY_MAX,
    "k" * (TAG_KEY_MAX + 1),
    "a#b",
    "aws:owner",
    # AWS's tagging rules reserve the prefix in any case (`rules.RESERVED_TAG_PREFIX`): both refuse.
    "AWS:owner",
    "Aws:owner",
]


def _set(document: dict[str, Any], path: tuple[str, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(document)
    node = out
    for step in path[:-1]:
        node = node.setdefault(step, {})
    node[path[-1]] = value
    return out


def _spec_accepts(processor: dict[str, Any]) -> bool:
    document = {"version": 1, "stack": "agree", "processors": [processor]}
    try:
        SpecDocument.model_validate(document)
    except ValidationError:
        return False
    return not [issue for issue in check_processor(processor, processor, 0) if issue.severity == "error"]


def _emulator_accepts(request: dict[str, Any]) -> bool:
    try:
        parse_create(request, EmulatorConfig())
    except RekognitionError:
        return False
    return True


def _verdicts(spec: dict[str, Any], wire: dict[str, Any]) -> tuple[bool, bool]:
    return _spec_accepts(spec), _emulator_accepts(wire)


def _cases() -> list[Any]:
    cases = []
    for field, (kind, spec_path, wire_path, values) in CORPUS.items():
        for i, value in enumerate(values):
            cases.append(pytest.param(kind, spec_path, wire_path, value, id=f"{field}-{i}"))
    return cases


@pytest.mark.parametrize(("kind", "spec_path", "wire_path", "value"), _cases())
def test_a_field_value_is_accepted_by_both_or_refused_by_both(
    kind: str, spec_path: tuple[str, ...], wire_path: tuple[str, ...], value: Any
) -> None:
    spec, wire = (FACE_SPEC, FACE_WIRE) if kind == "face" else (HOME_SPEC, HOME_WIRE)
    ours, theirs = _verdicts(_set(spec, spec_path, value), _set(wire, wire_path, value))
    assert ours == theirs, (
        f"spec {'accepts' if ours else 'refuses'}, emulator {'accepts' if theirs else 'refuses'}"
    )


@pytest.mark.parametrize("key", TAG_KEYS)
def test_a_tag_key_is_accepted_by_both_or_refused_by_both(key: str) -> None:
    ours, theirs = _verdicts(_set(FACE_SPEC, ("tags",), {key: "v"}), _set(FACE_WIRE, ("Tags",), {key: "v"}))
    assert ours == theirs


@pytest.mark.parametrize(("regions"), [pytest.param(r, id=name) for name, r in REGIONS])
def test_regions_of_interest_are_accepted_by_both_or_refused_by_both(
    regions: list[tuple[dict[str, Any], dict[str, Any]]],
) -> None:
    spec = _set(HOME_SPEC, ("regions_of_interest",), [s for s, _ in regions])
    wire = _set(HOME_WIRE, ("RegionsOfInterest",), [w for _, w in regions])
    ours, theirs = _verdicts(spec, wire)
    assert ours == theirs


def test_the_corpus_has_both_verdicts_for_every_field() -> None:
    """A corpus where every value is valid (or every one invalid) would show nothing."""
    for field, (kind, spec_path, wire_path, values) in CORPUS.items():
        spec, wire = (FACE_SPEC, FACE_WIRE) if kind == "face" else (HOME_SPEC, HOME_WIRE)
        verdicts = {_verdicts(_set(spec, spec_path, v), _set(wire, wire_path, v))[1] for v in values}
        assert verdicts == {True, False}, field


def test_the_kinds_rules_agree() -> None:
    """The other kind's members on a processor: both refuse; the base processors: both accept."""
    assert _verdicts(FACE_SPEC, FACE_WIRE) == (True, True)
    assert _verdicts(HOME_SPEC, HOME_WIRE) == (True, True)
    # A face-search processor's NotificationChannel and KmsKeyId: the API reference only says they
    # "should not be used", so the emulator accepts them (refusing them is a setting); spd's spec is
    # deliberately stricter and refuses them (`rules.KIND_RULES`, `rules.LABEL_DETECTION_ONLY`).
    with_channel = _set(FACE_SPEC, ("notification_channel",), {"sns_topic_arn": SNS})
    channel_wire = _set(FACE_WIRE, ("NotificationChannel",), {"SNSTopicArn": SNS})
    assert _verdicts(with_channel, channel_wire) == (False, True)
    with_key = _set(FACE_SPEC, ("kms_key_id",), "alias/results")
    key_wire = _set(FACE_WIRE, ("KmsKeyId",), "alias/results")
    assert _verdicts(with_key, key_wire) == (False, True)
    refusing = EmulatorConfig(face_search_kms_and_notification=False)
    for wire in (channel_wire, key_wire):
        with pytest.raises(RekognitionError):
            parse_create(wire, refusing)
    spec = {key: value for key, value in HOME_SPEC.items() if key != "notification_channel"}
    wire = {key: value for key, value in HOME_WIRE.items() if key != "NotificationChannel"}
    assert _verdicts(spec, wire) == (False, False)
    both = _set(FACE_SPEC, ("connected_home",), {"labels": ["PET"]})
    assert _verdicts(both, _set(FACE_WIRE, ("Settings", "ConnectedHome"), {"Labels": ["PET"]})) == (
        False,
        False,
    )


def _string_members(structure: str, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    """Every string member under a request structure, with its shape, found by walking the model."""
    from spd.api.model import MODEL

    found = []
    for member in MODEL.shape(structure).members:
        shape = MODEL.shape(member.shape)
        if shape.type == "structure":
            found += _string_members(shape.name, (*path, member.name))
        elif shape.type == "string":
            found.append(((*path, member.name), shape))
    return found


CREATE_STRINGS = [
    (path, shape)
    for path, shape in _string_members("CreateStreamProcessorRequest")
    if shape.max is not None or shape.pattern is not None  # members the model constrains
]


def _refusal(request: dict[str, Any]) -> str:
    with pytest.raises(RekognitionError) as info:
        parse_create(request, EmulatorConfig())
    return info.value.message


@pytest.mark.parametrize(("path", "shape"), [pytest.param(p, s, id=".".join(p)) for p, s in CREATE_STRINGS])
def test_the_emulator_enforces_every_string_constraint_of_the_model(
    path: tuple[str, ...], shape: Any
) -> None:
    """Bounds and patterns come from walking the model, so every member has them, with AWS's wording."""
    where = ".".join(path)
    if shape.max is not None:
        message = _refusal(_set(FACE_WIRE, path, "a" * (int(shape.max) + 1)))
        assert (
            f"at '{where}' failed to satisfy constraint: Member must have length less than or equal to {int(shape.max)}"
            in message
        )
    if shape.pattern is not None:
        message = _refusal(_set(FACE_WIRE, path, "\n"))
        assert (
            f"at '{where}' failed to satisfy constraint: Member must satisfy regular expression pattern: {shape.pattern}"
            in message
        )
