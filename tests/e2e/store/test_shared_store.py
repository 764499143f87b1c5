"""The shared store with real `spd` processes on two "hosts" (two state directories) against the
emulator's DynamoDB: what one host records the other reads, budgets hold across hosts, the copy runs
once, and a store that cannot be used is one line and a non-zero exit."""

from __future__ import annotations

import json
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ledger_messages import complete_message, label_message, sns
from spd.aws.mapping import create_request
from spd.events import Event
from spd.events.history import History
from spd.model import STACK_TAG, ProcessorId
from spd.sessions.ledger import Ledger
from spd.sessions.ledger_port import Completion, ReservationRequest, TriggerRow
from spd.sessions.notifications import parse_notification
from spd.spec import load_spec
from spdrun import home, run_spd, wait_status, write_spec


def setup(tmp_path: Path, emu: Any, *, budget: int = 3600) -> tuple[Path, dict[str, str], dict[str, str]]:
    spec = write_spec(
        tmp_path / "spec.yaml",
        [home("porch", sessions={"max_duration_seconds": 30, "budget_seconds_per_day": budget})],
        references=emu,
    )
    for processor in load_spec(spec).desired.processors:
        emu.client().create_stream_processor(**create_request(processor.config, {STACK_TAG: "test-stack"}))
    table = f"spd-store-{uuid.uuid4().hex[:8]}"
    common = {"SPD_ENDPOINT_URL": emu.url, "SPD_STORE_TABLE": table}
    return (
        spec,
        {**common, "SPD_STATE_DIR": str(tmp_path / "host-a")},
        {**common, "SPD_STATE_DIR": str(tmp_path / "host-b")},
    )


def _sessions(spec: Path, env: dict[str, str]) -> list[dict[str, Any]]:
    listed = run_spd(["sessions", str(spec), "--output", "json"], env=env)
    assert listed.returncode == 0, listed.stderr
    rows: list[dict[str, Any]] = json.loads(listed.stdout)["sessions"]
    return rows


def test_a_session_started_on_one_host_is_listed_on_another(tmp_path: Path, emu: Any) -> None:
    spec, host_a, host_b = setup(tmp_path, emu)
    started = run_spd(["session", "start", str(spec), "porch"], env=host_a)
    assert started.returncode == 0, started.stderr
    [row] = _sessions(spec, host_b)
    assert (row["processor"], row["trigger"], row["outcome"]) == ("porch", "cli", "started")
    assert not (tmp_path / "host-a" / "sessions.db").exists()  # the table, not this host's file
    assert not (tmp_path / "host-b" / "sessions.db").exists()


def test_the_budget_holds_across_hosts(tmp_path: Path, emu: Any) -> None:
    spec, host_a, host_b = setup(tmp_path, emu, budget=100)
    emu.configure(session_time_scale=0.01)  # a 30 s session ends after 0.3 s
    client = emu.client()
    outcomes = []
    for i in range(6):  # alternately from two hosts, each after the last session ended
        done = run_spd(
            ["session", "start", str(spec), "porch", "--output", "json"], env=(host_a, host_b)[i % 2]
        )
        outcomes.append(json.loads(done.stdout)["outcome"])
        wait_status(client, "porch", {"STOPPED"})  # ended: the next trigger is not coalesced into it
    assert outcomes == ["started"] * 3 + ["refused"] * 3  # 3 x 30 s of a 100 s budget, whichever host
    refused = _sessions(spec, host_a)[-1]
    assert "over the daily budget: 90 of 100" in refused["reason"]
    assert emu.stats()["calls"]["StartStreamProcessor"] == 3


def test_simultaneous_triggers_from_several_hosts_start_one_session(tmp_path: Path, emu: Any) -> None:
    spec, host_a, _ = setup(tmp_path, emu)
    hosts = [{**host_a, "SPD_STATE_DIR": str(tmp_path / f"host-{i}")} for i in range(4)]
    with ThreadPoolExecutor(4) as pool:
        done = list(
            pool.map(
                lambda env: run_spd(["session", "start", str(spec), "porch", "--output", "json"], env=env),
                hosts,
            )
        )
    outcomes = sorted(json.loads(d.stdout)["outcome"] for d in done)
    assert outcomes == ["coalesced"] * 3 + ["started"]
    assert emu.stats()["calls"]["StartStreamProcessor"] == 1
    assert sorted(r["outcome"] for r in _sessions(spec, hosts[0])) == outcomes  # every host's trigger


