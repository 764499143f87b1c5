"""The scenarios an operator runs, through the real `spd` command against the emulator over HTTP."""

from __future__ import annotations

import json

import pytest

from spdrun import ACCOUNT, face, home, run_spd, wait_status, write_spec

STACK_TAG = "spd:stack"


def _plan_json(spec, emu, *extra):
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--output", "json", *extra])
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def _apply(spec, emu, *extra):
    r = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve", *extra])
    assert "Traceback" not in r.stderr
    return r


def _by_name(plan):
    return {p["name"]: p for p in plan["processors"]}


@pytest.fixture
def fleet(tmp_path, emu):
    spec = write_spec(
        tmp_path / "spec.yaml",
        [face("lobby"), face("garage", desired_state="stopped"), home("porch"), home("yard", labels=["PET"])],
        references=emu,
    )
    r = _apply(spec, emu)
    assert r.returncode == 0, r.stdout + r.stderr
    return spec


def test_apply_fleet_then_plan_shows_no_changes(fleet, emu, tmp_path):
    client = emu.client()
    assert client.describe_stream_processor(Name="lobby")["Status"] in ("STARTING", "RUNNING")
    assert client.describe_stream_processor(Name="garage")["Status"] == "STOPPED"
    arn = client.describe_stream_processor(Name="porch")["StreamProcessorArn"]
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"][STACK_TAG] == "test-stack"
    r = run_spd(["plan", str(fleet), "--endpoint-url", emu.url, "--detailed-exitcode"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "No changes" in r.stdout
    # A second apply is a no-op too.
    r = _apply(fleet, emu)
    assert r.returncode == 0
    assert "No changes" in r.stdout


def test_label_change_updates_in_place(fleet, emu, tmp_path):
    client = emu.client()
    created = client.describe_stream_processor(Name="porch")["CreationTimestamp"]
    spec = write_spec(
        tmp_path / "spec.yaml",
        [
            face("lobby"),
            face("garage", desired_state="stopped"),
            home("porch", labels=["PACKAGE", "PERSON"]),
            home("yard", labels=["PET"]),
        ],
        references=emu,
    )
    plan = _plan_json(spec, emu)
    porch = _by_name(plan)["porch"]
    assert porch["actions"] == ["update"]
    assert porch["changes"] == [
        {
            "field": "connected_home.labels",
            "before": ["PERSON"],
            "after": ["PACKAGE", "PERSON"],
            "forces_replacement": False,
        }
    ]
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"])
    assert r.returncode == 2
    assert "~ update" in r.stdout
    assert _apply(spec, emu).returncode == 0
    after = client.describe_stream_processor(Name="porch")
    assert sorted(after["Settings"]["ConnectedHome"]["Labels"]) == ["PACKAGE", "PERSON"]
    assert after["CreationTimestamp"] == created
    assert run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"]).returncode == 0


def test_collection_change_replaces_and_restarts(fleet, emu, tmp_path):
    client = emu.client()
    created = client.describe_stream_processor(Name="lobby")["CreationTimestamp"]
    spec = write_spec(
        tmp_path / "spec.yaml",
        [
            face("lobby", collection="visitors"),
            face("garage", desired_state="stopped"),
            home("porch"),
            home("yard", labels=["PET"]),
        ],
        references=emu,
    )
    lobby = _by_name(_plan_json(spec, emu))["lobby"]
    assert lobby["actions"] == ["replace", "start"]
    assert lobby["changes"][0]["forces_replacement"] is True
    r = _apply(spec, emu)
    assert r.returncode == 0, r.stdout + r.stderr
    after = client.describe_stream_processor(Name="lobby")
    assert after["Settings"]["FaceSearch"]["CollectionId"] == "visitors"
    assert after["CreationTimestamp"] != created
    assert after["Status"] in ("STARTING", "RUNNING")


def test_processor_stopped_by_hand_is_planned_to_start(fleet, emu):
    client = emu.client()
    wait_status(client, "lobby", {"RUNNING"})
    client.stop_stream_processor(Name="lobby")
    wait_status(client, "lobby", {"STOPPED"})
    lobby = _by_name(_plan_json(fleet, emu))["lobby"]
    assert lobby["actions"] == ["start"]
    assert lobby["changes"] == [
        {"field": "status", "before": "STOPPED", "after": "RUNNING", "forces_replacement": False}
    ]
    assert _apply(fleet, emu).returncode == 0
    assert client.describe_stream_processor(Name="lobby")["Status"] in ("STARTING", "RUNNING")


def test_removed_from_spec_is_deleted_only_with_prune(fleet, emu, tmp_path):
    client = emu.client()
    spec = write_spec(
        tmp_path / "spec.yaml",
        [face("lobby"), face("garage", desired_state="stopped"), home("porch")],
        references=emu,
    )
    # Without --prune, processors outside the spec are not even read: plan and apply leave them be.
    assert "yard" not in _by_name(_plan_json(spec, emu))
    r = _apply(spec, emu)
    assert r.returncode == 0
    client.describe_stream_processor(Name="yard")  # still there
    status = run_spd(["status", str(spec), "--endpoint-url", emu.url])
    assert any("yard" in line and "not in spec" in line for line in status.stdout.splitlines()), status.stdout
    pruned = _by_name(_plan_json(spec, emu, "--prune"))["yard"]
    assert pruned["blocked"] is None
    r = _apply(spec, emu, "--prune")
    assert r.returncode == 0, r.stdout + r.stderr
    names = {p["Name"] for p in client.list_stream_processors()["StreamProcessors"]}
    assert "yard" not in names
    assert {"lobby", "garage", "porch"} <= names


def _unmanaged(emu, name, *, tags=None):
    """A processor made by someone else, with what it references (so that it runs)."""
    client = emu.client()
    kwargs = {
        "Input": {
            "KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/x-{name}/1"}
        },
        "Output": {"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/x-{name}"}},
        "Name": name,
        "Settings": {"FaceSearch": {"CollectionId": "theirs", "FaceMatchThreshold": 90}},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/Theirs",
    }
    if tags:
        kwargs["Tags"] = tags
    emu.create_references(kwargs)
    client.create_stream_processor(**kwargs)


