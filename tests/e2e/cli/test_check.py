"""`spd check`: every reference looked up read-only, each problem located at the spec line that names it."""

from __future__ import annotations

import json
from pathlib import Path

from references_support import EC2_TRUST, REKOGNITION_TRUST, create_data_stream, create_role, point_at
from spdrun import face, run_spd, write_spec

MUTATING = ("Create", "Start", "Stop", "Update", "Delete", "Tag", "Untag")


def _line_of(spec: Path, text: str) -> int:
    lines = spec.read_text().splitlines()
    return next(i for i, line in enumerate(lines, 1) if line.endswith(text))


def _spec(tmp_path: Path, emu, name: str, role_arn: str, video_arn: str, data_arn: str) -> Path:
    spec = write_spec(
        tmp_path / "spec.yaml", [face("other", collection=f"{name}-other"), face(name, collection=name)]
    )
    # The first processor is fine but for its own collection; the second carries the three problems.
    point_at(spec, name, role_arn=role_arn, video_arn=video_arn, data_arn=data_arn)
    return spec


def test_missing_references_are_located_errors_then_pass_once_created(emu, tmp_path):
    name = f"chk-{tmp_path.name[-12:]}".replace("_", "-")
    iam = emu.client(service="iam")
    kvs = emu.client(service="kinesisvideo")
    rekognition = emu.client()
    role_arn = create_role(emu, f"{name}-role", EC2_TRUST)
    account = role_arn.split(":")[4]
    data_arn = create_data_stream(emu, f"{name}-out")
    missing_video = f"arn:aws:kinesisvideo:us-east-1:{account}:stream/{name}/1700000000000"
    spec = _spec(tmp_path, emu, name, role_arn, missing_video, data_arn)
    other = face("other")
    kvs_other = kvs.create_stream(StreamName=f"{name}-other-in")["StreamARN"]
    other_out = create_data_stream(emu, f"{name}-other-out")
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
    # The role is written in defaults: reported there, once for both processors that inherit it.
    expected = [
        (_line_of(spec, missing_video), "processors[1].input.kinesis_video_stream_arn:", "does not exist"),
        (
            _line_of(spec, f"collection_id: {name}"),
            "processors[1].face_search.collection_id:",
            "does not exist",
        ),
        (_line_of(spec, role_arn), " defaults.role_arn:", "rekognition.amazonaws.com"),
    ]
    for line, where, what in expected:
        assert any(e.startswith(f"{spec}:{line}:") and where in e and what in e for e in errors), (
            where,
            errors,
        )
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
    kvs = emu.client(service="kinesisvideo")
    role_arn = create_role(emu, "chk-denied", REKOGNITION_TRUST)
    video = kvs.create_stream(StreamName="chk-denied-in")["StreamARN"]
    spec = write_spec(tmp_path / "spec.yaml", [face("door", collection="never-created")])
    point_at(
        spec, "door", role_arn=role_arn, video_arn=video, data_arn=create_data_stream(emu, "chk-denied-out")
    )
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
