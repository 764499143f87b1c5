"""`spd check`: every reference looked up read-only, each problem located at the spec line that names it."""

from __future__ import annotations

import json
from pathlib import Path

from spdrun import face, run_spd, write_spec

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
REKOGNITION_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "rekognition.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
MUTATING = ("Create", "Start", "Stop", "Update", "Delete", "Tag", "Untag")


def _line_of(spec: Path, text: str) -> int:
    lines = spec.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.endswith(text))


def _spec(tmp_path: Path, emu, name: str, role_arn: str, video_arn: str, data_arn: str) -> Path:
    spec = write_spec(
        tmp_path / "spec.yaml", [face("other", collection=f"{name}-other"), face(name, collection=name)]
    )
    # The first processor is fine but for its own collection; the second carries the three problems.
    text = spec.read_text()
    text = text.replace("arn:aws:iam::111122223333:role/SpdRekognition", role_arn)
    text = text.replace(face(name)["input"]["kinesis_video_stream_arn"], video_arn)
    text = text.replace(face(name)["output"]["kinesis_data_stream_arn"], data_arn)
    spec.write_text(text)
    return spec


def test_missing_references_are_located_errors_then_pass_once_created(emu, tmp_path):
    name = f"chk-{tmp_path.name[-12:]}".replace("_", "-")
    iam = emu.client(service="iam")
    kvs = emu.client(service="kinesisvideo")
    kinesis = emu.client(service="kinesis")
    rekognition = emu.client()
    role_arn = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=json.dumps(EC2_TRUST))[
        "Role"
    ]["Arn"]
    account = role_arn.split(":")[4]
    kinesis.create_stream(StreamName=f"{name}-out", ShardCount=1)
    data_arn = kinesis.describe_stream_summary(StreamName=f"{name}-out")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    missing_video = f"arn:aws:kinesisvideo:us-east-1:{account}:stream/{name}/1700000000000"
    spec = _spec(tmp_path, emu, name, role_arn, missing_video, data_arn)
    other = face("other")
    kvs_other = kvs.create_stream(StreamName=f"{name}-other-in")["StreamARN"]
    kinesis.create_stream(StreamName=f"{name}-other-out", ShardCount=1)
    other_out = kinesis.describe_stream_summary(StreamName=f"{name}-other-out")["StreamDescriptionSummary"][
        "StreamARN"
    ]
    text = spec.read_text()
    text = text.replace(other["input"]["kinesis_video_stream_arn"], kvs_other)
    text = text.replace(other["output"]["kinesis_data_stream_arn"], other_out)
    spec.write_text(text)
    rekognition.create_collection(CollectionId=f"{name}-other")
    emu.clear_stats()

    r = run_spd(["check", str(spec), "--endpoint-url", emu.url])
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    errors = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(errors) == 3, r.stderr
    video_line = _line_of(spec, missing_video)
    collection_line = _line_of(spec, f"collection_id: {name}")
    role_line = _line_of(spec, role_arn)
    assert any(
        e.startswith(f"{spec}:{video_line}:")
        and "processors[1].input.kinesis_video_stream_arn:" in e
        and "does not exist" in e
        for e in errors
    ), errors
    assert any(
        e.startswith(f"{spec}:{collection_line}:")
        and "processors[1].face_search.collection_id:" in e
        and "does not exist" in e
        for e in errors
    ), errors
    # The role is written in defaults: reported there, once for both processors that inherit it.
    assert any(
        e.startswith(f"{spec}:{role_line}:")
        and " defaults.role_arn:" in e
        and "rekognition.amazonaws.com" in e
        for e in errors
    ), errors
    calls = emu.stats()["calls"]
    assert not [op for op in calls if op.startswith(MUTATING)], calls

    kvs.create_stream(StreamName=name)
    real_video = kvs.describe_stream(StreamName=name)["StreamInfo"]["StreamARN"]
    spec.write_text(spec.read_text().replace(missing_video, real_video))
    iam.update_assume_role_policy(RoleName=f"{name}-role", PolicyDocument=json.dumps(REKOGNITION_TRUST))
    rekognition.create_collection(CollectionId=name)
    r = run_spd(["check", str(spec), "--endpoint-url", emu.url])
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stderr.strip() == ""
    assert "0 errors, 0 warnings" in r.stdout


def test_denied_look_up_is_a_warning_naming_the_permission(emu, tmp_path):
    iam = emu.client(service="iam")
    kvs = emu.client(service="kinesisvideo")
    kinesis = emu.client(service="kinesis")
    trust = json.dumps(REKOGNITION_TRUST)
    role_arn = iam.create_role(RoleName="chk-denied", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    video = kvs.create_stream(StreamName="chk-denied-in")["StreamARN"]
    kinesis.create_stream(StreamName="chk-denied-out", ShardCount=1)
    summary = kinesis.describe_stream_summary(StreamName="chk-denied-out")["StreamDescriptionSummary"]
    spec = write_spec(tmp_path / "spec.yaml", [face("door", collection="never-created")])
    text = spec.read_text().replace("arn:aws:iam::111122223333:role/SpdRekognition", role_arn)
    text = text.replace(face("door")["input"]["kinesis_video_stream_arn"], video)
    spec.write_text(text.replace(face("door")["output"]["kinesis_data_stream_arn"], summary["StreamARN"]))
    emu.fault(operation="DescribeCollection", error="AccessDeniedException", count=100)

    r = run_spd(["check", str(spec), "--endpoint-url", emu.url])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    (warning,) = r.stderr.splitlines()
    line = _line_of(spec, "collection_id: never-created")
    assert warning.startswith(f"{spec}:{line}:")
    assert "processors[0].face_search.collection_id: warning: could not check the face collection" in warning
    assert "(needs rekognition:DescribeCollection)" in warning
    assert "0 errors, 1 warning" in r.stdout