@pytest.mark.parametrize("tags", [None, {STACK_TAG: "another-stack"}])
def test_unmanaged_processors_are_never_touched(emu, tmp_path, tags):
    client = emu.client()
    _unmanaged(emu, "lobby", tags=tags)  # same name as a spec processor
    _unmanaged(emu, "bystander", tags=tags)  # not in the spec at all
    client.start_stream_processor(Name="bystander")
    before = {n: client.describe_stream_processor(Name=n) for n in ("lobby", "bystander")}
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby"), home("porch")], references=emu)
    lobby = _by_name(_plan_json(spec, emu, "--prune"))["lobby"]
    assert lobby["blocked"].startswith("conflict")
    r = _apply(spec, emu, "--prune")
    assert "conflict" in r.stdout
    for name, old in before.items():
        now = client.describe_stream_processor(Name=name)
        assert now["CreationTimestamp"] == old["CreationTimestamp"]
        assert now["Settings"] == old["Settings"]
        assert now["Status"] in (old["Status"], "RUNNING")
        assert client.list_tags_for_resource(ResourceArn=now["StreamProcessorArn"])["Tags"] == (tags or {})
    stats = emu.stats()
    for op in (
        "DeleteStreamProcessor",
        "StopStreamProcessor",
        "UpdateStreamProcessor",
        "TagResource",
        "UntagResource",
    ):
        assert stats["calls"].get(op, 0) == 0, op
    status = run_spd(["status", str(spec), "--endpoint-url", emu.url])
    assert status.returncode == 0
    assert "bystander" in status.stdout


def test_aws_errors_are_one_clear_line_per_processor(emu, tmp_path):
    emu.fault(operation="CreateStreamProcessor", error="AccessDeniedException", count=100)
    spec = write_spec(tmp_path / "spec.yaml", [face("a"), face("b")], references=emu)
    r = _apply(spec, emu)
    assert r.returncode == 1
    lines = [line for line in r.stdout.splitlines() if "AccessDeniedException" in line]
    assert len(lines) == 2
    assert any("us-east-1/a" in line for line in lines)
    assert "Traceback" not in r.stderr


