"""Leader mode with the shared store: the daemon that takes over after its leader was SIGKILLed knows the
day's sessions, so its triggers stop at the budget, and every host lists every session and event."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemonproc import Daemon, leader_of
from spdrun import run_spd, wait_status
from store_daemons import Deployment, deployment, post


def _session_events(spot: Deployment) -> list[str]:
    """The session events in the shared history, read by a host with nothing of its own."""
    history = run_spd(["history", str(spot.spec), "--output", "json"], env=spot.host("host-c"))
    assert history.returncode == 0, history.stderr
    return [e["event"] for e in json.loads(history.stdout) if e["event"].startswith("session_")]


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def test_the_new_leader_stops_at_the_budget_the_killed_one_spent_part_of(
    tmp_path: Path, emu: Any, daemons: list[Daemon]
) -> None:
    emu.configure(session_time_scale=0.01)  # a 30 s session ends after 0.3 s of wall time
    spot = deployment(tmp_path, emu, budget=100)
    daemons.extend([spot.daemon("host-a"), spot.daemon("host-b")])
    leader, standby = leader_of(*daemons)
    client = emu.client()
    codes = []
    for _ in range(2):
        code, _answer = post(leader, {"processor": "porch"})
        codes.append(code)
        wait_status(client, "porch", {"STOPPED"})  # ended: the next trigger is not coalesced into it
    assert codes == [201, 201]
    # The history's buffer is written every second: SIGKILL once its two session events are in the
    # table (what a SIGKILL may lose is the last second's, which is not what this test is about).
    deadline = time.monotonic() + 60
    while len(_session_events(spot)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    leader.proc.send_signal(signal.SIGKILL)
    standby.wait_for("leader_acquired", timeout=30)
    for _ in range(2):
        code, answer = post(standby, {"processor": "porch"})
        codes.append(code)
        wait_status(client, "porch", {"STOPPED"})
    assert codes == [201, 201, 201, 429], answer  # 3 x 30 s of 100 s, whichever daemon started them
    assert "over the daily budget: 90 of 100" in answer["reason"]
    assert emu.stats()["calls"]["StartStreamProcessor"] == 3

    assert standby.stop() == 0  # its history's buffer is written on the way out
    rows = spot.sessions("host-c")  # a third host, with nothing of its own
    assert [r["outcome"] for r in rows] == ["started"] * 3 + ["refused"]
    assert _session_events(spot) == ["session_started"] * 3 + ["session_refused"]


def test_a_daemon_whose_table_cannot_be_used_refuses_triggers_temporarily(
    tmp_path: Path, emu: Any, daemons: list[Daemon]
) -> None:
    spot = deployment(tmp_path, emu, budget=100)
    daemon = Daemon(
        ["--spec", str(spot.spec)],
        env={**spot.host("host-a"), "SPD_HA_TABLE": None, "SPD_STORE_CREATE_TABLE": "false"},
    )
    daemons.append(daemon)
    code, answer = post(daemon, {"processor": "porch"})
    assert code == 503
    assert (answer["refusal"], answer["outcome"]) == ("ledger_unavailable", "refused")
    assert "store.create_table is off" in answer["reason"]
    assert emu.stats()["calls"].get("StartStreamProcessor", 0) == 0
