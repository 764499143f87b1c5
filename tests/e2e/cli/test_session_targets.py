"""Sessions in a fleet of several targets: processor names are unique per target and region only, so
the same name may be a processor in two accounts. A trigger must say which (`target`), the session
starts in that account only, and each has its own ledger rows and its own daily budget."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from spd.emulator.testing import EmulatorProcess
from spdrun import home, run_spd, write_targets_spec
from targets_support import assumed, make_role

A = "111111111111"
B = "222222222222"


def porch(account: str, target: str) -> dict[str, Any]:
    base = home("porch", sessions={"max_duration_seconds": 60, "budget_seconds_per_day": 60})
    return {
        **base,
        "target": target,
        "region": "us-east-1",
        "role_arn": f"arn:aws:iam::{account}:role/SpdRekognition",
        "input": {"kinesis_video_stream_arn": f"arn:aws:kinesisvideo:us-east-1:{account}:stream/porch/1"},
        "notification_channel": {"sns_topic_arn": f"arn:aws:sns:us-east-1:{account}:AmazonRekognitionSpd"},
    }


def test_a_session_starts_in_the_named_targets_account_with_a_budget_per_target(
    tmp_path: Path, emu: EmulatorProcess
) -> None:
    roles = {"alpha": make_role(emu.url, A), "beta": make_role(emu.url, B)}
    spec = tmp_path / "spec.yaml"
    targets = {
        "alpha": {"account_id": A, "role_arn": roles["alpha"], "regions": ["us-east-1"]},
        "beta": {"account_id": B, "role_arn": roles["beta"], "regions": ["us-east-1"]},
    }
    write_targets_spec(spec, targets, [porch(A, "alpha"), porch(B, "beta")], references=emu)
    env = {"SPD_STATE_DIR": str(tmp_path / "state"), "SPD_ENDPOINT_URL": emu.url}
    applied = run_spd(["apply", str(spec), "--auto-approve"], env=env)
    assert applied.returncode == 0, applied.stdout + applied.stderr

    def status(target: str) -> str:
        client = assumed(emu.url, roles[target], "rekognition")
        return str(client.describe_stream_processor(Name="porch")["Status"])

    ambiguous = run_spd(["session", "start", str(spec), "porch"], env=env)
    assert ambiguous.returncode == 1
    assert "processor 'porch' exists in alpha/us-east-1, beta/us-east-1; give target" in ambiguous.stderr
    assert "Traceback" not in ambiguous.stderr

    started = run_spd(
        ["session", "start", str(spec), "porch", "--target", "beta", "--output", "json"], env=env
    )
    assert started.returncode == 0, started.stderr
    outcome = json.loads(started.stdout)
    assert (outcome["outcome"], outcome["target"], outcome["region"]) == ("started", "beta", "us-east-1")
    assert status("alpha") == "STOPPED"
    assert status("beta") in ("STARTING", "RUNNING")

    # beta's 60 s are its own: alpha's porch still has its whole budget.
    other = run_spd(["session", "start", str(spec), "porch", "--target", "alpha"], env=env)
    assert other.returncode == 0, other.stderr
    assert other.stdout.startswith("started porch (alpha/us-east-1): session ")
    assert status("alpha") in ("STARTING", "RUNNING")

    listed = run_spd(["sessions", str(spec), "--output", "json"], env=env)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["sessions"]
    assert [(r["target"], r["outcome"]) for r in rows] == [
        (None, "refused"),
        ("beta", "started"),
        ("alpha", "started"),
    ]
    text = run_spd(["sessions", str(spec)], env=env).stdout
    assert "beta/us-east-1/porch" in text
    assert "alpha/us-east-1/porch" in text