def test_apply_refuses_without_terminal_or_auto_approve(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("a")], references=emu)
    r = run_spd(["apply", str(spec), "--endpoint-url", emu.url])
    assert r.returncode == 64
    assert "--auto-approve" in r.stderr
    assert emu.client().list_stream_processors()["StreamProcessors"] == []


def test_invalid_spec_changes_nothing(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("a"), face("b", collection="")], references=emu)
    r = _apply(spec, emu)
    assert r.returncode == 78
    assert "spec.yaml:" in r.stderr
    assert emu.client().list_stream_processors()["StreamProcessors"] == []


def test_unreachable_endpoint_is_a_clean_runtime_error(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("a")])
    r = run_spd(["plan", str(spec), "--endpoint-url", "http://127.0.0.1:9"], env={"SPD_MAX_ATTEMPTS": "1"})
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "endpoint" in r.stderr.lower()


def test_target_limits_apply(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("a"), face("b")], references=emu)
    assert _apply(spec, emu, "--target", "b").returncode == 0
    names = {p["Name"] for p in emu.client().list_stream_processors()["StreamProcessors"]}
    assert names == {"b"}


def test_failed_processor_is_restarted_and_its_message_reported(fleet, emu):
    wait_status(emu.client(), "lobby", {"RUNNING"})
    emu.fail("lobby", "Access denied to Role")
    r = run_spd(["plan", str(fleet), "--endpoint-url", emu.url])
    assert "> start" in r.stdout
    assert "FAILED: Access denied to Role" in r.stdout
    r = _apply(fleet, emu)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "FAILED: Access denied to Role" in r.stdout
    wait_status(emu.client(), "lobby", {"RUNNING"})


def test_limit_exceeded_is_reported_per_processor(emu, tmp_path):
    emu.configure(max_processors=1)
    spec = write_spec(tmp_path / "spec.yaml", [face("a"), face("b")], references=emu)
    r = _apply(spec, emu)
    assert r.returncode == 1
    failed = [line for line in r.stdout.splitlines() if line.startswith("  x ")]
    assert len(failed) == 1
    assert "LimitExceededException" in failed[0]
    assert len(emu.client().list_stream_processors()["StreamProcessors"]) == 1


def test_standard_aws_endpoint_variable_is_honoured(emu, tmp_path):
    """Without --endpoint-url or --local, botocore's own resolution applies (AWS_ENDPOINT_URL_REKOGNITION)."""
    spec = write_spec(tmp_path / "spec.yaml", [face("a")], references=emu)
    r = run_spd(["apply", str(spec), "--auto-approve"], env={"AWS_ENDPOINT_URL_REKOGNITION": emu.url})
    assert r.returncode == 0, r.stdout + r.stderr
    assert [p["Name"] for p in emu.client().list_stream_processors()["StreamProcessors"]] == ["a"]


def test_video_stream_used_by_an_unmanaged_processor_fails_at_once(emu, tmp_path):
    """The service refuses a second processor on one video stream; spd reports it instead of waiting."""
    client = emu.client()
    client.create_stream_processor(
        Name="someone-elses",
        Input={"KinesisVideoStream": {"Arn": face("lobby")["input"]["kinesis_video_stream_arn"]}},
        Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/theirs"}},
        Settings={"FaceSearch": {"CollectionId": "theirs"}},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Theirs",
    )
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby"), face("garage")], references=emu)
    r = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"], timeout=60)
    assert r.returncode == 1
    failed = [line for line in r.stdout.splitlines() if line.startswith("  x ")]
    assert len(failed) == 1
    assert "us-east-1/lobby" in failed[0]
    assert "ResourceInUseException" in failed[0]
    assert "already used by stream processor someone-elses" in failed[0]
    names = {p["Name"] for p in client.list_stream_processors()["StreamProcessors"]}
    assert names == {"someone-elses", "garage"}
