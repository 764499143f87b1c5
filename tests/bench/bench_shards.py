"""Shards benchmark, run by hand: `.venv/bin/python tests/bench/bench_shards.py [--targets 12 --per-target 50]`.

Against a real `spd emulator` subprocess: 12 targets (one account each, reached by AssumeRole) x 50
processors, `ha.mode: shards` in the emulator's DynamoDB, real `spd run` subprocesses told apart in
the emulator's CloudTrail call log by their User-Agent app id. It measures:

1. three daemons creating the estate from nothing: creates per processor (the emulator's counters),
   creates made by a daemon not holding the shard (the call log), shards held per daemon;
2. a fourth joining: how long until it holds a share, in leases; shards in two daemons' /healthz at
   once (sampled), mutating calls from a daemon on a shard it never held in that phase;
3. SIGKILL of one: seconds until each of its shards is held again, and until a processor deleted
   out of band in one of them right after the kill is created again, against lease + status_interval + 5;
4. one no-op full pass: API calls summed over three daemons against one daemon alone on the same estate,
   and each daemon's CPU seconds for its pass against the lone daemon's (sampled from /proc).

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from daemonproc import Daemon
from shards_support import Fleet, account, build_fleet
from spd.emulator.testing import EmulatorProcess

LEASE = 6.0
STATUS_INTERVAL = 2.0
INTERVAL = 30.0
TICK = 100.0  # /proc clock ticks per second (USER_HZ)


class CpuSampler:
    """(wall time, CPU seconds) of one process every 20 ms, to read a pass's CPU from its log window."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.samples: list[tuple[float, float]] = []
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while not self._stop:
            try:
                fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                return
            self.samples.append((time.time(), (int(fields[11]) + int(fields[12])) / TICK))
            time.sleep(0.02)

    def cpu(self, start: float, end: float) -> float:
        inside = [c for t, c in self.samples if start - 0.02 <= t <= end + 0.02]
        return (inside[-1] - inside[0]) if len(inside) > 1 else 0.0

    def stop(self) -> None:
        self._stop = True


def start(fleet: Fleet, name: str) -> tuple[Daemon, CpuSampler]:
    d = fleet.start(
        name,
        lease=f"{LEASE:g}",
        SPD_INTERVAL=f"{INTERVAL:g}",
        SPD_STATUS_INTERVAL=f"{STATUS_INTERVAL:g}",
        SPD_CONCURRENCY="16",
    )
    return d, CpuSampler(d.pid)


def held(d: Daemon) -> list[str]:
    return list(json.loads(d.get("/healthz")[1])["shards"]["held"])


def wait_balanced(fleet: Fleet, daemons: list[Daemon], targets: int, timeout: float = 120) -> float:
    share = -(-targets // len(daemons))
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        views = [held(d) for d in daemons]
        flat = [s for v in views for s in v]
        if len(flat) == targets == len(set(flat)) and all(share - 1 <= len(v) <= share for v in views):
            return time.monotonic() - started
        time.sleep(0.1)
    raise SystemExit(f"not balanced after {timeout}s: {[held(d) for d in daemons]}")


def noop_pass(d: Daemon, sampler: CpuSampler, after: int, timeout: float = 120) -> tuple[int, float, int]:
    """(API calls, CPU seconds, log index) of the next full pass that changed nothing."""
    index, line = d.wait_until(
        lambda x: x.get("event") == "reconcile_completed" and not x.get("done") and x["processors"] > 0,
        after=after,
        timeout=timeout,
    )
    end = datetime.fromisoformat(line["timestamp"].replace("Z", "+00:00")).timestamp()
    time.sleep(0.1)
    return line["api_calls"], sampler.cpu(end - line["duration"], end), index


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=12)
    parser.add_argument("--per-target", type=int, default=50)
    opts = parser.parse_args()
    n = opts.targets * opts.per_target
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(quiet=True) as emu:
        emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1, max_processors=1_000_000)
        fleet = build_fleet(emu, Path(tmp) / "spec.yaml", opts.targets, opts.per_target, references=False)
        fleet.record_calls()
        print(
            f"{opts.targets} targets x {opts.per_target} processors = {n}; lease {LEASE:g}s, "
            f"status_interval {STATUS_INTERVAL:g}s"
        )
        three(fleet, emu, opts.targets, opts.per_target)


