"""`spd plan` and `spd apply` run the preflight first: missing references stop them before any
stream-processor call; `--no-preflight` skips it; once the resources exist, planning proceeds."""

from __future__ import annotations

import json

from references_support import EC2_TRUST, REKOGNITION_TRUST, create_data_stream, create_role, point_at
from spd.model import OPERATIONS
from spdrun import face, run_spd, write_spec

ON = {"SPD_PREFLIGHT": "true"}


def _processor_calls(emu) -> dict[str, int]:
    return {op: n for op, n in emu.stats()["calls"].items() if op in OPERATIONS and n}


def test_plan_and_apply_stop_on_missing_references_before_any_processor_call(emu, tmp_path):
    name = f"pf-{tmp_path.name[-12:]}".replace("_", "-")
    iam = emu.client(service="iam")
    kvs = emu.client(service="kinesisvideo")
    role_arn = create_role(emu, f"{name}-role", EC2_TRUST)
    account = role_arn.split(":")[4]
    data_arn = create_data_stream(emu, f"{name}-out")
    missing_video = f"arn:aws:kinesisvideo:us-east-1:{account}:stream/{name}/1700000000000"
    spec = write_spec(tmp_path / "spec.yaml", [face(name, collection=name)])
    point_at(spec, name, role_arn=role_arn, video_arn=missing_video, data_arn=data_arn)
    emu.clear_stats()

    for args in (["plan"], ["apply", "--auto-approve"]):
        r = run_spd([*args, str(spec), "--endpoint-url", emu.url], env=ON)
        assert r.returncode == 1, r.stdout + r.stderr
        assert "Traceback" not in r.stderr
        located = [line for line in r.stderr.splitlines() if line.startswith(f"{spec}:")]
        assert len(located) == 3, r.stderr
        assert any("input.kinesis_video_stream_arn:" in e and "does not exist" in e for e in located)
        assert any("face_search.collection_id:" in e and "does not exist" in e for e in located)
        assert any("role_arn:" in e and "rekognition.amazonaws.com" in e for e in located)
        assert "nothing was planned or changed" in r.stderr
        assert r.stdout == ""
        assert _processor_calls(emu) == {}, args

    # --no-preflight skips it (even with the setting on): planning reads the service again.
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--no-preflight"], env=ON)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not [line for line in r.stderr.splitlines() if line.startswith(f"{spec}:")], r.stderr
    assert _processor_calls(emu), "plan without preflight should have read the processors"

    kvs.create_stream(StreamName=name)
    real_video = kvs.describe_stream(StreamName=name)["StreamInfo"]["StreamARN"]
    spec.write_text(spec.read_text().replace(missing_video, real_video))
    iam.update_assume_role_policy(RoleName=f"{name}-role", PolicyDocument=json.dumps(REKOGNITION_TRUST))
    emu.client().create_collection(CollectionId=name)
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"], env=ON)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip() == "", r.stderr
    assert "create" in r.stdout.lower()


def test_saved_plan_apply_runs_the_preflight_again(emu, tmp_path):
    """A plan saved while the references existed is not carried out once one of them is gone."""
    kvs = emu.client(service="kinesisvideo")
    role_arn = create_role(emu, "pf-saved", REKOGNITION_TRUST)
    video = kvs.create_stream(StreamName="pf-saved-in")["StreamARN"]
    data_arn = create_data_stream(emu, "pf-saved-out")
    emu.client().create_collection(CollectionId="pf-saved")
    spec = write_spec(tmp_path / "spec.yaml", [face("door", collection="pf-saved")])
    point_at(spec, "door", role_arn=role_arn, video_arn=video, data_arn=data_arn)
    saved = tmp_path / "plan.json"
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--out", str(saved)], env=ON)
    assert r.returncode == 0, r.stdout + r.stderr

    emu.client().delete_collection(CollectionId="pf-saved")
    emu.clear_stats()
    r = run_spd(["apply", str(saved), "--endpoint-url", emu.url], env=ON)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "face collection pf-saved does not exist" in r.stderr
    assert _processor_calls(emu) == {}

    r = run_spd(["apply", str(saved), "--endpoint-url", emu.url, "--no-preflight"], env=ON)
    assert r.returncode == 0, r.stdout + r.stderr
    assert emu.client().describe_stream_processor(Name="door")["Name"] == "door"


def test_local_runs_the_preflight_against_its_sandbox(tmp_path):
    """`--local` plays the user's account: the spec's references are there on first use, so the preflight
    (on by default) passes; `--no-preflight` still skips it."""
    spec = write_spec(tmp_path / "spec.yaml", [face("door")])
    state = str(tmp_path / "local.sqlite")
    r = run_spd(["plan", str(spec), "--local", "--local-state", state, "--detailed-exitcode"], env=ON)
    assert r.returncode == 2, r.stdout + r.stderr
    assert r.stderr.strip() == "", r.stderr
    r = run_spd(["plan", str(spec), "--local", "--local-state", state, "--no-preflight"], env=ON)
    assert r.returncode == 0, r.stdout + r.stderr
