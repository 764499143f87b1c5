"""One row per spec rule: a valid spec, one change, the diagnostic it must produce (path and message).

Positions are checked by the corpus test; here each row proves the rule exists and names the right key.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from spd.errors import SpecError
from spec_support import KDS, KVS, SNS, del_in, dump_yaml, errors_of, load_text, set_in, valid_data

P0 = ("processors", 0)  # the face-search processor of the valid spec
P1 = ("processors", 1)  # the connected-home processor

Mutation = Callable[[dict[str, Any]], None]


def setting(path: tuple[Any, ...], value: Any) -> Mutation:
    return lambda data: set_in(data, path, value)


def deleting(path: tuple[Any, ...]) -> Mutation:
    return lambda data: del_in(data, path)


def both(*mutations: Mutation) -> Mutation:
    def apply(data: dict[str, Any]) -> None:
        for mutation in mutations:
            mutation(data)

    return apply


def box(left: float, top: float, width: float, height: float) -> dict[str, Any]:
    return {"bounding_box": {"left": left, "top": top, "width": width, "height": height}}


def points(count: int) -> list[dict[str, float]]:
    return [{"x": i / 20, "y": (i % 3) / 3} for i in range(count)]


RULES: list[tuple[str, Mutation, str, str]] = [
    # names
    ("name-129", setting((*P0, "name"), "a" * 129), "processors[0].name", "at most 128 characters"),
    ("name-space", setting((*P0, "name"), "lobby faces"), "processors[0].name", "must match"),
    ("name-empty", setting((*P0, "name"), ""), "processors[0].name", "at least 1 character"),
    ("name-trailing-newline", setting((*P0, "name"), "lobby\n"), "processors[0].name", "must match"),
    ("name-missing", deleting((*P0, "name")), "processors[0].name", "missing required key 'name'"),
    ("name-number", setting((*P0, "name"), 42), "processors[0].name", "expected a string, got integer 42"),
    # face search settings
    (
        "collection-256",
        setting((*P0, "face_search", "collection_id"), "c" * 256),
        "processors[0].face_search.collection_id",
        "at most 255 characters",
    ),
    (
        "collection-pattern",
        setting((*P0, "face_search", "collection_id"), "staff/2"),
        "processors[0].face_search.collection_id",
        "must match",
    ),
    (
        "collection-missing",
        deleting((*P0, "face_search", "collection_id")),
        "processors[0].face_search.collection_id",
        "missing required key",
    ),
    (
        "threshold-100.01",
        setting((*P0, "face_search", "face_match_threshold"), 100.01),
        "processors[0].face_search.face_match_threshold",
        "between 0 and 100",
    ),
    (
        "threshold-negative",
        setting((*P0, "face_search", "face_match_threshold"), -0.5),
        "processors[0].face_search.face_match_threshold",
        "between 0 and 100",
    ),
    (
        "threshold-string",
        setting((*P0, "face_search", "face_match_threshold"), "85"),
        "processors[0].face_search.face_match_threshold",
        "expected a number, got string '85'",
    ),
    (
        "threshold-bool",
        setting((*P0, "face_search", "face_match_threshold"), True),
        "processors[0].face_search.face_match_threshold",
        "expected a number, got boolean true",
    ),
    (
        "threshold-inf",
        setting((*P0, "face_search", "face_match_threshold"), float("inf")),
        "processors[0].face_search.face_match_threshold",
        "finite",
    ),
    # connected home settings
    (
        "confidence-negative",
        setting((*P1, "connected_home", "min_confidence"), -1),
        "processors[1].connected_home.min_confidence",
        "between 0 and 100",
    ),
    (
        "labels-empty",
        setting((*P1, "connected_home", "labels"), []),
        "processors[1].connected_home.labels",
        "at least one label",
    ),
    (
        "labels-outside-set",
        setting((*P1, "connected_home", "labels"), ["PERSON", "BIRD"]),
        "processors[1].connected_home.labels[1]",
        "must be one of PERSON, PET, PACKAGE, ALL",
    ),
    (
        "labels-lowercase",
        setting((*P1, "connected_home", "labels"), ["pet"]),
        "processors[1].connected_home.labels[0]",
        "did you mean 'PET'?",
    ),
    (
        "labels-not-a-list",
        setting((*P1, "connected_home", "labels"), "PERSON"),
        "processors[1].connected_home.labels",
        "expected a list, got string 'PERSON'",
    ),
    (
        "labels-missing",
        deleting((*P1, "connected_home", "labels")),
        "processors[1].connected_home.labels",
        "missing required key 'labels'",
    ),
    # ARNs, region, role
    (
        "role-bad",
        setting(("defaults", "role_arn"), "arn:aws:iam::1111:role/x"),
        "defaults.role_arn",
        "IAM role ARN",
    ),
    (
        "role-missing",
        deleting(("defaults", "role_arn")),
        "processors[0].role_arn",
        "missing required key 'role_arn' (set it on the processor or in defaults)",
    ),
    (
        "region-bad",
        setting(("defaults", "region"), "us-east"),
        "defaults.region",
        "AWS region such as us-east-1",
    ),
    (
        "region-missing",
        deleting(("defaults", "region")),
        "processors[1].region",
        "missing required key 'region'",
    ),
    (
        "kvs-bad",
        setting(
            (*P0, "input", "kinesis_video_stream_arn"), "arn:aws:kinesis:us-east-1:111122223333:stream/x"
        ),
        "processors[0].input.kinesis_video_stream_arn",
        "Kinesis video stream ARN",
    ),
    (
        "kds-bad",
        setting((*P0, "output", "kinesis_data_stream_arn"), "arn:aws:kinesis:us-east-1:1111:stream/x"),
        "processors[0].output.kinesis_data_stream_arn",
        "Kinesis data stream ARN",
    ),
    (
        "sns-bad",
        setting((*P1, "notification_channel", "sns_topic_arn"), "arn:aws:sqs:us-east-1:111122223333:q"),
        "processors[1].notification_channel.sns_topic_arn",
        "SNS topic ARN",
    ),
    ("kms-bad", setting((*P1, "kms_key_id"), "-key"), "processors[1].kms_key_id", "KMS key id"),
    ("kms-long", setting((*P1, "kms_key_id"), "k" * 2049), "processors[1].kms_key_id", "at most 2048"),
    (
        "kvs-other-region",
        setting(
            (*P0, "input", "kinesis_video_stream_arn"), KVS.format("x").replace("us-east-1", "eu-west-1")
        ),
        "processors[0].input.kinesis_video_stream_arn",
        "in region 'eu-west-1', but the processor is in us-east-1",
    ),
    (
        "kds-other-region",
        setting(
            (*P0, "output", "kinesis_data_stream_arn"), KDS.format("x").replace("us-east-1", "us-west-2")
        ),
        "processors[0].output.kinesis_data_stream_arn",
        "in region 'us-west-2'",
    ),
    (
        "sns-other-region",
        setting((*P1, "notification_channel", "sns_topic_arn"), SNS.replace("us-east-1", "us-west-2")),
        "processors[1].notification_channel.sns_topic_arn",
        "in region 'us-west-2'",
    ),
    (
        "kms-arn-other-region",
        setting((*P1, "kms_key_id"), "arn:aws:kms:us-west-2:111122223333:key/abc"),
        "processors[1].kms_key_id",
        "in region 'us-west-2'",
    ),
    # output
    (
        "bucket-short",
        setting((*P1, "output", "s3_bucket"), "ab"),
        "processors[1].output.s3_bucket",
        "at least 3",
    ),
    (
        "bucket-long",
        setting((*P1, "output", "s3_bucket"), "b" * 256),
        "processors[1].output.s3_bucket",
        "at most 255",
    ),
    (
        "bucket-chars",
        setting((*P1, "output", "s3_bucket"), "my bucket"),
        "processors[1].output.s3_bucket",
        "S3 bucket",
    ),
    (
        "prefix-1025",
        setting((*P1, "output", "s3_key_prefix"), "p" * 1025),
        "processors[1].output.s3_key_prefix",
        "at most 1024 characters",
    ),
    # kinds and what each takes
    (
        "both-kinds",
        setting((*P0, "connected_home"), {"labels": ["PERSON"]}),
        "processors[0].connected_home",
        "exactly one of face_search or connected_home",
    ),
    (
        "no-kind",
        deleting((*P0, "face_search")),
        "processors[0]",
        "exactly one of face_search or connected_home",
    ),
    (
        "face-search-s3",
        setting((*P0, "output", "s3_bucket"), "results"),
        "processors[0].output.s3_bucket",
        "not S3",
    ),
    (
        "face-search-no-kds",
        setting((*P0, "output"), {}),
        "processors[0].output",
        "need output.kinesis_data_stream_arn",
    ),
    (
        "face-search-channel",
        setting((*P0, "notification_channel"), {"sns_topic_arn": SNS}),
        "processors[0].notification_channel",
        "take no notification_channel",
    ),
    (
        "face-search-kms",
        setting((*P0, "kms_key_id"), "alias/x"),
        "processors[0].kms_key_id",
        "take no kms_key_id",
    ),
    (
        "home-no-bucket",
        deleting((*P1, "output", "s3_bucket")),
        "processors[1].output",
        "need output.s3_bucket",
    ),
    ("home-no-output", deleting((*P1, "output")), "processors[1]", "need output.s3_bucket"),
    (
        "home-kds",
        setting((*P1, "output", "kinesis_data_stream_arn"), KDS.format("x")),
        "processors[1].output.kinesis_data_stream_arn",
        "not a Kinesis data stream",
    ),
    (
        "home-no-channel",
        deleting((*P1, "notification_channel")),
        "processors[1]",
        "need a notification_channel",
    ),
    (
        "home-running",
        setting((*P1, "desired_state"), "running"),
        "processors[1].desired_state",
        "at most 120 seconds and ends by itself",
    ),
    (
        "desired-state-bad",
        setting((*P0, "desired_state"), "paused"),
        "processors[0].desired_state",
        "running, stopped",
    ),
    ("input-missing", deleting((*P0, "input")), "processors[0].input", "missing required key 'input'"),
    ("input-string", setting((*P0, "input"), KVS.format("x")), "processors[0].input", "expected a mapping"),
    # regions of interest
    (
        "eleven-regions",
        setting((*P1, "regions_of_interest"), [box(0, 0, 0.1, 0.1)] * 11),
        "processors[1].regions_of_interest",
        "at most 10 regions of interest (got 11)",
    ),
    (
        "region-both",
        setting((*P1, "regions_of_interest"), [{**box(0, 0, 0.5, 0.5), "polygon": points(3)}]),
        "processors[1].regions_of_interest[0].polygon",
        "exactly one of bounding_box or polygon",
    ),
    (
        "region-neither",
        setting((*P1, "regions_of_interest"), [{}]),
        "processors[1].regions_of_interest[0]",
        "exactly one of bounding_box or polygon",
    ),
    (
        "box-width-1.5",
        setting((*P1, "regions_of_interest"), [box(0, 0, 1.5, 0.5)]),
        "processors[1].regions_of_interest[0].bounding_box.width",
        "between 0 and 1",
    ),
    (
        "box-leaves-right",
        setting((*P1, "regions_of_interest"), [box(0.6, 0, 0.5, 0.5)]),
        "processors[1].regions_of_interest[0].bounding_box.width",
        "leaves the frame: left + width = 1.1",
    ),
    (
        "box-leaves-bottom",
        setting((*P1, "regions_of_interest"), [box(0, 0.75, 0.5, 0.3)]),
        "processors[1].regions_of_interest[0].bounding_box.height",
        "leaves the frame: top + height",
    ),
    (
        "box-missing-height",
        setting((*P1, "regions_of_interest"), [{"bounding_box": {"left": 0, "top": 0, "width": 1}}]),
        "processors[1].regions_of_interest[0].bounding_box.height",
        "missing required key 'height'",
    ),
    (
        "polygon-2",
        setting((*P1, "regions_of_interest"), [{"polygon": points(2)}]),
        "processors[1].regions_of_interest[0].polygon",
        "at least 3 points (got 2)",
    ),
    (
        "polygon-11",
        setting((*P1, "regions_of_interest"), [{"polygon": points(11)}]),
        "processors[1].regions_of_interest[0].polygon",
        "at most 10 points (got 11)",
    ),
    (
        "point-out-of-frame",
        setting((*P1, "regions_of_interest"), [{"polygon": [{"x": -0.1, "y": 0}, *points(2)]}]),
        "processors[1].regions_of_interest[0].polygon[0].x",
        "between 0 and 1",
    ),
    # booleans
    ("protect-string", setting((*P0, "protect"), "true"), "processors[0].protect", "expected true or false"),
    (
        "data-sharing-int",
        setting((*P1, "data_sharing"), 1),
        "processors[1].data_sharing",
        "expected true or false",
    ),
    # tags
    (
        "tag-aws",
        setting((*P0, "tags"), {"aws:cost": "x"}),
        'processors[0].tags["aws:cost"]',
        "reserved for AWS",
    ),
    (
        "tag-AWS",
        setting((*P0, "tags"), {"AWS:cost": "x"}),
        'processors[0].tags["AWS:cost"]',
        "reserved for AWS",
    ),
    (
        "tag-spd",
        setting((*P0, "tags"), {"spd:stack": "x"}),
        'processors[0].tags["spd:stack"]',
        "reserved for spd",
    ),
    (
        "default-tag-aws",
        setting(("defaults", "tags"), {"aws:x": "y"}),
        'defaults.tags["aws:x"]',
        "reserved for AWS",
    ),
    (
        "tag-key-129",
        setting((*P0, "tags"), {"k" * 129: "x"}),
        "processors[0].tags." + "k" * 129,
        "at most 128",
    ),
    (
        "tag-value-257",
        setting((*P0, "tags"), {"k": "v" * 257}),
        "processors[0].tags.k",
        "at most 256 characters",
    ),
    ("tag-key-chars", setting((*P0, "tags"), {"a!b": "x"}), 'processors[0].tags["a!b"]', "may contain only"),
    ("tag-value-chars", setting((*P0, "tags"), {"k": "a;b"}), "processors[0].tags.k", "may contain only"),
    ("tag-value-int", setting((*P0, "tags"), {"k": 5}), "processors[0].tags.k", "got integer 5; quote it"),
    (
        "tags-200",
        setting((*P0, "tags"), {f"k{i}": "v" for i in range(200)}),
        "processors[0].tags",
        "at most 199 are allowed",
    ),
    (
        "tags-200-with-defaults",
        setting((*P0, "tags"), {f"k{i}": "v" for i in range(199)}),
        "processors[0].tags",
        "200 tags; at most 199",
    ),
    # unknown keys
    ("unknown-nmae", setting((*P0, "nmae"), "x"), "processors[0].nmae", "did you mean 'name'?"),
    (
        "unknown-misplaced",
        setting((*P1, "s3_bucket"), "x"),
        "processors[1].s3_bucket",
        "belongs under 'output'",
    ),
    (
        "unknown-nested",
        setting((*P1, "output", "s3_buckt"), "x"),
        "processors[1].output.s3_buckt",
        "did you mean 's3_bucket'?",
    ),
    ("unknown-top", setting(("stak",), "x"), "stak", "did you mean 'stack'?"),
    ("name-in-defaults", setting(("defaults", "name"), "x"), "defaults.name", "cannot be set in defaults"),
    # document
    ("version-2", setting(("version",), 2), "version", "unsupported spec version"),
    ("version-string", setting(("version",), "1"), "version", "must be an integer, not string"),
    ("version-float", setting(("version",), 1.0), "version", "must be the integer 1, not 1.0"),
    ("version-bool", setting(("version",), True), "version", "must be the integer 1, not boolean true"),
    ("version-missing", deleting(("version",)), "version", "missing required key 'version'"),
    ("stack-missing", deleting(("stack",)), "stack", "missing required key 'stack'"),
    ("stack-pattern", setting(("stack",), "lobby cams"), "stack", "must match"),
    ("stack-129", setting(("stack",), "s" * 129), "stack", "at most 128"),
    (
        "processors-not-list",
        setting(("processors",), {"name": "x"}),
        "processors",
        "expected a list, got a mapping",
    ),
    ("processors-missing", deleting(("processors",)), "processors", "missing required key 'processors'"),
    (
        "processor-not-mapping",
        setting((*P0,), "lobby-faces"),
        "processors[0]",
        "expected a mapping, got string",
    ),
    ("defaults-not-mapping", setting(("defaults",), ["x"]), "defaults", "expected a mapping, got a list"),
    # across processors
    (
        "duplicate-name",
        setting((*P1, "name"), "lobby-faces"),
        "processors[1].name",
        "processor 'lobby-faces' is already defined in us-east-1 at ",
    ),
    (
        "shared-video-stream",
        setting((*P1, "input", "kinesis_video_stream_arn"), KVS.format("lobby")),
        "processors[1].input.kinesis_video_stream_arn",
        "already feeds processor 'lobby-faces'",
    ),
    (
        "shared-data-stream",
        lambda data: data["processors"].append(
            {
                "name": "lobby-faces-2",
                "input": {"kinesis_video_stream_arn": KVS.format("lobby-2")},
                "face_search": {"collection_id": "staff"},
                "output": {"kinesis_data_stream_arn": KDS.format("lobby-faces")},
            }
        ),
        "processors[2].output.kinesis_data_stream_arn",
        "already receives from processor 'lobby-faces'",
    ),
]


@pytest.mark.parametrize(("mutate", "path", "message"), [r[1:] for r in RULES], ids=[r[0] for r in RULES])
def test_rule(tmp_path: Path, mutate: Mutation, path: str, message: str) -> None:
    data = valid_data()
    mutate(data)
    errors = errors_of(tmp_path, dump_yaml(data))
    matching = [e for e in errors if e.path == path and message in e.message]
    assert matching, "\n".join(str(e) for e in errors)
    assert all(e.line >= 1 and e.column >= 1 for e in errors)


def test_the_valid_spec_is_valid(tmp_path: Path) -> None:
    loaded = load_text(tmp_path, dump_yaml(valid_data()))
    assert [p.name for p in loaded.desired.processors] == ["lobby-faces", "porch-labels"]
    assert loaded.warnings == ()


def move_to_region(index: int, region: str) -> Mutation:
    """Put processors[index] and every regional ARN it names into `region`."""

    def apply(data: dict[str, Any]) -> None:
        processor = data["processors"][index]
        processor["region"] = region
        for section, key in (
            ("input", "kinesis_video_stream_arn"),
            ("output", "kinesis_data_stream_arn"),
            ("notification_channel", "sns_topic_arn"),
        ):
            if key in processor.get(section, {}):
                processor[section][key] = processor[section][key].replace("us-east-1", region)
        if "kms_key_id" in processor:
            processor["kms_key_id"] = processor["kms_key_id"].replace("us-east-1", region)

    return apply


def without_defaults(data: dict[str, Any]) -> None:
    defaults = data.pop("defaults")
    for processor in data["processors"]:
        processor.update({**defaults, **processor})


VALID_VARIANTS: list[tuple[str, Mutation]] = [
    ("box-fits-exactly", setting((*P1, "regions_of_interest"), [box(0.25, 0.7, 0.75, 0.3)])),
    ("ten-regions", setting((*P1, "regions_of_interest"), [box(0, 0, 0.1, 0.1)] * 10)),
    ("polygon-10", setting((*P1, "regions_of_interest"), [{"polygon": points(10)}])),
    ("no-regions", deleting((*P1, "regions_of_interest"))),
    ("labels-all-and-person", setting((*P1, "connected_home", "labels"), ["ALL", "PERSON"])),
    ("tags-199-with-defaults", setting((*P0, "tags"), {f"k{i}": "v" for i in range(198)})),
    ("unicode-tags", setting((*P0, "tags"), {"Café owner": "Zoë Ω 42", "名前": "値"})),
    ("empty-tag-value", setting((*P0, "tags"), {"empty": ""})),
    ("kms-alias", setting((*P1, "kms_key_id"), "alias/home-results")),
    ("kms-key-id", setting((*P1, "kms_key_id"), "1234abcd-12ab-34cd-56ef-1234567890ab")),
    ("empty-prefix", setting((*P1, "output", "s3_key_prefix"), "")),
    ("threshold-100", setting((*P0, "face_search", "face_match_threshold"), 100)),
    ("confidence-zero", setting((*P1, "connected_home", "min_confidence"), 0)),
    ("face-search-stopped", setting((*P0, "desired_state"), "stopped")),
    ("home-stopped", setting((*P1, "desired_state"), "stopped")),
    ("same-name-other-region", both(setting((*P1, "name"), "lobby-faces"), move_to_region(1, "eu-west-1"))),
    ("everything-in-eu", both(move_to_region(0, "eu-west-1"), move_to_region(1, "eu-west-1"))),
    ("no-defaults", without_defaults),
    ("empty-processors", setting(("processors",), [])),
]


@pytest.mark.parametrize("mutate", [v[1] for v in VALID_VARIANTS], ids=[v[0] for v in VALID_VARIANTS])
def test_valid_variant(tmp_path: Path, mutate: Mutation) -> None:
    data = valid_data()
    mutate(data)
    try:
        load_text(tmp_path, dump_yaml(data))
    except SpecError as exc:  # pragma: no cover - shown on failure
        pytest.fail(str(exc))
