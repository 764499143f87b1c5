"""`spd session start` and `spd sessions` as real subprocesses against the emulator."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger_messages import complete_message, label_message, sns
from spd.aws.mapping import create_request
from spd.model import STACK_TAG
from spd.sessions.ledger import Ledger
from spd.sessions.notifications import parse_notification
from spd.spec import load_spec
from spdrun import home, run_spd, write_spec


def setup(tmp_path: Path, emu: Any) -> tuple[Path, dict[str, str]]:
    spec = write_spec(
        tmp_path / "spec.yaml",
        [
            home("porch", sessions={"max_duration_seconds": 30, "budget_seconds_per_day": 3600}),
            home("garage"),
        ],
        references=emu,
    )
    for processor in load_spec(spec).desired.processors:
        emu.client().create_stream_processor(**create_request(processor.config, {STACK_TAG: "test-stack"}))
    return spec, {"SPD_STATE_DIR": str(tmp_path / "state"), "SPD_ENDPOINT_URL": emu.url}


def test_start_then_coalesce_then_refuse_then_list(tmp_path: Path, emu: Any) -> None:
    spec, env = setup(tmp_path, emu)
    started = run_spd(["session", "start", str(spec), "porch", "--fragment-number", "42"], env=env)
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("started porch (us-east-1): session ")
    assert "30 s from fragment_number=42" in started.stdout

    again = run_spd(["session", "start", str(spec), "porch", "--output", "json"], env=env)
    assert again.returncode == 0, again.stderr
    coalesced = json.loads(again.stdout)
    assert (coalesced["outcome"], coalesced["trigger"], coalesced["session_id"]) == ("coalesced", "cli", None)
    assert emu.stats()["calls"]["StartStreamProcessor"] == 1

    seconds = run_spd(
        ["session", "start", str(spec), "garage", "--producer-timestamp-ms", "1764000000", "--duration", "5"],
        env=env,
    )
    assert seconds.returncode == 1
    assert "looks like seconds, the API wants milliseconds" in seconds.stderr
    assert "Traceback" not in seconds.stderr
    assert emu.stats()["calls"]["StartStreamProcessor"] == 1

    session_id = started.stdout.split("session ")[1].split(",")[0]
    with Ledger.open(tmp_path / "state") as ledger:
        now = datetime.now(UTC)
        ledger.record_notification(
            parse_notification(sns(label_message(session_id, "e-1", "PERSON"))), received=now
        )
        ledger.record_notification(
            parse_notification(sns(complete_message(session_id, "e-2", 29_500))), received=now
        )

    listed = run_spd(["sessions", str(spec)], env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert lines[0].split() == [
        "TIME", "(UTC)", "PROCESSOR", "TRIGGER", "OUTCOME", "REQUESTED", "PROCESSED", "LABELS", "SESSION", "/", "REASON"
    ]  # fmt: skip
    assert lines[1].split()[2:8] == ["porch", "cli", "started", "30s", "29.5s", "PERSON"]
    assert lines[2].split()[2:5] == ["porch", "cli", "coalesced"]
    assert lines[3].split()[2:5] == ["garage", "cli", "refused"]
    assert lines[-1] == "3 triggers, 1 sessions started, 29.5 s of video processed"

    as_json = json.loads(
        run_spd(["sessions", str(spec), "--output", "json", "--since", "1h"], env=env).stdout
    )
    first = as_json["sessions"][0]
    assert {
        k: first[k] for k in ("processor", "trigger", "outcome", "requested_seconds", "processed_seconds")
    } == {
        "processor": "porch",
        "trigger": "cli",
        "outcome": "started",
        "requested_seconds": 30,
        "processed_seconds": 29.5,
    }
    assert (first["labels"], first["session_id"]) == (["PERSON"], session_id)
    assert [s["outcome"] for s in as_json["sessions"]] == ["started", "coalesced", "refused"]


def test_bad_arguments_are_clear_errors(tmp_path: Path, emu: Any) -> None:
    spec, env = setup(tmp_path, emu)
    since = run_spd(["sessions", str(spec), "--since", "yesterday"], env=env)
    assert since.returncode == 64
    assert "--since" in since.stderr
    empty = run_spd(["sessions", str(spec)], env=env)
    assert (empty.returncode, empty.stdout) == (0, "no sessions in the ledger for this period\n")
    unknown = run_spd(["session", "start", str(spec), "shed"], env=env)
    assert unknown.returncode == 1
    assert "refused shed: no processor 'shed'" in unknown.stderr
    bad_spec = tmp_path / "bad.yaml"
    bad_spec.write_text(
        "version: 1\nstack: s\nprocessors: [{name: x, sessions: {max_duration_seconds: 0}}]\n"
    )
    assert run_spd(["session", "start", str(bad_spec), "x"], env=env).returncode == 78
    assert "StartStreamProcessor" not in emu.stats()["calls"]
