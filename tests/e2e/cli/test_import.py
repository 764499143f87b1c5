"""`spd import` through the real command against the emulator: a fleet made with boto3, read back as a spec.

The round trip is the contract: the imported spec validates, and once its processors carry the stack's
tag, planning it shows no changes (so nothing AWS stores was lost or misread on the way).
"""

from __future__ import annotations

import json
import re

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spdrun import ACCOUNT, run_spd, wait_status

EAST, WEST = "us-east-1", "eu-west-1"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition"
OTHER_ROLE = f"arn:aws:iam::{ACCOUNT}:role/Other"


def _kvs(region: str, name: str) -> str:
    return f"arn:aws:kinesisvideo:{region}:{ACCOUNT}:stream/{name}/1700000000000"


def _create_face(
    client, region, name, *, threshold=None, role=ROLE, tags=None, regions=None, references=None
):
    """Create a face-search processor; `references` (the emulator): first what it references, so that
    it runs under strict references."""
    face = {"CollectionId": "staff"}
    if threshold is not None:
        face["FaceMatchThreshold"] = threshold
    extra = {"RegionsOfInterest": regions} if regions else {}
    request = {
        "Name": name,
        "Input": {"KinesisVideoStream": {"Arn": _kvs(region, name)}},
        "Output": {"KinesisDataStream": {"Arn": f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}-out"}},
        "Settings": {"FaceSearch": face},
        "RoleArn": role,
        "Tags": tags or {},
        **extra,
    }
    if references is not None:
        references.create_references(request, region=region)
    client.create_stream_processor(**request)


def _create_home(client, region, name, *, labels, min_confidence=None, tags=None, regions=None, **extra):
    home = {"Labels": labels}
    if min_confidence is not None:
        home["MinConfidence"] = min_confidence
    if regions:
        extra["RegionsOfInterest"] = regions
    client.create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": _kvs(region, name)}},
        Output={"S3Destination": {"Bucket": "spd-home-results", "KeyPrefix": f"{name}/"}},
        NotificationChannel={"SNSTopicArn": f"arn:aws:sns:{region}:{ACCOUNT}:HomeEvents"},
        Settings={"ConnectedHome": home},
        RoleArn=ROLE,
        Tags=tags or {},
        **extra,
    )


