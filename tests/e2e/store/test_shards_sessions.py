"""Two `spd run` daemons in `ha.mode: shards` with the shared store, both answering `POST /v1/sessions`
against the emulator: the same trigger received by both at once starts one session, and a day's budget
spent through both stops at its limit."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from daemonproc import Daemon
from spdrun import home, run_spd, wait_status, write_spec

CAMERAS = [f"cam{i}" for i in range(6)]


def _post(d: Daemon, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(d.http + "/v1/sessions", data=json.dumps(body).encode(), method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            answer: dict[str, Any] = json.loads(response.read())
    except urllib.error.HTTPError as err:
        answer = json.loads(err.read())
    return answer


def _members_fresh(daemons: list[Daemon], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(json.loads(d.get("/healthz")[1]).get("shards", {}).get("member_fresh") for d in daemons):
            return
        time.sleep(0.2)
    raise AssertionError("the daemons' member records never became fresh:\n" + daemons[0].dump())


@pytest.fixture
def pair(emu: Any, tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], list[Daemon]]]:
    sessions = {"max_duration_seconds": 30, "budget_seconds_per_day": 100}
    spec = write_spec(tmp_path / "spec.yaml", [home(n, sessions=sessions) for n in CAMERAS], references=emu)
    applied = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"])
    assert applied.returncode == 0, applied.stderr
    table = f"spd-{uuid.uuid4().hex[:8]}"
    common = {"SPD_HA_TABLE": table, "SPD_HA_MODE": "shards", "SPD_STORE_TABLE": table + "-store"}
    daemons = [
        Daemon(
            ["--endpoint-url", emu.url, "--spec", str(spec)],
            env={
                **common,
                "SPD_HA_LEASE_SECONDS": "3",
                "SPD_HA_HOLDER": f"daemon{i}",
                "SPD_STATE_DIR": str(tmp_path / f"host{i}"),
                "SPD_METRICS_ADDRESS": "127.0.0.1:0",
            },
        )
        for i in range(2)
    ]
    try:
        for d in daemons:
            d.wait_for("daemon_started", timeout=60)
        _members_fresh(daemons)
        yield (
            spec,
            {"SPD_ENDPOINT_URL": emu.url, **common, "SPD_STATE_DIR": str(tmp_path / "reader")},
            daemons,
        )
    finally:
        for d in daemons:
            d.kill()


def test_a_trigger_both_daemons_receive_at_once_starts_one_session(
    emu: Any, pair: tuple[Path, dict[str, str], list[Daemon]]
) -> None:
    spec, reader, daemons = pair
    emu.configure(session_time_scale=100)  # every session stays open through the test
    emu.clear_stats()
    with ThreadPoolExecutor(2 * len(CAMERAS)) as pool:
        answers = list(
            pool.map(
                lambda job: _post(job[0], {"processor": job[1]}), [(d, n) for n in CAMERAS for d in daemons]
            )
        )
    by_camera: dict[str, list[str]] = {}
    for answer in answers:
        by_camera.setdefault(answer["processor"], []).append(answer["outcome"])
    assert {n: sorted(o) for n, o in by_camera.items()} == {n: ["coalesced", "started"] for n in CAMERAS}
    assert emu.stats()["calls"]["StartStreamProcessor"] == len(CAMERAS)
    listed = run_spd(["sessions", str(spec), "--output", "json"], env=reader)
    assert listed.returncode == 0, listed.stderr
    rows = json.loads(listed.stdout)["sessions"]
    assert sorted(r["outcome"] for r in rows) == ["coalesced"] * len(CAMERAS) + ["started"] * len(CAMERAS)


def test_a_budget_spent_through_two_daemons_stops_at_its_limit(
    emu: Any, pair: tuple[Path, dict[str, str], list[Daemon]]
) -> None:
    _, _, daemons = pair
    emu.configure(session_time_scale=0.01)  # a 30 s session ends after 0.3 s
    emu.clear_stats()
    client = emu.client()
    outcomes = []
    for i in range(6):  # alternately through each daemon, each after the last session ended
        outcomes.append(_post(daemons[i % 2], {"processor": "cam0"})["outcome"])
        wait_status(client, "cam0", {"STOPPED"})  # ended: the next trigger is not coalesced into it
    assert outcomes == ["started"] * 3 + ["refused"] * 3  # 3 x 30 s of a 100 s budget
    assert emu.stats()["calls"]["StartStreamProcessor"] == 3
