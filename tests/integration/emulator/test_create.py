"""CreateStreamProcessor: every request constraint at its boundary, the cross-field rules, the defaults
Describe echoes, uniqueness of names and streams, and the processor limit."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

Request = dict[str, Any]
Mutation = Callable[[Request], None]


def _set(path: str, value: Any) -> Mutation:
    """A mutation that sets a dotted path in the request (creating structures on the way)."""

    def mutate(request: Request) -> None:
        node = request
        *parents, last = path.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[last] = value

    return mutate


def _drop(path: str) -> Mutation:
    def mutate(request: Request) -> None:
        node = request
        *parents, last = path.split(".")
        for key in parents:
            node = node[key]
        del node[last]

    return mutate


def _box(left: float = 0.1, top: float = 0.1, width: float = 0.5, height: float = 0.5) -> dict[str, Any]:
    return {"BoundingBox": {"Left": left, "Top": top, "Width": width, "Height": height}}


def _polygon(points: int) -> dict[str, Any]:
    return {"Polygon": [{"X": (i + 1) / (points + 2), "Y": 0.5} for i in range(points)]}


def _tags(count: int) -> dict[str, str]:
    return {f"k{i}": "v" for i in range(count)}


FACE = "face"
HOME = "home"

VALID: list[tuple[str, str, list[Mutation]]] = [
    ("name 128 chars", FACE, [_set("Name", "n" * 128)]),
    ("name with . _ -", FACE, [_set("Name", "cam.1_a-b")]),
    ("collection id 255 chars", FACE, [_set("Settings.FaceSearch.CollectionId", "c" * 255)]),
    ("threshold 0", FACE, [_set("Settings.FaceSearch.FaceMatchThreshold", 0)]),
    ("threshold 100", FACE, [_set("Settings.FaceSearch.FaceMatchThreshold", 100)]),
    # "should not be used to create a face search stream processor" is said of all three alike, and is
    # advice, not a documented refusal (API_CreateStreamProcessor): all three are accepted.
    ("face search with regions of interest", FACE, [_set("RegionsOfInterest", [_box()])]),
    (
        "face search with notification channel",
        FACE,
        [_set("NotificationChannel", {"SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:t"})],
    ),
    ("face search with KMS key", FACE, [_set("KmsKeyId", "key-1")]),
    ("50 tags", FACE, [_set("Tags", _tags(50))]),
    ("tag key 128, value 256", FACE, [_set("Tags", {"k" * 128: "v" * 256})]),
    ("unicode tag", FACE, [_set("Tags", {"équipe vision": "Zürich 1 @+=.:/_-"})]),
    ("empty tag value", FACE, [_set("Tags", {"team": ""})]),
    ("min confidence 0", HOME, [_set("Settings.ConnectedHome.MinConfidence", 0)]),
    ("min confidence 100", HOME, [_set("Settings.ConnectedHome.MinConfidence", 100)]),
    ("labels PERSON and ALL", HOME, [_set("Settings.ConnectedHome.Labels", ["PERSON", "ALL"])]),
    ("every label", HOME, [_set("Settings.ConnectedHome.Labels", ["PERSON", "PET", "PACKAGE", "ALL"])]),
    ("10 regions of interest", HOME, [_set("RegionsOfInterest", [_box()] * 10)]),
    ("polygon of 3 points", HOME, [_set("RegionsOfInterest", [_polygon(3)])]),
    ("polygon of 10 points", HOME, [_set("RegionsOfInterest", [_polygon(10)])]),
    ("box touching the frame edge", HOME, [_set("RegionsOfInterest", [_box(0.5, 0.5, 0.5, 0.5)])]),
    ("KMS key of 2048 chars", HOME, [_set("KmsKeyId", "k" * 2048)]),
    ("KMS key ARN", HOME, [_set("KmsKeyId", "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab")]),
    ("bucket of 255 chars", HOME, [_set("Output.S3Destination.Bucket", "b" * 255)]),
    ("key prefix of 1024 chars", HOME, [_set("Output.S3Destination.KeyPrefix", "p" * 1024)]),
    ("no key prefix", HOME, [_drop("Output.S3Destination.KeyPrefix")]),
    ("data sharing opt in", HOME, [_set("DataSharingPreference", {"OptIn": True})]),
]

INVALID: list[tuple[str, str, list[Mutation]]] = [
    ("name 129 chars", FACE, [_set("Name", "n" * 129)]),
    ("name with a space", FACE, [_set("Name", "bad name")]),
    ("name with a slash", FACE, [_set("Name", "cam/1")]),
    ("name with a trailing newline", FACE, [_set("Name", "cam\n")]),
    ("collection id 256 chars", FACE, [_set("Settings.FaceSearch.CollectionId", "c" * 256)]),
    ("collection id pattern", FACE, [_set("Settings.FaceSearch.CollectionId", "staff!")]),
    ("threshold 100.01", FACE, [_set("Settings.FaceSearch.FaceMatchThreshold", 100.01)]),
    ("min confidence 100.01", HOME, [_set("Settings.ConnectedHome.MinConfidence", 100.01)]),
    ("11 regions of interest", HOME, [_set("RegionsOfInterest", [_box()] * 11)]),
    ("polygon of 2 points", HOME, [_set("RegionsOfInterest", [_polygon(2)])]),
    ("polygon of 11 points", HOME, [_set("RegionsOfInterest", [_polygon(11)])]),
    ("region with box and polygon", HOME, [_set("RegionsOfInterest", [{**_box(), **_polygon(3)}])]),
    ("region with neither", HOME, [_set("RegionsOfInterest", [{}])]),
    ("coordinate above 1", HOME, [_set("RegionsOfInterest", [_box(width=1.01, left=0.0)])]),
    ("box outside the frame", HOME, [_set("RegionsOfInterest", [_box(left=0.6, width=0.5)])]),
    ("unknown label", HOME, [_set("Settings.ConnectedHome.Labels", ["CAT"])]),
    ("lower-case label", HOME, [_set("Settings.ConnectedHome.Labels", ["person"])]),
    ("KMS key of 2049 chars", HOME, [_set("KmsKeyId", "k" * 2049)]),
    ("KMS key pattern", HOME, [_set("KmsKeyId", "-key")]),
    ("bucket of 256 chars", HOME, [_set("Output.S3Destination.Bucket", "b" * 256)]),
    ("bucket pattern", HOME, [_set("Output.S3Destination.Bucket", "bad bucket")]),
    ("key prefix of 1025 chars", HOME, [_set("Output.S3Destination.KeyPrefix", "p" * 1025)]),
    ("role ARN pattern", FACE, [_set("RoleArn", "arn:aws:iam::123:role/x")]),
    (
        "video stream ARN pattern",
        FACE,
        [_set("Input.KinesisVideoStream.Arn", "arn:aws:kinesis:us-east-1:123456789012:stream/x")],
    ),
    ("data stream ARN pattern", FACE, [_set("Output.KinesisDataStream.Arn", "arn:aws:s3:::bucket")]),
    (
        "SNS topic ARN pattern",
        HOME,
        [_set("NotificationChannel.SNSTopicArn", "arn:aws:sqs:us-east-1:123456789012:q")],
    ),
    ("201 tags", FACE, [_set("Tags", _tags(201))]),
    ("tag key 129 chars", FACE, [_set("Tags", {"k" * 129: "v"})]),
    ("tag value 257 chars", FACE, [_set("Tags", {"k": "v" * 257})]),
    ("tag key aws:", FACE, [_set("Tags", {"aws:owner": "me"})]),
    ("tag key pattern", FACE, [_set("Tags", {"bad!key": "v"})]),
    ("tag value pattern", FACE, [_set("Tags", {"k": "bad!value"})]),
    ("both FaceSearch and ConnectedHome", FACE, [_set("Settings.ConnectedHome", {"Labels": ["PERSON"]})]),
    ("neither FaceSearch nor ConnectedHome", FACE, [_set("Settings", {})]),
    ("face search to S3", FACE, [_set("Output", {"S3Destination": {"Bucket": "spd-results"}})]),
    (
        "connected home to a data stream",
        HOME,
        [_set("Output", {"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/x"}})],
    ),
    ("both outputs", FACE, [_set("Output.S3Destination", {"Bucket": "spd-results"})]),
    ("no output", FACE, [_set("Output", {})]),
    ("connected home without notification channel", HOME, [_drop("NotificationChannel")]),
]


def _request(target: Any, kind: str, mutations: list[Mutation]) -> Request:
    base = target.face_search_request() if kind == FACE else target.connected_home_request()
    request = copy.deepcopy(base)
    for mutate in mutations:
        mutate(request)
    return request


@pytest.mark.parametrize(("case", "kind", "mutations"), VALID, ids=[c[0] for c in VALID])
def test_accepts_boundary_values(target: Any, case: str, kind: str, mutations: list[Mutation]) -> None:
    request = _request(target, kind, mutations)
    arn = target.create(request)
    assert arn.endswith(f":streamprocessor/{request['Name']}")
    assert target.status(request["Name"]) == "STOPPED"


@pytest.mark.parametrize(("case", "kind", "mutations"), INVALID, ids=[c[0] for c in INVALID])
def test_rejects_constraint_violations(target: Any, case: str, kind: str, mutations: list[Mutation]) -> None:
    request = _request(target, kind, mutations)
    with target.error("InvalidParameterException", 400):
        target.create(request)


def test_face_search_defaults_are_echoed(target: Any) -> None:
    arn = target.create(target.face_search_request("faces"))
    described = target.describe(target.name("faces"))
    assert described["Status"] == "STOPPED"
    assert described["StreamProcessorArn"] == arn
    assert (
        arn == f"arn:aws:rekognition:{target.region}:{target.account}:streamprocessor/{target.name('faces')}"
    )
    assert described["Settings"]["FaceSearch"]["FaceMatchThreshold"] == 80.0
    assert described["DataSharingPreference"] == {"OptIn": False}
    assert described["CreationTimestamp"] == described["LastUpdateTimestamp"]
    assert "StatusMessage" not in described
    assert "NotificationChannel" not in described
    assert "RegionsOfInterest" not in described


@pytest.mark.parametrize(("sent", "stored"), [(0, 80.0), (79.9, 80.0), (85.5, 85.5), (100, 100.0)])
def test_face_match_threshold_below_80_is_stored_as_80(target: Any, sent: float, stored: float) -> None:
    name = target.create_face_search(
        "faces", Settings={"FaceSearch": {"CollectionId": "staff", "FaceMatchThreshold": sent}}
    )
    assert target.describe(name)["Settings"]["FaceSearch"]["FaceMatchThreshold"] == stored


def test_connected_home_defaults_and_float32_storage(target: Any) -> None:
    name = target.create_connected_home("porch")
    described = target.describe(name)
    assert described["Settings"]["ConnectedHome"] == {"Labels": ["PERSON", "PACKAGE"], "MinConfidence": 50.0}
    assert described["NotificationChannel"] == {"SNSTopicArn": target.sns()}
    assert described["Output"] == {"S3Destination": {"Bucket": "spd-results", "KeyPrefix": "porch/"}}

    other = target.create_connected_home(
        "porch2",
        Settings={"ConnectedHome": {"Labels": ["PET"], "MinConfidence": 0.1}},
        RegionsOfInterest=[_box(0.1, 0.2, 0.3, 0.4), _polygon(3)],
    )
    described = target.describe(other)
    assert described["Settings"]["ConnectedHome"]["MinConfidence"] == 0.10000000149011612
    box = described["RegionsOfInterest"][0]["BoundingBox"]
    assert box == {
        "Left": 0.10000000149011612,
        "Top": 0.20000000298023224,
        "Width": 0.30000001192092896,
        "Height": 0.4000000059604645,
    }
    assert len(described["RegionsOfInterest"][1]["Polygon"]) == 3


def test_duplicate_name_is_in_use(target: Any) -> None:
    target.create_face_search("faces")
    request = target.face_search_request(
        "faces",
        Input={"KinesisVideoStream": {"Arn": target.kvs("other")}},
        Output={"KinesisDataStream": {"Arn": target.kds("other")}},
    )
    with target.error("ResourceInUseException", 400, "already in use"):
        target.create(request)


def test_one_processor_per_video_stream(target: Any) -> None:
    target.create_face_search("faces", Input={"KinesisVideoStream": {"Arn": target.kvs("shared")}})
    with target.error("ResourceInUseException", 400):
        target.create_connected_home("porch", Input={"KinesisVideoStream": {"Arn": target.kvs("shared")}})


def test_one_processor_per_data_stream(target: Any) -> None:
    target.create_face_search("faces1", Output={"KinesisDataStream": {"Arn": target.kds("shared")}})
    with target.error("ResourceInUseException", 400):
        target.create_face_search("faces2", Output={"KinesisDataStream": {"Arn": target.kds("shared")}})


def test_streams_are_free_again_after_delete(target: Any) -> None:
    name = target.create_face_search("faces1", Input={"KinesisVideoStream": {"Arn": target.kvs("shared")}})
    target.client.delete_stream_processor(Name=name)
    target.wait_gone(name)
    target.create_face_search("faces2", Input={"KinesisVideoStream": {"Arn": target.kvs("shared")}})


def test_processor_limit(target: Any, control: Any) -> None:
    control.configure(max_processors=2)
    target.create_face_search("a")
    target.create_face_search("b")
    with target.error("LimitExceededException", 400) as info:
        target.create_face_search("c")
    assert info.value.response["Error"]["Message"] == "Stream processor limit exceeded for account, limit - 2"


def test_processor_limit_is_per_region(target: Any, control: Any) -> None:
    control.configure(max_processors=1)
    target.create_face_search("a")
    other = control.client("eu-west-1")
    other.create_stream_processor(**target.face_search_request("a"))
    assert other.describe_stream_processor(Name="a")["StreamProcessorArn"].startswith(
        "arn:aws:rekognition:eu-west-1:"
    )


def test_tags_given_at_create_are_listed(target: Any) -> None:
    arn = target.create(target.face_search_request("faces", Tags={"team": "vision", "spd:stack": "lobby"}))
    tags = target.client.list_tags_for_resource(ResourceArn=arn)["Tags"]
    assert tags == {"team": "vision", "spd:stack": "lobby"}


def test_tag_quota_applies_at_create(target: Any, control: Any) -> None:
    control.configure(max_tags=2)
    with target.error("ServiceQuotaExceededException", 400):
        target.create(target.face_search_request("faces", Tags=_tags(3)))


@pytest.mark.parametrize(
    ("setting", "request_extra", "accepted"),
    [
        ({"face_search_regions_of_interest": False}, {"RegionsOfInterest": [_box()]}, False),
        ({"face_search_kms_and_notification": False}, {"KmsKeyId": "key-1"}, False),
        (
            {"face_search_kms_and_notification": False},
            {"NotificationChannel": {"SNSTopicArn": "arn:aws:sns:us-east-1:123456789012:t"}},
            False,
        ),
        ({"polygon_min_points": 4}, {"RegionsOfInterest": [_polygon(3)]}, False),
        ({"coordinate_checks": False}, {"RegionsOfInterest": [_box(left=0.9, width=0.9)]}, True),
    ],
)
def test_inferred_rules_are_settings(
    target: Any, control: Any, setting: dict[str, Any], request_extra: dict[str, Any], accepted: bool
) -> None:
    control.configure(**setting)
    request = target.face_search_request("faces", **request_extra)
    if accepted:
        target.create(request)
        assert target.status(request["Name"]) == "STOPPED"
    else:
        with target.error("InvalidParameterException", 400):
            target.create(request)


def test_validation_messages_name_the_member(target: Any, control: Any) -> None:
    with target.error("InvalidParameterException", 400) as info:
        target.create(target.face_search_request("n" * 129))
    message = info.value.response["Error"]["Message"]
    assert "at 'Name'" in message
    assert "128" in message

    control.configure(detailed_messages=False)
    with target.error("InvalidParameterException", 400) as info:
        target.create(target.face_search_request("n" * 129))
    assert info.value.response["Error"]["Message"] == "Request has invalid parameters"


def test_validation_error_code_is_a_setting(target: Any, control: Any) -> None:
    control.configure(validation_error="ValidationException")
    with target.error("ValidationException", 400):
        target.create(target.face_search_request("n" * 129))