@pytest.fixture
def fleet(emu):
    """Two regions, both kinds, running and stopped, boxes and polygons, awkward floats and tags."""
    east, west = emu.client(EAST), emu.client(WEST)
    _create_face(east, EAST, "lobby", threshold=70, tags={"team": "vision", "site": "hq"}, references=emu)
    _create_face(
        east,
        EAST,
        "dock",
        threshold=85.5,
        tags={"team": "vision", "site": "dock"},
        regions=[{"BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}}],
    )
    _create_home(
        east,
        EAST,
        "porch",
        labels=["PERSON", "PACKAGE"],
        min_confidence=0.1,
        tags={"team": "vision", "camera": "porch"},
        KmsKeyId="alias/spd-home",
        regions=[
            {"BoundingBox": {"Left": 0.1, "Top": 0.1, "Width": 0.5, "Height": 0.5}},
            {"Polygon": [{"X": 0.1, "Y": 0.6}, {"X": 0.9, "Y": 0.6}, {"X": 0.33, "Y": 0.95}]},
        ],
    )
    _create_face(west, WEST, "gate", role=OTHER_ROLE, tags={"team": "vision"}, references=emu)
    _create_home(
        west, WEST, "yard", labels=["PET"], tags={"team": "vision"}, DataSharingPreference={"OptIn": True}
    )
    for client, name in ((east, "lobby"), (west, "gate")):
        client.start_stream_processor(Name=name)
        wait_status(client, name, {"RUNNING"})
    return emu


def _import(emu, *args):
    return run_spd(["import", "--endpoint-url", emu.url, *args])


def _tag_all(emu, stack):
    for region in (EAST, WEST):
        client = emu.client(region)
        for p in client.list_stream_processors()["StreamProcessors"]:
            arn = client.describe_stream_processor(Name=p["Name"])["StreamProcessorArn"]
            client.tag_resource(ResourceArn=arn, Tags={"spd:stack": stack})


def _assert_no_changes(emu, spec):
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout


def test_import_to_one_file_validates_and_plans_no_changes(fleet, tmp_path):
    out = tmp_path / "fleet.yaml"
    r = _import(fleet, "--region", EAST, "--region", WEST, "--stack", "taken-over", "--out", str(out))
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    text = out.read_text()
    doc = yaml.safe_load(text)
    assert doc["stack"] == "taken-over"
    # Two regions and two roles: neither is shared; the one tag every processor carries is.
    assert doc["defaults"] == {"tags": {"team": "vision"}}
    by_name = {p["name"]: p for p in doc["processors"]}
    assert list(by_name) == ["gate", "yard", "dock", "lobby", "porch"]  # eu-west-1 first, then by name
    assert "face_match_threshold" not in by_name["lobby"]["face_search"]  # 70 is stored as 80, the default
    assert by_name["dock"]["face_search"]["face_match_threshold"] == 85.5
    assert by_name["dock"]["desired_state"] == "stopped"
    assert "desired_state" not in by_name["lobby"]
    assert "desired_state" not in by_name["porch"]  # connected home: stopped is the default
    assert by_name["yard"]["data_sharing"] is True
    assert "data_sharing" not in by_name["porch"]
    assert "min_confidence" not in by_name["yard"]["connected_home"]
    assert by_name["porch"]["tags"] == {"camera": "porch"}
    assert "  # us-east-1/lobby: RUNNING\n" in text
    assert "  # us-east-1/dock: STOPPED\n" in text
    # Floats as a person writes them, not as single precision holds them.
    assert "min_confidence: 0.1\n" in text
    assert "x: 0.33\n" in text
    assert all(len(number) <= 4 for number in re.findall(r": ([0-9]+\.[0-9]+)$", text, re.MULTILINE))

    r = run_spd(["validate", str(out)])
    assert r.returncode == 0, r.stderr
    assert "5 processors in stack taken-over are valid" in r.stdout
    _tag_all(fleet, "taken-over")
    _assert_no_changes(fleet, out)


def test_import_to_a_directory_writes_a_file_per_region(fleet, tmp_path):
    _tag_all(fleet, "imported")  # the `spd:stack` tag is spd's own: never written into the spec
    r = _import(fleet, "--region", EAST, "--region", WEST, "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eu-west-1.yaml", "us-east-1.yaml"]
    east = yaml.safe_load((tmp_path / "us-east-1.yaml").read_text())
    assert east["stack"] == "imported"
    assert east["defaults"] == {"region": EAST, "role_arn": ROLE, "tags": {"team": "vision"}}
    assert "spd:" not in (tmp_path / "us-east-1.yaml").read_text()
    r = run_spd(["validate", str(tmp_path)])
    assert r.returncode == 0, r.stderr
    _assert_no_changes(fleet, tmp_path)


def test_name_glob_filters_and_stdout_is_the_default(fleet):
    r = _import(fleet, "--region", EAST, "--name-glob", "l*")
    assert r.returncode == 0, r.stderr
    doc = yaml.safe_load(r.stdout)
    assert [p["name"] for p in doc["processors"]] == ["lobby"]


def test_glob_matching_nothing_writes_nothing_and_fails(fleet, tmp_path):
    out = tmp_path / "x.yaml"
    r = _import(fleet, "--region", EAST, "--name-glob", "nothing-*", "--out", str(out))
    assert r.returncode == 1
    assert "no processors matching 'nothing-*' in us-east-1; nothing written" in r.stderr
    assert "Traceback" not in r.stderr
    assert not out.exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--region", "mars"], "--region 'mars': not an AWS region name"),
        (["--region", EAST, "--region", "US_EAST_1"], "--region 'US_EAST_1': not an AWS region name"),
        (["--region", EAST, "--stack", "two words"], "--stack 'two words': must be"),
        ([], "Missing option '--region'"),
    ],
)
def test_bad_arguments_are_usage_errors(emu, args, message):
    r = _import(emu, *args)
    assert r.returncode == 64, r.stderr
    assert message in r.stderr
    assert "Traceback" not in r.stderr


# -- import, then adopt: the take-over flow of docs/guides/adopting.md ---------------------------------------------


def _describe_all(emu) -> dict[tuple[str, str], dict]:
    """Every processor's Describe (without the request's metadata), keyed by region and name."""
    found = {}
    for region in (EAST, WEST):
        client = emu.client(region)
        for p in client.list_stream_processors()["StreamProcessors"]:
            described = client.describe_stream_processor(Name=p["Name"])
            described.pop("ResponseMetadata", None)
            found[(region, p["Name"])] = described
    return found


