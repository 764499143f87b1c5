"""Saved plans: `spd plan --out FILE`, then `spd apply FILE`, through the real command and the emulator."""

from __future__ import annotations

import json

import pytest

from spdrun import ACCOUNT, face, home, run_spd, wait_status, write_spec

STACK_TAG = "spd:stack"
MUTATING = (
    "CreateStreamProcessor",
    "UpdateStreamProcessor",
    "StartStreamProcessor",
    "StopStreamProcessor",
    "DeleteStreamProcessor",
    "TagResource",
    "UntagResource",
)


def _spd(emu, *args, **kwargs):
    r = run_spd([*args, "--endpoint-url", emu.url], **kwargs)
    assert "Traceback" not in r.stderr, r.stderr
    return r


@pytest.fixture
def fleet(tmp_path, emu):
    """lobby running, garage stopped, porch watching for people; then a spec that changes all but lobby."""
    spec = write_spec(
        tmp_path / "spec.yaml",
        [face("lobby"), face("garage", desired_state="stopped"), home("porch")],
        references=emu,
    )
    r = _spd(emu, "apply", str(spec), "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    wait_status(emu.client(), "lobby", {"RUNNING"})
    write_spec(
        spec,
        [face("lobby"), face("garage"), home("porch", labels=["PERSON", "PACKAGE"]), home("yard")],
        references=emu,
    )
    return spec


def _save(emu, spec, out, *extra):
    r = _spd(emu, "plan", str(spec), "--out", str(out), *extra)
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(out.read_text())


def _mutations(emu):
    calls = emu.stats()["calls"]
    return {op: calls[op] for op in MUTATING if calls.get(op)}


def test_apply_of_a_saved_plan_does_exactly_the_plan_without_asking(fleet, emu, tmp_path):
    client = emu.client()
    out = tmp_path / "plan.json"
    saved = _save(emu, fleet, out)
    assert saved["format_version"] == 1
    assert saved["spec"] == str(fleet)
    assert saved["spec_digest"].startswith("sha256:")
    by_name = {p["name"]: p for p in saved["processors"]}
    assert {n: p["actions"] for n, p in by_name.items()} == {
        "garage": ["start"],
        "lobby": ["noop"],
        "porch": ["update"],
        "yard": ["create"],
    }
    assert by_name["yard"]["observed"] is None
    assert by_name["lobby"]["observed"]["status"] == "RUNNING"
    assert by_name["lobby"]["observed"]["tags"] == {STACK_TAG: "test-stack"}
    assert by_name["lobby"]["observed"]["last_update"]

    emu.clear_stats()
    # No --auto-approve, and no terminal: a saved plan is not asked about again.
    r = _spd(emu, "apply", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Apply complete" in r.stdout
    assert _mutations(emu) == {
        "CreateStreamProcessor": 1,
        "UpdateStreamProcessor": 1,
        "StartStreamProcessor": 1,
        # the stack tag goes with CreateStreamProcessor
    }
    # Only the plan's processors were read again (yard did not exist then).
    assert emu.stats()["calls"]["DescribeStreamProcessor"] >= 3
    labels = client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"]
    assert sorted(labels) == ["PACKAGE", "PERSON"]
    assert client.describe_stream_processor(Name="garage")["Status"] in ("STARTING", "RUNNING")


def _stop_lobby(client):
    client.stop_stream_processor(Name="lobby")
    return "lobby", "status RUNNING -> "


def _relabel_porch(client):
    client.update_stream_processor(
        Name="porch",
        SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}},
    )
    return "porch", "last updated"


def _tag_garage(client):
    arn = client.describe_stream_processor(Name="garage")["StreamProcessorArn"]
    client.tag_resource(ResourceArn=arn, Tags={"team": "night-shift"})
    return "garage", "tag team: None -> 'night-shift'"


def _untag_garage(client):
    arn = client.describe_stream_processor(Name="garage")["StreamProcessorArn"]
    client.untag_resource(ResourceArn=arn, TagKeys=[STACK_TAG])
    return "garage", f"tag {STACK_TAG}: 'test-stack' -> None"


def _create_yard(client):
    client.create_stream_processor(
        Name="yard",
        Input={"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/x/1"}},
        Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/x"}},
        Settings={"FaceSearch": {"CollectionId": "theirs"}},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Theirs",
    )
    return "yard", "appeared since the plan was made"


