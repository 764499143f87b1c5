"""Strict references (on by default, as on AWS): Start sends a processor whose role, streams, collection,
topic or bucket do not exist in the same emulator to FAILED with AWS's StatusMessage; with everything
created through boto3, or by the references call (`POST /_emulator/references`), it runs. `--lenient`
turns the check off. Over real HTTP through boto3, against the emulator subprocess."""

from __future__ import annotations

import json
import sys
import time
from typing import Any

import pytest

from emulator_only import emulator_only
from spd.emulator.testing import EmulatorProcess

pytestmark = emulator_only("the emulator's strict_references setting")

ACCOUNT = "123456789012"
REGION = "us-east-1"
ROLE = "spd-rekognition"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {"Service": "rekognition.amazonaws.com"},
            "Action": "sts:AssumeRole",
        }
    ],
}
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{ROLE}"
KVS_ARN = f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:stream/cam/1700000000000"
DOOR_KVS_ARN = f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:stream/door/1700000000000"
KDS_ARN = f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/faces"
TOPIC_ARN = f"arn:aws:sns:{REGION}:{ACCOUNT}:spd-alerts"
BUCKET = "spd-labels"
COLLECTION = "people"


def _face_search(emu: EmulatorProcess, name: str = "fs") -> None:
    emu.client().create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": KVS_ARN}},
        Output={"KinesisDataStream": {"Arn": KDS_ARN}},
        RoleArn=ROLE_ARN,
        Settings={"FaceSearch": {"CollectionId": COLLECTION, "FaceMatchThreshold": 80.0}},
    )


def _connected_home(emu: EmulatorProcess, name: str = "ch") -> None:
    emu.client().create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": DOOR_KVS_ARN}},
        Output={"S3Destination": {"Bucket": BUCKET, "KeyPrefix": "out/"}},
        NotificationChannel={"SNSTopicArn": TOPIC_ARN},
        RoleArn=ROLE_ARN,
        Settings={"ConnectedHome": {"Labels": ["PERSON"], "MinConfidence": 80.0}},
    )


def _start(emu: EmulatorProcess, name: str) -> None:
    if name == "ch":
        emu.client().start_stream_processor(
            Name=name,
            StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1}},
            StopSelector={"MaxDurationInSeconds": 120},
        )
    else:
        emu.client().start_stream_processor(Name=name)


def _settled(emu: EmulatorProcess, name: str) -> dict[str, Any]:
    """Describe once the start's transition (FAST_TIMINGS: 0.05 s) is over."""
    deadline = time.monotonic() + 10
    while True:
        described: dict[str, Any] = emu.client().describe_stream_processor(Name=name)
        if described["Status"] != "STARTING" or time.monotonic() > deadline:
            return described
        if name == "ch":
            time.sleep(0.3)  # a session stays STARTING: one look after the transition is enough
            return dict(emu.client().describe_stream_processor(Name=name))
        time.sleep(0.02)


def _create_references(emu: EmulatorProcess, *, skip: str = "", trust: Any = TRUST) -> None:
    if skip != "role":
        emu.client(service="iam").create_role(RoleName=ROLE, AssumeRolePolicyDocument=json.dumps(trust))
    if skip != "video":
        for stream in ("cam", "door"):
            emu.client(service="kinesisvideo").create_stream(StreamName=stream)
    if skip != "data":
        emu.client(service="kinesis").create_stream(StreamName="faces", ShardCount=1)
    if skip != "collection":
        emu.client().create_collection(CollectionId=COLLECTION)
    if skip != "topic":
        emu.client(service="sns").create_topic(Name="spd-alerts")
    if skip != "bucket":
        emu.client(service="s3").create_bucket(Bucket=BUCKET)


@pytest.fixture
def strict(emu: EmulatorProcess) -> EmulatorProcess:
    emu.configure(strict_references=True)
    return emu


def test_everything_present_runs(strict: EmulatorProcess) -> None:
    _create_references(strict)
    _face_search(strict)
    _connected_home(strict)
    _start(strict, "fs")
    _start(strict, "ch")
    face = _settled(strict, "fs")
    assert face["Status"] == "RUNNING"
    assert "StatusMessage" not in face
    home = _settled(strict, "ch")
    assert home["Status"] == "STARTING"
    assert "StatusMessage" not in home


