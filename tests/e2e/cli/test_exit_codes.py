"""Exit codes CI can trust, through the real `spd` command against the emulator.

Blocked changes (a `protect`ed processor that needs a replace, a name taken by someone else's
processor) are changes: `plan --detailed-exitcode` exits 2 for them, `apply` does what it can and
then exits 1 naming them. `status --detailed-exitcode` exits 2 when anything drifted, is missing,
blocked or conflicted. `apply --output json` puts exactly one JSON document on stdout.
"""

from __future__ import annotations

import json

import pytest

from spdrun import ACCOUNT, face, run_spd, wait_status, write_spec


def _spd(command, spec, emu, *extra):
    r = run_spd([command, str(spec), "--endpoint-url", emu.url, *extra])
    assert "Traceback" not in r.stderr
    return r


def _apply(spec, emu, *extra):
    return _spd("apply", spec, emu, "--auto-approve", *extra)


def _names(emu):
    return {p["Name"] for p in emu.client().list_stream_processors()["StreamProcessors"]}


def _untagged(emu, name):
    """A processor someone else made, with the name the spec uses and no `spd:stack` tag."""
    emu.client().create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/x-{name}/1"}},
        Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/x-{name}"}},
        Settings={"FaceSearch": {"CollectionId": "theirs", "FaceMatchThreshold": 90}},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Theirs",
    )


@pytest.fixture
def protected(emu, tmp_path):
    """`lobby` is protected and the spec now needs it replaced (new collection); `porch` is new."""
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby", protect=True)], references=emu)
    assert _apply(spec, emu).returncode == 0
    return write_spec(
        tmp_path / "spec.yaml",
        [face("lobby", protect=True, collection="visitors"), face("porch")],
        references=emu,
    )


@pytest.fixture
def conflicted(emu, tmp_path):
    """`lobby` is taken by an untagged processor; `porch` is new."""
    _untagged(emu, "lobby")
    return write_spec(tmp_path / "spec.yaml", [face("lobby"), face("porch")], references=emu)


@pytest.mark.parametrize("scenario", ["protected", "conflicted"])
def test_blocked_changes_are_changes_for_plan_and_apply(emu, scenario, request):
    spec = request.getfixturevalue(scenario)
    assert _spd("plan", spec, emu, "--detailed-exitcode").returncode == 2
    r = _apply(spec, emu)
    # apply does what it can (porch), then fails naming what it could not do.
    assert r.returncode == 1, r.stdout + r.stderr
    assert "porch" in _names(emu)
    assert "1 blocked change(s) remain" in r.stdout
    assert any(
        "us-east-1/lobby" in line and ("protected" in line or "conflict" in line)
        for line in r.stdout.splitlines()
    )
    # Only the blocked change is left: still a change for plan, still a failure for apply.
    assert _spd("plan", spec, emu, "--detailed-exitcode").returncode == 2
    again = _apply(spec, emu)
    assert again.returncode == 1
    assert "1 blocked change(s) remain" in again.stdout
    r = _spd("status", spec, emu, "--detailed-exitcode")
    assert r.returncode == 2, r.stdout


def _status_json(spec, emu):
    r = _spd("status", spec, emu, "--output", "json", "--detailed-exitcode")
    doc = json.loads(r.stdout)
    return r.returncode, {p["name"]: p for p in doc["processors"]}, doc


def test_status_json_and_exit_code_for_each_kind_of_difference(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby"), face("garage")], references=emu)
    assert _apply(spec, emu).returncode == 0
    code, rows, doc = _status_json(spec, emu)
    assert code == 0
    assert doc["stack"] == "test-stack"
    assert {r["sync"] for r in rows.values()} == {"in_sync"}
    assert rows["lobby"]["managed"] is True
    assert rows["lobby"]["owner"] == "test-stack"

    # drifted: stopped by hand
    client = emu.client()
    wait_status(client, "garage", {"RUNNING"})
    client.stop_stream_processor(Name="garage")
    wait_status(client, "garage", {"STOPPED"})
    code, rows, _ = _status_json(spec, emu)
    assert code == 2
    assert rows["garage"]["sync"] == "drifted"
    assert rows["garage"]["drifted"] == ["status"]
    assert _apply(spec, emu).returncode == 0

    # missing, conflicted, and blocked (protected, needs a replace)
    _untagged(emu, "porch")
    spec = write_spec(
        tmp_path / "spec.yaml",
        [face("lobby", protect=True, collection="visitors"), face("garage"), face("yard"), face("porch")],
        references=emu,
    )
    code, rows, doc = _status_json(spec, emu)
    assert code == 2
    assert rows["yard"]["sync"] == "missing"
    assert rows["porch"]["sync"] == "conflict"
    assert rows["porch"]["managed"] is False
    assert rows["porch"]["owner"] is None
    assert rows["porch"]["blocked"].startswith("conflict")
    assert rows["lobby"]["sync"] == "drifted"
    assert rows["lobby"]["blocked"].startswith("protected")
    assert doc["summary"] == {"drifted": 1, "in_sync": 1, "missing": 1, "conflict": 1}
    # The table says the same.
    table = _spd("status", spec, emu).stdout
    assert any("porch" in line and "conflict" in line for line in table.splitlines()), table


def test_status_detailed_exitcode_ignores_processors_it_does_not_manage(emu, tmp_path):
    _untagged(emu, "bystander")
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
    assert _apply(spec, emu).returncode == 0
    code, rows, _ = _status_json(spec, emu)
    assert code == 0
    assert rows["bystander"]["sync"] == "-"


def test_apply_json_is_one_document_on_stdout(emu, conflicted):
    r = _apply(conflicted, emu, "--output", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)  # the whole of stdout, nothing else
    assert doc["outcome"] == "blocked"
    assert [(p["name"], p["error"]) for p in doc["processors"]] == [("porch", None)]
    assert "create" in doc["processors"][0]["done"]
    assert doc["failed"] == []
    assert [(b["name"], b["region"]) for b in doc["blocked"]] == [("lobby", "us-east-1")]
    assert doc["blocked"][0]["reason"].startswith("conflict")
    assert doc["summary"] == {
        "changed": 1,
        "failed": 0,
        "blocked": 1,
        "unreadable": 0,
        "failed_targets": 0,
    }
    # The plan went to stderr, for the people watching the log.
    assert "+ create" in r.stderr


def test_apply_json_reports_failures_and_no_changes(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("a")], references=emu)
    emu.fault(operation="CreateStreamProcessor", error="AccessDeniedException", count=100)
    r = _apply(spec, emu, "--output", "json")
    assert r.returncode == 1
    doc = json.loads(r.stdout)
    assert doc["outcome"] == "failed"
    assert [f["name"] for f in doc["failed"]] == ["a"]
    assert "AccessDeniedException" in doc["failed"][0]["error"]
    emu.clear_faults()
    assert _apply(spec, emu).returncode == 0
    r = _apply(spec, emu, "--output", "json")
    assert r.returncode == 0
    doc = json.loads(r.stdout)
    assert doc["outcome"] == "no_changes"
    assert doc["processors"] == []