def _delete_garage(client):
    client.delete_stream_processor(Name="garage")
    return "garage", "disappeared since the plan was made"


@pytest.mark.parametrize(
    "change",
    [_stop_lobby, _relabel_porch, _tag_garage, _untag_garage, _create_yard, _delete_garage],
    ids=lambda f: f.__name__.strip("_"),
)
def test_a_change_to_one_planned_processor_refuses_the_whole_plan(fleet, emu, tmp_path, change):
    client = emu.client()
    out = tmp_path / "plan.json"
    _save(emu, fleet, out)
    name, what = change(client)

    emu.clear_stats()
    r = _spd(emu, "apply", str(out))
    assert r.returncode == 1, r.stdout + r.stderr
    assert "saved plan is out of date" in r.stderr
    lines = [line for line in r.stderr.splitlines() if f"us-east-1/{name}:" in line]
    assert len(lines) == 1, r.stderr
    assert what in lines[0]
    # Only that processor is named, and nothing at all was changed.
    assert not any(
        f"us-east-1/{other}:" in r.stderr for other in {"lobby", "garage", "porch", "yard"} - {name}
    )
    assert _mutations(emu) == {}


def test_a_changed_spec_refuses_the_plan(fleet, emu, tmp_path):
    out = tmp_path / "plan.json"
    _save(emu, fleet, out)
    write_spec(fleet, [face("lobby"), face("garage"), home("porch")], references=emu)
    emu.clear_stats()
    r = _spd(emu, "apply", str(out))
    assert r.returncode == 1
    assert "the spec changed since the plan was made" in r.stderr
    assert _mutations(emu) == {}


def test_reformatting_the_spec_keeps_the_plan_valid(fleet, emu, tmp_path):
    out = tmp_path / "plan.json"
    _save(emu, fleet, out)
    fleet.write_text("# reviewed\n" + fleet.read_text())
    r = _spd(emu, "apply", str(out))
    assert r.returncode == 0, r.stdout + r.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not a saved plan (invalid JSON"),
        ("[]", "not a saved plan (no format_version)"),
        ('{"format_version": 99}', "format_version 99 is not supported"),
        ('{"format_version": 1, "stack": "s"}', "corrupt saved plan: spec must be a non-empty string"),
    ],
)
def test_a_corrupt_plan_file_is_a_clean_error(emu, tmp_path, content, message):
    out = tmp_path / "plan.json"
    out.write_text(content)
    emu.clear_stats()
    r = _spd(emu, "apply", str(out))
    assert r.returncode == 78, r.stdout + r.stderr
    assert f"{out}: {message}" in r.stderr
    assert not any(emu.stats()["calls"].values())


def test_a_plan_for_another_stack_is_a_clean_error(fleet, emu, tmp_path):
    out = tmp_path / "plan.json"
    doc = _save(emu, fleet, out)
    out.write_text(json.dumps({**doc, "stack": "other-stack"}))
    emu.clear_stats()
    r = _spd(emu, "apply", str(out))
    assert r.returncode == 78
    assert "the saved plan is for stack 'other-stack'" in r.stderr
    assert not any(emu.stats()["calls"].values())


def test_a_plan_file_is_recognised_by_content_and_fixes_its_options(fleet, emu, tmp_path):
    out = tmp_path / "reviewed-plan"
    _save(emu, fleet, out)
    for flag in (["--target", "porch"], ["--adopt"], ["--prune"]):
        r = _spd(emu, "apply", str(out), *flag)
        assert r.returncode == 64, flag
    assert "fixed by the saved plan" in r.stderr
    r = _spd(emu, "apply", str(out))
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_plan_saved_with_adopt_adopts_when_applied(emu, tmp_path):
    theirs = write_spec(
        tmp_path / "theirs.yaml", [home("porch", labels=["PET"])], stack="made-by-hand", references=emu
    )
    assert _spd(emu, "apply", str(theirs), "--auto-approve").returncode == 0
    client = emu.client()
    arn = client.describe_stream_processor(Name="porch")["StreamProcessorArn"]
    client.untag_resource(ResourceArn=arn, TagKeys=[STACK_TAG])
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=emu)
    out = tmp_path / "plan.json"
    saved = _save(emu, spec, out, "--adopt")
    assert saved["adopt"] is True
    assert saved["processors"][0]["actions"][0] == "adopt"

    r = _spd(emu, "apply", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"][STACK_TAG] == "test-stack"
    labels = client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"]
    assert labels == ["PERSON"]