@pytest.mark.parametrize(
    ("missing", "name", "message"),
    [
        ("role", "fs", "Access denied to Role"),
        ("video", "fs", f"Stream cam under account {ACCOUNT} not found"),
        ("data", "fs", f"Stream faces under account {ACCOUNT} not found."),
        ("collection", "fs", "Collection not found"),
        ("role", "ch", "Access denied to Role"),
        ("video", "ch", f"Stream door under account {ACCOUNT} not found"),
        ("topic", "ch", f"Topic does not exist: {TOPIC_ARN}"),
        ("bucket", "ch", f"The specified bucket does not exist: {BUCKET}"),
    ],
)
def test_a_missing_reference_fails_the_start(
    strict: EmulatorProcess, missing: str, name: str, message: str
) -> None:
    _create_references(strict, skip=missing)
    (_face_search if name == "fs" else _connected_home)(strict)
    _start(strict, name)
    described = _settled(strict, name)
    assert (described["Status"], described.get("StatusMessage")) == ("FAILED", message)


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {"Effect": "Deny", "Principal": {"Service": "rekognition.amazonaws.com"}, "Action": "sts:AssumeRole"},
        {
            "Effect": "Allow",
            "Principal": {"Service": "rekognition.amazonaws.com"},
            "Action": "sts:TagSession",
        },
    ],
    ids=["other-service", "deny", "other-action"],
)
def test_a_role_that_does_not_trust_rekognition_is_denied(
    strict: EmulatorProcess, statement: dict[str, Any]
) -> None:
    _create_references(strict, trust={"Version": "2012-10-17", "Statement": [statement]})
    _face_search(strict)
    _start(strict, "fs")
    described = _settled(strict, "fs")
    assert (described["Status"], described["StatusMessage"]) == ("FAILED", "Access denied to Role")


def test_a_service_list_in_the_trust_policy_counts(strict: EmulatorProcess) -> None:
    trust = {
        "Statement": {
            "Effect": "Allow",
            "Principal": {"Service": ["lambda.amazonaws.com", "rekognition.amazonaws.com"]},
            "Action": ["sts:AssumeRole", "sts:TagSession"],
        }
    }
    _create_references(strict, trust=trust)
    _face_search(strict)
    _start(strict, "fs")
    assert _settled(strict, "fs")["Status"] == "RUNNING"


def test_fixing_the_reference_and_starting_again_runs(strict: EmulatorProcess) -> None:
    _create_references(strict, skip="collection")
    _face_search(strict)
    _start(strict, "fs")
    assert _settled(strict, "fs")["Status"] == "FAILED"
    strict.client().create_collection(CollectionId=COLLECTION)
    _start(strict, "fs")
    described = _settled(strict, "fs")
    assert described["Status"] == "RUNNING"
    assert "StatusMessage" not in described


def test_on_by_default_a_missing_role_fails_the_start(emu: EmulatorProcess) -> None:
    """A plain emulator (the fixture's `python -m spd.emulator`, reset) checks references, as AWS does."""
    assert emu.config()["strict_references"] is True
    _face_search(emu)
    _start(emu, "fs")
    described = _settled(emu, "fs")
    assert (described["Status"], described["StatusMessage"]) == ("FAILED", "Access denied to Role")


def test_a_plain_spd_emulator_fails_a_processor_whose_role_is_missing() -> None:
    with EmulatorProcess(command=[sys.executable, "-m", "spd", "emulator"], quiet=True) as process:
        process.configure(transition_seconds=0.05)
        _face_search(process)
        _start(process, "fs")
        described = _settled(process, "fs")
        assert (described["Status"], described["StatusMessage"]) == ("FAILED", "Access denied to Role")


def test_lenient_runs_whatever_a_processor_names() -> None:
    command = [sys.executable, "-m", "spd", "emulator", "--lenient"]
    with EmulatorProcess(command=command, quiet=True) as process:
        assert process.config()["strict_references"] is False
        process.configure(transition_seconds=0.05)
        _face_search(process)
        _start(process, "fs")
        assert _settled(process, "fs")["Status"] == "RUNNING"


def test_the_setting_is_a_boolean(emu: EmulatorProcess) -> None:
    from spd.emulator.testing import EmulatorControlError

    with pytest.raises(EmulatorControlError, match="strict_references must be true or false"):
        emu.configure(strict_references="yes")


def test_the_strict_flag_is_still_accepted() -> None:
    with EmulatorProcess(command=[sys.executable, "-m", "spd.emulator", "--strict"], quiet=True) as process:
        assert process.config()["strict_references"] is True


