"""High availability with the watch, the preflight and the history: two `spd run` sharing a lease in the
emulator's DynamoDB and one watch queue that an EventBridge rule feeds with the emulator's own CloudTrail
events.

Only the leader reads the queue, runs the preflight and records drift; the standby observes nothing (its
one call is the lease read) until it takes over, and then its watch starts reading. Real subprocesses,
real SIGTERM, boto3 out of band; leases of 3 s, full passes every 300 s (only the watch repairs quickly).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from cloudtrail import rule_fed_queue
from daemonproc import Daemon, leader_of
from spdrun import home, run_spd, write_spec

DEBOUNCE = 0.3
STANDBY_SILENT = (
    "watch_started",
    "watch_event",
    "preflight_started",
    "drift_detected",
    "reconcile_completed",
)
"""What a standby never logs: it reads no queue, looks nothing up, runs no pass."""


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        d.kill()


def _start(started: list[Daemon], emu: Any, spec: Path, *, table: str, queue: str, holder: str) -> Daemon:
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={
            "SPD_HA_TABLE": table,
            "SPD_HA_LEASE_SECONDS": "3",
            "SPD_HA_HOLDER": holder,
            "SPD_INTERVAL": "300",
            "SPD_STATUS_INTERVAL": "300",
            "SPD_WATCH_QUEUE_URL": queue,
            "SPD_WATCH_DEBOUNCE": str(DEBOUNCE),
            "SPD_HISTORY_FILE": str(spec.parent / f"{holder}.db"),
            "SPD_PREFLIGHT": "true",
            "SPD_LOG_LEVEL": "debug",  # own-call watch_event lines are debug: a standby must not log even those
        },
    )
    started.append(d)
    return d


def _labels(client: Any, name: str) -> list[str]:
    return list(client.describe_stream_processor(Name=name)["Settings"]["ConnectedHome"]["Labels"])


def _change_and_wait_repaired(client: Any, name: str, by: Daemon, after: int) -> None:
    client.update_stream_processor(
        Name=name, SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
    )
    deadline = time.monotonic() + 60
    while _labels(client, name) != ["PERSON"]:
        assert time.monotonic() < deadline, f"{name} not repaired\n{by.dump()}"
        time.sleep(0.05)
    i, _ = by.wait_for("watch_event", after=after, processor=name, outcome="queued")
    by.wait_for("watch_reconciled", after=i, processor=name)
    # The repair's own CloudTrail event comes back to whoever reads the queue.
    by.wait_for(
        "watch_event", after=i + 1, processor=name, outcome="own_call", event_name="UpdateStreamProcessor"
    )


def _history(spec: Path, file: Path) -> list[dict[str, Any]]:
    listed = run_spd(["history", str(spec), "--output", "json"], env={"SPD_HISTORY_FILE": str(file)})
    assert listed.returncode == 0, listed.stderr
    entries: list[dict[str, Any]] = json.loads(listed.stdout)
    return entries


def test_only_the_leader_watches_checks_and_records_and_the_standby_takes_the_watch_over(
    tmp_path, emu, daemons
):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    # The leader stopped during its long poll may take the next event with it (as on AWS): the standby
    # reads it once its visibility timeout is over, 2 s here instead of SQS's default 30 s. A daemon
    # deletes each message as soon as it has scheduled it, within milliseconds (2 s leaves room for a
    # loaded machine); one redelivered after a stall would only be handled again, finding nothing left
    # to repair.
    queue = rule_fed_queue(emu, visibility_timeout=2)
    table = f"spd-leases-{uuid.uuid4().hex[:8]}"
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=emu)
    a = _start(daemons, emu, spec, table=table, queue=queue, holder="host-a")
    b = _start(daemons, emu, spec, table=table, queue=queue, holder="host-b")
    history = {a: tmp_path / "host-a.db", b: tmp_path / "host-b.db"}
    leader, standby = leader_of(a, b, timeout=30)
    leader.wait_for("reconcile_completed")
    leader.wait_for("watch_started")
    _, checked = leader.wait_for("preflight_started")
    assert checked["trigger"] == "leader"

    client = emu.client()
    _change_and_wait_repaired(client, "porch", leader, after=0)
    # Three debounces: a standby that read the queue would have logged the event and its debounced pass.
    time.sleep(DEBOUNCE * 3)
    for name in STANDBY_SILENT:
        assert not standby.events(name), (name, standby.dump())
    _, skipped = standby.wait_for("preflight_skipped")
    assert skipped["reason"].startswith("standby")
    # The standby's history (read while it runs) holds nothing: it ran no pass and saw no drift.
    assert _history(spec, history[standby]) == []

    # SIGTERM hands over; the new leader's watch starts reading and repairs the next change.
    mark = len(standby.lines)
    assert leader.stop() == 0
    standby.wait_for("leader_acquired", after=mark, timeout=20)
    standby.wait_for("watch_started", after=mark)
    _, checked = standby.wait_for("preflight_started", after=mark)
    assert checked["trigger"] == "leader"
    i, _ = standby.wait_for("reconcile_completed", after=mark)
    _change_and_wait_repaired(client, "porch", standby, after=i)
    assert standby.stop() == 0

    # Each history holds what that daemon saw and did as leader, about processors only: no lease news.
    first = _history(spec, history[leader])
    assert [e["event"] for e in first] == ["processor_created", "drift_detected", "processor_updated"], first
    second = _history(spec, history[standby])
    assert [e["event"] for e in second] == ["drift_detected", "processor_updated"], second
    assert all(e["processor"] == "porch" for e in first + second)
