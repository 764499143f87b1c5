"""No session starts that the ledger does not know: a real `spd run` against `spd emulator`, its ledger
on a real tmpfs filled up, or a real ledger file whose header is intact and whose pages are damaged.

Every StartStreamProcessor the emulator counts must have its ledger row (started, or an intent that
counts against the budget); a trigger the ledger cannot take is refused with 503 `ledger_unavailable`
and a `session_refused` log line, before any call.
"""

from __future__ import annotations

import contextlib
import errno
import json
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from daemonproc import Daemon
from ledger_damage import damaged_ledger
from spd.sessions.ledger import Ledger
from spdrun import home, run_spd, wait_status, write_spec

SLOW = 60.0
COUNTED = ("started", "starting")


def _starts(emu: Any) -> int:
    return int(emu.stats()["calls"].get("StartStreamProcessor", 0))


def _describes(emu: Any) -> int:
    return int(emu.stats()["calls"].get("DescribeStreamProcessor", 0))


def post(d: Daemon, body: Any) -> tuple[int, Any]:
    """POST a trigger; (status, the JSON answer, or the text of a non-JSON one)."""
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(d.http + "/v1/sessions", data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=SLOW) as response:
            code, raw = response.status, response.read()
    except urllib.error.HTTPError as err:
        code, raw = err.code, err.read()
    try:
        return code, json.loads(raw)
    except ValueError:
        return code, raw.decode(errors="replace")


def _daemon(daemons: Any, emu: Any, tmp_path: Path, state: Path) -> Daemon:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=emu)
    d = daemons(
        "--endpoint-url", emu.url, "--spec", str(spec),
        env={"SPD_INTERVAL": "600", "SPD_STATUS_INTERVAL": "600", "SPD_STATE_DIR": str(state)},
    )  # fmt: skip
    d.wait_for("reconcile_completed", timeout=SLOW)
    return d


def _counted_rows(state: Path) -> int:
    with Ledger.open(state) as ledger:
        rows = ledger.sessions(since=datetime.now(UTC) - timedelta(days=1))
    return sum(1 for r in rows if r.outcome in COUNTED)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 512 KiB tmpfs, unmounted at the end."""
    mount = tmp_path / "state"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k,mode=0700", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root or CAP_SYS_ADMIN): {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(directory: Path) -> Path:
    """Write a file in `directory` until the file system has no byte left; returns it."""
    filler = directory / "filler"
    with filler.open("wb", buffering=0) as out:
        for chunk in (65536, 4096, 1):
            while True:
                try:
                    out.write(b"\0" * chunk)
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break
    return filler


def test_a_full_disk_starts_no_session_the_ledger_does_not_know(
    emu: Any, tmp_path: Path, daemons: Any, small_disk: Path
) -> None:
    emu.configure(session_time_scale=0.05)  # a 10 s session is over in 0.5 s
    d = _daemon(daemons, emu, tmp_path, small_disk)
    client = emu.client()
    code, body = post(d, {"processor": "porch"})
    assert code == 201, body  # the ledger exists, with room
    wait_status(client, "porch", {"STOPPED"}, timeout=SLOW)

    filler = fill(small_disk)
    codes: list[int] = []
    for _ in range(8):
        code, body = post(d, {"processor": "porch"})
        codes.append(code)
        if code == 201:
            wait_status(client, "porch", {"STOPPED"}, timeout=SLOW)
    filler.unlink()
    assert _starts(emu) == _counted_rows(small_disk), (codes, d.dump())
    assert 500 not in codes, d.dump()
    assert 503 in codes, codes
    _, refused = d.wait_for("session_refused", refusal="ledger_unavailable")
    assert "full" in refused["reason"], refused

    # Room again: the next trigger starts and is recorded.
    code, body = post(d, {"processor": "porch"})
    assert code == 201, (body, d.dump())
    assert _starts(emu) == _counted_rows(small_disk)


def test_a_damaged_ledger_starts_nothing_and_says_why(emu: Any, tmp_path: Path, daemons: Any) -> None:
    state = tmp_path / "state"
    damaged_ledger(state)
    d = _daemon(daemons, emu, tmp_path, state)
    describes = _describes(emu)
    for _ in range(3):
        code, body = post(d, {"processor": "porch"})
        assert code == 503, (body, d.dump())
        assert body["refusal"] == "ledger_unavailable"
    assert _starts(emu) == 0, d.dump()
    assert _describes(emu) == describes  # refused before the Describe too
    _, refused = d.wait_for("session_refused", refusal="ledger_unavailable")
    assert "malformed" in refused["reason"] or "not a database" in refused["reason"], refused
    assert refused["processor"] == "porch"
    assert d.proc.poll() is None  # still serving


def test_a_daemon_killed_during_the_start_leaves_an_intent_that_counts(
    emu: Any, tmp_path: Path, daemons: Any
) -> None:
    # The emulator counts the Start as it arrives and answers it 2 s later: the daemon is killed within
    # a poll (20 ms) of the count, long before the answer could reach it.
    emu.configure(session_time_scale=100, latency_ms={"StartStreamProcessor": 2000})
    spec = write_spec(
        tmp_path / "spec.yaml",
        [home("porch", sessions={"max_duration_seconds": 10, "budget_seconds_per_day": 15})],
        references=emu,
    )
    state = tmp_path / "state"
    d = daemons(
        "--endpoint-url", emu.url, "--spec", str(spec),
        env={"SPD_INTERVAL": "600", "SPD_STATUS_INTERVAL": "600", "SPD_STATE_DIR": str(state)},
    )  # fmt: skip
    d.wait_for("reconcile_completed", timeout=SLOW)
    request = urllib.request.Request(d.http + "/v1/sessions", data=b'{"processor": "porch"}', method="POST")
    with contextlib.suppress(OSError):
        urllib.request.urlopen(request, timeout=0.5)
    deadline = time.monotonic() + SLOW
    while _starts(emu) == 0:  # the Start is in flight: the emulator holds it
        assert time.monotonic() < deadline, d.dump()
        time.sleep(0.02)
    d.kill()
    # The Start the killed daemon sent goes through: a session runs that only an intent row records.
    wait_status(emu.client(), "porch", {"STARTING", "RUNNING"}, timeout=SLOW)

    env = {"SPD_STATE_DIR": str(state), "SPD_ENDPOINT_URL": emu.url}
    listed = run_spd(["sessions", str(spec), "--output", "json"], env=env)
    assert listed.returncode == 0, listed.stderr
    [row] = json.loads(listed.stdout)["sessions"]
    assert (row["outcome"], row["requested_seconds"], row["trigger"]) == ("starting", 10, "http")
    emu.configure(latency_ms=0)
    again = run_spd(["session", "start", str(spec), "porch", "--output", "json"], env=env)
    assert again.returncode == 1, again.stdout
    refused = json.loads(again.stdout)
    assert refused["refusal"] == "budget", refused
    assert "10 of 15" in refused["reason"]