def test_lenient_and_strict_together_are_refused() -> None:
    import subprocess

    result = subprocess.run(
        [sys.executable, "-m", "spd.emulator", "--lenient", "--strict", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 2
    assert "--lenient and --strict contradict each other" in result.stderr
    assert "Traceback" not in result.stderr


# -- the references call: the happy path in one step ------------------------------------------------


FACE_REQUEST: dict[str, Any] = {
    "Name": "fs",
    "Input": {"KinesisVideoStream": {"Arn": KVS_ARN}},
    "Output": {"KinesisDataStream": {"Arn": KDS_ARN}},
    "RoleArn": ROLE_ARN,
    "Settings": {"FaceSearch": {"CollectionId": COLLECTION, "FaceMatchThreshold": 80.0}},
}
HOME_REQUEST: dict[str, Any] = {
    "Name": "ch",
    "Input": {"KinesisVideoStream": {"Arn": DOOR_KVS_ARN}},
    "Output": {"S3Destination": {"Bucket": BUCKET, "KeyPrefix": "out/"}},
    "NotificationChannel": {"SNSTopicArn": TOPIC_ARN},
    "RoleArn": ROLE_ARN,
    "Settings": {"ConnectedHome": {"Labels": ["PERSON"], "MinConfidence": 80.0}},
}


def test_creating_what_requests_reference_lets_them_run(emu: EmulatorProcess) -> None:
    created = emu.create_references([FACE_REQUEST, HOME_REQUEST])
    assert {(c["kind"], c["identifier"]) for c in created} == {
        ("role", ROLE_ARN),
        ("video_stream", KVS_ARN),
        ("video_stream", DOOR_KVS_ARN),
        ("data_stream", KDS_ARN),
        ("collection", COLLECTION),
        ("topic", TOPIC_ARN),
        ("bucket", BUCKET),
    }
    assert emu.create_references(FACE_REQUEST) == [], "a second call creates nothing"
    # What it made is there for every client, as if created through the services' own APIs.
    role = emu.client(service="iam").get_role(RoleName=ROLE)["Role"]
    assert role["Arn"] == ROLE_ARN
    assert emu.client().describe_collection(CollectionId=COLLECTION)["FaceCount"] == 0
    emu.client().create_stream_processor(**FACE_REQUEST)
    emu.client().create_stream_processor(**HOME_REQUEST)
    _start(emu, "fs")
    _start(emu, "ch")
    assert _settled(emu, "fs")["Status"] == "RUNNING"
    home = _settled(emu, "ch")
    assert home["Status"] == "STARTING"
    assert "StatusMessage" not in home


def test_creating_what_a_spec_references_lets_it_run(emu: EmulatorProcess, tmp_path: Any) -> None:
    spec = tmp_path / "fleet.yaml"
    spec.write_text(
        "version: 1\n"
        "stack: lobby\n"
        "defaults:\n"
        "  region: us-east-1\n"
        f"  role_arn: {ROLE_ARN}\n"
        "processors:\n"
        "  - name: fs\n"
        f"    input: {{kinesis_video_stream_arn: {KVS_ARN}}}\n"
        f"    output: {{kinesis_data_stream_arn: {KDS_ARN}}}\n"
        f"    face_search: {{collection_id: {COLLECTION}}}\n"
    )
    created = emu.create_references(spec=spec)
    assert {c["kind"] for c in created} == {"role", "video_stream", "data_stream", "collection"}
    _face_search(emu)
    _start(emu, "fs")
    assert _settled(emu, "fs")["Status"] == "RUNNING"


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({}, "give a CreateStreamProcessor request body (request) or a spec path (spec)"),
        ({"request": {"Name": "x"}}, "request 1: "),
        ({"request": 3}, "request 1: not a CreateStreamProcessor request body"),
        ({"spec": "/nonexistent/fleet.yaml"}, "/nonexistent/fleet.yaml"),
        ({"request": {}, "colour": "red"}, "unknown key(s): colour"),
        ({"request": {}, "account": "12"}, "account must be a 12-digit account id"),
    ],
    ids=["nothing", "no role", "not an object", "missing spec", "unknown key", "bad account"],
)
def test_the_references_call_refuses_what_it_cannot_read(
    emu: EmulatorProcess, body: dict[str, Any], message: str
) -> None:
    from spd.emulator.testing import EmulatorControlError

    with pytest.raises(EmulatorControlError) as info:
        emu.control("POST", "references", body)
    assert info.value.status == 400
    assert message in str(info.value.body["error"])