def _tags_all(emu) -> dict[tuple[str, str], dict[str, str]]:
    return {
        key: emu.client(key[0]).list_tags_for_resource(ResourceArn=d["StreamProcessorArn"])["Tags"]
        for key, d in _describe_all(emu).items()
    }


def _take_over(emu, spec, stack):
    """import → plan --adopt (only adoptions) → apply --adopt → plan (no changes); returns the plan JSON."""
    r = _import(emu, "--region", EAST, "--region", WEST, "--stack", stack, "--out", str(spec))
    assert r.returncode == 0, r.stderr
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--adopt", "--output", "json"])
    assert r.returncode == 0, r.stderr
    planned = json.loads(r.stdout)
    r = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--adopt", "--auto-approve"])
    assert r.returncode == 0, r.stdout + r.stderr
    _assert_no_changes(emu, spec)
    return planned


def test_import_then_adopt_only_tags_and_changes_no_configuration(fleet, tmp_path):
    before, tags_before = _describe_all(fleet), _tags_all(fleet)
    planned = _take_over(fleet, tmp_path / "fleet.yaml", "taken-over")
    assert {p["name"]: p["actions"] for p in planned["processors"]} == {name: ["adopt"] for _, name in before}
    assert planned["summary"]["adopt"] == len(before)
    assert _describe_all(fleet) == before  # configuration, status and timestamps untouched
    for key, tags in _tags_all(fleet).items():
        assert tags == {**tags_before[key], "spd:stack": "taken-over"}


_ROIS = st.sampled_from(
    [
        [],
        [{"BoundingBox": {"Left": 0.1, "Top": 0.2, "Width": 0.3, "Height": 0.4}}],
        [{"Polygon": [{"X": 0.1, "Y": 0.6}, {"X": 0.9, "Y": 0.6}, {"X": 0.33, "Y": 0.95}]}],
        [
            {"BoundingBox": {"Left": 0.0, "Top": 0.0, "Width": 1.0, "Height": 0.5}},
            {
                "Polygon": [
                    {"X": 0.7, "Y": 0.1},
                    {"X": 0.9, "Y": 0.1},
                    {"X": 0.8, "Y": 0.3},
                    {"X": 0.7, "Y": 0.3},
                ]
            },
        ],
    ]
)
_PROCESSOR = st.fixed_dictionaries(
    {
        "region": st.sampled_from([EAST, WEST]),
        "face": st.booleans(),
        "threshold": st.one_of(st.none(), st.sampled_from([10.0, 79.5, 80.0, 85.5, 99.9])),
        "min_confidence": st.one_of(st.none(), st.sampled_from([0.1, 33.3, 50.0, 71.25])),
        "labels": st.sampled_from([["PERSON"], ["PET", "PACKAGE"], ["ALL"]]),
        "rois": _ROIS,
        "running": st.booleans(),
        "tags": st.dictionaries(
            st.sampled_from(["team", "site", "floor"]), st.sampled_from(["a", "3", "no"]), max_size=2
        ),
    }
)


@pytest.mark.timeout(400)  # four examples of several spd processes each: a hang guard, not a speed bound
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(fleet_spec=st.lists(_PROCESSOR, min_size=1, max_size=4))
def test_any_imported_fleet_is_adopted_without_changes(emu, tmp_path_factory, fleet_spec):
    """Generated fleets (both kinds, ROIs of both shapes, thresholds below 80, tags, running and stopped,
    two regions): import, then adopt, shows only adoptions and leaves every Describe as it was."""
    emu.reset_fast()
    for index, p in enumerate(fleet_spec):
        name = f"cam-{index}"
        client = emu.client(p["region"])
        if p["face"]:
            _create_face(
                client,
                p["region"],
                name,
                threshold=p["threshold"],
                tags=p["tags"],
                regions=p["rois"],
                references=emu,
            )
            if p["running"]:
                client.start_stream_processor(Name=name)
                wait_status(client, name, {"RUNNING"})
        else:
            _create_home(
                client,
                p["region"],
                name,
                labels=p["labels"],
                min_confidence=p["min_confidence"],
                tags=p["tags"],
                regions=p["rois"],
            )
    before = _describe_all(emu)
    planned = _take_over(emu, tmp_path_factory.mktemp("import") / "fleet.yaml", "generated")
    assert all(p["actions"] == ["adopt"] for p in planned["processors"]), planned
    assert _describe_all(emu) == before
