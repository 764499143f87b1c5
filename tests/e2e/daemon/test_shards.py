"""`ha.mode: shards`: several `spd run` processes share the targets of one spec, each holding a fair
share of the shard leases in the emulator's DynamoDB and working on its own shards only.

Real subprocesses and signals; the lease table read with boto3; the call log is the emulator's own
CloudTrail events (each daemon marked by its User-Agent app id). Leases are 3 s.
"""

from __future__ import annotations

import itertools
import json
import re
import signal
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from cloudtrail import call_event
from daemonproc import Daemon
from shards_support import Call, Fleet, account, build_fleet

TARGETS = 4


@pytest.fixture
def fleet(emu, tmp_path: Path) -> Fleet:
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    built = build_fleet(emu, tmp_path / "spec.yaml", TARGETS, 2)
    built.record_calls()
    return built


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGCONT)
        d.kill()


def held(d: Daemon) -> list[str]:
    _code, body = d.get("/healthz")
    return list(json.loads(body)["shards"]["held"])


def wait_spread(fleet: Fleet, daemons: list[Daemon], timeout: float = 30) -> dict[str, list[str]]:
    """Until every shard is held, by the daemons' own account and the table's, each within its share."""
    share = -(-TARGETS // len(daemons))
    deadline = time.monotonic() + timeout
    while True:
        views = {d.events("daemon_started")[0]["pid"]: held(d) for d in daemons if d.events("daemon_started")}
        flat = [s for v in views.values() for s in v]
        table = fleet.holders()
        if (
            len(views) == len(daemons)
            and sorted(flat) == sorted(table)
            and len(table) == TARGETS
            and all(len(v) <= share for v in views.values())
        ):
            return views
        assert time.monotonic() < deadline, (views, table)
        time.sleep(0.1)


def assert_exclusive(daemons: list[Daemon]) -> None:
    """No shard in two daemons' /healthz at once."""
    seen: dict[str, int] = {}
    for i, d in enumerate(daemons):
        if d.proc.poll() is not None:
            continue
        for shard in held(d):
            assert shard not in seen, (shard, seen[shard], i)
            seen[shard] = i


class _Upto:
    """A daemon's log in which the holds open at `mark` end at `at` (when it was stopped: it could act
    no later); the `shard_lost` it logs for them on waking is dropped."""

    def __init__(self, d: Daemon, mark: int, at: datetime) -> None:
        open_at_mark: set[str] = set()
        for line in d.lines[:mark]:
            if line.get("event") == "shard_acquired":
                open_at_mark.add(line["shard"])
            elif line.get("event") in ("shard_released", "shard_lost"):
                open_at_mark.discard(line["shard"])
        closing = [
            {"event": "shard_lost", "shard": x, "timestamp": at.isoformat()} for x in sorted(open_at_mark)
        ]
        later = []
        for line in d.lines[mark:]:
            if line.get("event") == "shard_lost" and line["shard"] in open_at_mark:
                open_at_mark.discard(line["shard"])
                continue
            later.append(line)
        self.lines = [*d.lines[:mark], *closing, *later]


def _when(line: dict) -> datetime:
    return datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00"))


def assert_never_held_twice(daemons: list[Daemon], ends: dict[int, datetime] | None = None) -> None:
    """From the daemons' own logs: each shard's holds ([shard_acquired, shard_released or shard_lost],
    a daemon killed or paused ending at `ends[index]`) never overlap across daemons. The release event
    comes before the record is deleted, the acquisition after the write that needed it gone."""
    holds: dict[str, list[tuple[datetime, datetime, int]]] = {}
    far = datetime.now(UTC) + timedelta(days=1)
    for i, d in enumerate(daemons):
        start: dict[str, datetime] = {}
        for line in list(d.lines):
            event = line.get("event")
            if event == "shard_acquired":
                start[line["shard"]] = _when(line)
            elif event in ("shard_released", "shard_lost") and line["shard"] in start:
                end = _when(line)
                if ends and i in ends:
                    end = min(end, ends[i])
                holds.setdefault(line["shard"], []).append((start.pop(line["shard"]), end, i))
        for shard, began in start.items():
            holds.setdefault(shard, []).append((began, (ends or {}).get(i, far), i))
    for shard, spans in holds.items():
        spans.sort()
        for (_, end, who), (began, _, other) in itertools.pairwise(spans):
            assert end <= began, (shard, who, other, end, began)


class StatusLines:
    """The STATUS= lines a daemon sends to a notify socket bound here, as systemd's."""

    def __init__(self, path: Path) -> None:
        self.path = str(path)
        self.lines: list[str] = []
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(self.path)
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        while True:
            for field in self._sock.recv(65536).decode().split("\n"):
                if field.startswith("STATUS="):
                    self.lines.append(field[len("STATUS=") :])


def test_shards_spread_and_move_on_join_and_leave(tmp_path, fleet, daemons):
    for name in ("a", "b", "c"):
        daemons.append(fleet.start(name))
    wait_spread(fleet, daemons)
    assert_exclusive(daemons)
    # Every processor created exactly once, each by the holder of its shard. A call's event is queued
    # as the emulator answers it: drained until every processor's is in (none is created later either).
    fleet.wait_converged(2)
    creates: list[Call] = []
    deadline = time.monotonic() + 10
    while len(creates) < TARGETS * 2 and time.monotonic() < deadline:
        creates += [c for c in fleet.calls() if c.operation == "CreateStreamProcessor"]
        time.sleep(0.1)
    assert sorted(c.processor for c in creates) == sorted(
        f"t{t:02d}-cam{i:03d}" for t in range(TARGETS) for i in range(2)
    )
    table = fleet.holders()
    for call in creates:
        assert call.daemon == table[call.target], call

    # A fourth joins: within three leases it holds a share (4 shards over 4: one each).
    statuses = StatusLines(tmp_path / "notify")
    daemons.append(fleet.start("d", NOTIFY_SOCKET=statuses.path))
    spread = wait_spread(fleet, daemons, timeout=30)
    assert sorted(len(v) for v in spread.values()) == [1, 1, 1, 1]
    assert fleet.members() == {"a", "b", "c", "d"}
    body = json.loads(daemons[3].get("/healthz")[1])
    assert body["role"] == "shards"
    assert body["shards"]["members"] == ["a", "b", "c", "d"]
    assert daemons[3].metric("spd_shards_held") == 1.0
    assert any(re.fullmatch(r"shards \S+: holds 1 of 4 \(t0\d\); \d members", x) for x in statuses.lines), (
        statuses.lines
    )
    released = [e for d in daemons[:3] for e in d.events("shard_released")]
    assert released
    assert all(e["reason"].startswith("beyond quota") for e in released)

    # d leaves (SIGTERM): its shard is released at once and taken at another's next read.
    mine = held(daemons[3])
    assert daemons[3].stop() == 0
    assert [e["reason"] for e in daemons[3].events("shard_released")] == ["released on shutdown"] * len(mine)
    spread = wait_spread(fleet, daemons[:3], timeout=15)
    taken = [e for d in daemons[:3] for e in d.events("shard_acquired") if e["shard"] == mine[0]]
    assert taken[-1]["how"] == "lease was free"
    assert "d" not in fleet.members()
    assert_exclusive(daemons)
    assert_never_held_twice(daemons)
    assert not [c for c in fleet.calls() if c.operation == "CreateStreamProcessor"]


def test_sigkill_a_dead_daemons_shards_are_taken_and_its_drift_repaired(fleet, daemons):
    for name in ("a", "b"):
        daemons.append(fleet.start(name))
    wait_spread(fleet, daemons)
    fleet.wait_converged(2)
    victim, survivor = daemons
    shards = held(victim)
    shard = shards[0]
    client = fleet.client(shard)
    name = f"{shard}-cam000"
    victim.kill()
    killed = datetime.now(UTC)
    client.start_stream_processor(Name=name)
    for taken in shards:
        _, acquired = survivor.wait_for("shard_acquired", shard=taken, timeout=30)
        assert acquired["how"] == "took over an expired lease"
        assert acquired["previous_holder"] == "a"
    survivor.wait_for("processor_stopped", processor=name, timeout=30)
    assert fleet.holders() == {f"t{t:02d}": "b" for t in range(TARGETS)}
    assert_never_held_twice(daemons, {0: killed})
    # The dead member's record is deleted by the survivor, which saw it stand still for a lease.
    deadline = time.monotonic() + 10
    while "a" in fleet.members():
        assert time.monotonic() < deadline, fleet.members()
        time.sleep(0.2)
    assert survivor.stop() == 0


def test_a_paused_holder_makes_no_mutating_call_after_resuming(fleet, daemons):
    a = fleet.start("a", SPD_INTERVAL="1")
    daemons.append(a)
    b = fleet.start("b", SPD_INTERVAL="1")
    daemons.append(b)
    wait_spread(fleet, daemons)
    fleet.wait_converged(2)
    paused = held(a)
    a.signal(signal.SIGSTOP)  # longer than the lease: b takes its shards meanwhile
    stopped = datetime.now(UTC)
    for shard in paused:
        b.wait_for("shard_acquired", shard=shard, timeout=30)
    assert fleet.holders() == {f"t{t:02d}": "b" for t in range(TARGETS)}
    # Drift in a's former shards while it sleeps: b repairs it; a, waking, must not touch them.
    for shard in paused:
        fleet.client(shard).start_stream_processor(Name=f"{shard}-cam000")
    for shard in paused:
        b.wait_for("processor_stopped", processor=f"{shard}-cam000", timeout=30)
    fleet.calls()  # the log so far (each call's event is queued as the emulator answers it)
    mark = len(a.lines)
    a.signal(signal.SIGCONT)
    # a steps down at once (its overdue heartbeat finds the shards taken); then more than a lease: it
    # rejoins and may take a share again (every shard held by someone once more), and any call its overdue
    # timers made on waking is in the log.
    for shard in paused:
        a.wait_for("shard_lost", shard=shard, after=mark, timeout=30)
    time.sleep(4)
    calls = fleet.calls()
    after = a.lines[mark:]
    retaken = [line["shard"] for line in after if line.get("event") == "shard_acquired"]
    lost = {line["shard"] for line in after if line.get("event") == "shard_lost"}
    assert lost == set(paused), a.dump()
    first_acquired = next(
        (i for i, line in enumerate(after) if line.get("event") == "shard_acquired"), len(after)
    )
    mutated = [line for line in after[:first_acquired] if str(line.get("event", "")).startswith("processor_")]
    assert not mutated, mutated
    assert all(c.target in retaken for c in calls if c.daemon == "a"), calls
    table = fleet.holders()
    assert sorted(table) == [f"t{t:02d}" for t in range(TARGETS)]
    assert_exclusive(daemons)
    # a's holds from before the pause end when it stopped (it could act no later); later ones are new.
    before = [line for line in a.lines[:mark] if line.get("event") == "shard_acquired"]
    assert {line["shard"] for line in before} >= set(paused)
    assert_never_held_twice([_Upto(a, mark, stopped), b])


def test_watch_messages_for_another_daemons_shard_reach_their_holder(emu, fleet, daemons):
    """Both daemons read one watch queue; each message is acted on by the holder of its processor's
    shard only, and one read by the other daemon is made visible again for the holder, not lost."""
    sqs = emu.client("us-east-1", "sqs")
    url = sqs.create_queue(QueueName="spd-watch")["QueueUrl"]
    quiet = {
        "SPD_INTERVAL": "600",
        "SPD_STATUS_INTERVAL": "600",
        "SPD_WATCH_QUEUE_URL": url,
        "SPD_WATCH_DEBOUNCE": "0.2",
    }
    for name in ("a", "b"):
        daemons.append(fleet.start(name, **quiet))
    wait_spread(fleet, daemons)
    fleet.wait_converged(2)
    time.sleep(1)  # the passes that followed the last acquisitions are over
    owner = {shard: d for d in daemons for shard in held(d)}
    names = {shard: f"{shard}-cam000" for shard in owner}
    for shard, name in names.items():
        fleet.client(shard).start_stream_processor(Name=name)
    for _ in range(3):  # several messages each, so that both daemons surely read some of the others'
        for shard, name in names.items():
            event = call_event(
                "StartStreamProcessor", name, user_agent="aws-cli/2.15", account=account(int(shard[1:]))
            )
            sqs.send_message(QueueUrl=url, MessageBody=json.dumps(event))
    for shard, name in names.items():
        owner[shard].wait_for("processor_stopped", processor=name, timeout=30)
    # Every message ends deleted by a holder: none lost, none left bouncing between the daemons.
    deadline = time.monotonic() + 30
    counts = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    while True:
        left = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=counts)["Attributes"]
        if all(left[n] == "0" for n in counts):
            break
        assert time.monotonic() < deadline, left
        time.sleep(0.5)
    for d in daemons:
        acted = {e["processor"] for e in d.events("watch_reconciled")}
        assert acted <= {names[s] for s in held(d)}, (acted, held(d))
    handed = sum(d.metric("spd_watch_events_total", outcome="not_my_shard") or 0 for d in daemons)
    assert handed, "no daemon read a message of the other's shard"