def three(fleet: Fleet, emu: EmulatorProcess, targets: int, per_target: int) -> None:
    started = [start(fleet, name) for name in ("a", "b", "c")]
    daemons = [d for d, _ in started]
    try:
        wait_balanced(fleet, daemons, targets)
        fleet.wait_converged(per_target, timeout=300)
        creates = sum(emu.stats(account(t))["calls"].get("CreateStreamProcessor", 0) for t in range(targets))
        calls = fleet.calls()
        table = fleet.holders()
        foreign = [c for c in calls if c.operation == "CreateStreamProcessor" and c.daemon != table[c.target]]
        print(
            f"1. created: {creates} CreateStreamProcessor calls for {targets * per_target} processors; "
            f"by a daemon not holding the shard: {len(foreign)}; held per daemon "
            f"{[len(held(d)) for d in daemons]}"
        )
        marks = [len(d.lines) for d in daemons]
        passes = [noop_pass(d, s, mark) for (d, s), mark in zip(started, marks, strict=True)]
        sharded_calls = sum(p[0] for p in passes)
        cpus = [p[1] for p in passes]

        join(fleet, started, targets)
        kill(fleet, started, targets)
    finally:
        for d, s in started:
            s.stop()
            d.kill()
    lone(fleet, targets, sharded_calls, cpus)


def join(fleet: Fleet, started: list[tuple[Daemon, CpuSampler]], targets: int) -> None:
    daemons = [d for d, _ in started]
    fleet.calls()
    before = {d: len(d.lines) for d in daemons}
    d4, s4 = start(fleet, "d")
    started.append((d4, s4))
    daemons.append(d4)
    overlaps = 0
    t0 = time.monotonic()
    while not held(d4):
        views = [held(d) for d in daemons]
        flat = [s for v in views for s in v]
        overlaps += len(flat) - len(set(flat))
        time.sleep(0.05)
    first = time.monotonic() - t0
    balanced = wait_balanced(fleet, daemons, targets) + first
    ever: dict[str, set[str]] = {}
    for d, name in zip(daemons, "abcd", strict=True):
        ever[name] = {x["shard"] for x in d.lines[before.get(d, 0) :] if x.get("event") == "shard_acquired"}
        ever[name] |= {x["shard"] for x in d.lines[: before.get(d, 0)] if x.get("event") == "shard_acquired"}
    outside = [c for c in fleet.calls() if c.daemon is not None and c.target not in ever.get(c.daemon, set())]
    print(
        f"2. a fourth joins: holds a shard after {first:.1f}s ({first / LEASE:.2f} leases), all balanced "
        f"after {balanced:.1f}s ({balanced / LEASE:.2f} leases), held {[len(held(d)) for d in daemons]}; "
        f"shards seen in two /healthz at once: {overlaps}; mutating calls outside a daemon's shards: "
        f"{len(outside)}"
    )


def kill(fleet: Fleet, started: list[tuple[Daemon, CpuSampler]], targets: int) -> None:
    victim, _ = started[0]
    survivors = [d for d, _ in started[1:]]
    orphaned = held(victim)
    name = f"{orphaned[0]}-cam000"
    marks = {d: len(d.lines) for d in survivors}
    victim.kill()
    killed = time.monotonic()
    fleet.client(orphaned[0]).delete_stream_processor(Name=name)
    taken: dict[str, float] = {}
    repaired = None
    while len(taken) < len(orphaned) or repaired is None:
        for d in survivors:
            for x in d.lines[marks[d] :]:
                if x.get("event") == "shard_acquired" and x["shard"] in orphaned and x["shard"] not in taken:
                    taken[x["shard"]] = time.monotonic() - killed
                if repaired is None and x.get("event") == "processor_created" and x.get("processor") == name:
                    repaired = time.monotonic() - killed
        if time.monotonic() - killed > 120:
            raise SystemExit(f"not taken over: {taken}, repaired {repaired}")
        time.sleep(0.05)
    bound = LEASE + STATUS_INTERVAL + 5
    print(
        f"3. SIGKILL: its {len(orphaned)} shards held again after {max(taken.values()):.1f}s; the processor "
        f"deleted in one of them created again after {repaired:.1f}s (bound lease + status_interval + 5 = "
        f"{bound:g}s); held {[len(held(d)) for d in survivors]}"
    )
    wait_balanced(fleet, survivors, targets)


def lone(fleet: Fleet, targets: int, sharded_calls: int, cpus: list[float]) -> None:
    fleet.table += "-lone"
    d, sampler = start(fleet, "lone")
    try:
        wait_balanced(fleet, [d], targets)
        # The first pass after taking a shard also assumes its role and builds its clients; the
        # three daemons' figures are of a later pass too.
        _, _, first = noop_pass(d, sampler, 0)
        calls, cpu, _ = noop_pass(d, sampler, first + 1)
    finally:
        sampler.stop()
        d.kill()
    print(
        f"4. one no-op full pass: API calls summed over 3 daemons {sharded_calls}, one daemon alone {calls} "
        f"({(sharded_calls - calls) / calls:+.1%}); CPU per daemon "
        f"{', '.join(f'{c:.2f}' for c in cpus)} s vs alone {cpu:.2f} s "
        f"(max ratio {max(cpus) / cpu if cpu else float('nan'):.2f})"
    )


if __name__ == "__main__":
    main()