def _local_state(state: Path) -> str:
    """A host's SQLite ledger and history as the daemon leaves them; the started session's id."""
    now = datetime.now(UTC)
    with Ledger.open(state) as ledger:
        got = ledger.reserve(
            ReservationRequest(
                at=now,
                processor=ProcessorId("us-east-1", "porch"),
                trigger="http",
                requested_seconds=30,
                budget_seconds=None,
            )
        )
        assert got.row is not None
        ledger.complete(got.row, Completion(at=now, outcome="started", session_id="s-local"))
        ledger.record_trigger(
            TriggerRow(
                at=now,
                processor="porch",
                region="us-east-1",
                trigger="sqs",
                outcome="refused",
                reason="malformed",
            )
        )
        ledger.record_notification(
            parse_notification(sns(label_message("s-local", "e-1", "PERSON"))), received=now
        )
        ledger.record_notification(
            parse_notification(sns(complete_message("s-local", "e-2", 25_000))), received=now
        )
    history = History(state / "history.db")
    history.record(
        Event("drift_detected", {"processor": "porch", "region": "us-east-1"}), stack="test-stack", at=now
    )
    history.record(
        Event("action_succeeded", {"processor": "porch", "region": "us-east-1"}), stack="test-stack", at=now
    )
    history.close()
    return "s-local"


def test_the_copy_copies_once_and_the_other_host_reads_it(tmp_path: Path, emu: Any) -> None:
    spec, host_a, host_b = setup(tmp_path, emu, budget=50)
    _local_state(tmp_path / "host-a")
    first = run_spd(["store", "copy", str(spec)], env=host_a)
    assert first.returncode == 0, first.stderr
    assert "sessions: 2 copied, 0 already there" in first.stdout
    assert "notifications: 2 copied, 0 already there" in first.stdout
    assert "history events: 2 copied, 0 already there" in first.stdout
    assert "sessions: 2/2" in first.stderr  # progress
    second = run_spd(["store", "copy", str(spec)], env=host_a)
    assert second.returncode == 0, second.stderr
    assert "sessions: 0 copied, 2 already there" in second.stdout
    assert "history events: 0 copied, 2 already there" in second.stdout

    rows = _sessions(spec, host_b)
    assert [(r["outcome"], r["processed_seconds"], r["labels"]) for r in rows] == [
        ("started", 25.0, ["PERSON"]),
        ("refused", None, []),
    ]
    history = run_spd(["history", str(spec), "--output", "json"], env=host_b)
    assert history.returncode == 0, history.stderr
    assert [e["event"] for e in json.loads(history.stdout)] == ["drift_detected", "action_succeeded"]
    # The copied day's budget counts the copied session's 25 processed seconds: 30 more would exceed 50.
    refused = run_spd(["session", "start", str(spec), "porch", "--output", "json"], env=host_b)
    assert "over the daily budget: 25 of 50" in json.loads(refused.stdout)["reason"]


def test_the_copy_without_a_table_or_with_a_damaged_file_is_one_line(tmp_path: Path, emu: Any) -> None:
    spec, host_a, _ = setup(tmp_path, emu)
    unset = run_spd(["store", "copy", str(spec)], env={**host_a, "SPD_STORE_TABLE": ""})
    assert unset.returncode == 78
    assert (
        unset.stderr.strip()
        == "error: store.table is not set (SPD_STORE_TABLE): there is no shared store to copy into"
    )
    no_table = run_spd(["store", "copy", str(spec)], env={**host_a, "SPD_STORE_CREATE_TABLE": "false"})
    assert no_table.returncode == 78
    assert no_table.stderr.startswith(f"error: store table {host_a['SPD_STORE_TABLE']!r} does not exist")
    assert len(no_table.stderr.strip().splitlines()) == 1
    (tmp_path / "host-a").mkdir(mode=0o700)
    (tmp_path / "host-a" / "sessions.db").write_bytes(b"SQLite format 3\x00" + b"\x07" * 4000)
    (tmp_path / "host-a" / "sessions.db").chmod(0o600)
    damaged = run_spd(["store", "copy", str(spec)], env=host_a)
    assert damaged.returncode != 0
    assert "Traceback" not in damaged.stderr
    assert "sessions.db" in damaged.stderr
    assert len(damaged.stderr.strip().splitlines()) == 1


def test_a_table_that_cannot_be_used_is_one_line_and_a_non_zero_exit(tmp_path: Path, emu: Any) -> None:
    spec, host_a, _ = setup(tmp_path, emu)
    missing = {**host_a, "SPD_STORE_CREATE_TABLE": "false"}
    listed = run_spd(["sessions", str(spec)], env=missing)
    assert listed.returncode == 78, listed.stderr
    assert listed.stderr.strip().splitlines() == [
        f"error: store table {host_a['SPD_STORE_TABLE']!r} does not exist and store.create_table is off: "
        f"create it, or turn that on (Requested resource not found: Table: {host_a['SPD_STORE_TABLE']} not found)"
    ]
    history = run_spd(["history", str(spec)], env=missing)
    assert history.returncode == 78
    assert "Traceback" not in history.stderr
    started = run_spd(["session", "start", str(spec), "porch", "--output", "json"], env=missing)
    assert started.returncode == 1
    answer = json.loads(started.stdout)
    assert (answer["refusal"], answer["outcome"]) == ("ledger_unavailable", "refused")
    assert emu.stats()["calls"].get("StartStreamProcessor", 0) == 0
