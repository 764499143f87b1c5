"""Memory across fail-over, run by hand: `.venv/bin/python tests/bench/bench_store_failover.py [--triggers N]`.

Two real `spd run` processes in leader mode (lease 3 s) share one lease table and one shared store
(`store.table`) in a real `spd emulator`'s DynamoDB, each with its own state directory. A day of
sessions is driven over HTTP to the leader (N triggers of one processor, 10 s sessions played 100x
faster, a budget of 10 x (N - 5) s, so the last 5 are refused); the leader is SIGKILLed half-way and
the triggers go on to the new leader. Then a third host (`spd sessions`, another state directory) must
list every trigger of the day, and the budget must count every session whichever daemon started it.

Printed: the fail-over time (SIGKILL to `leader_acquired`), the HTTP trigger latency (p50/p95) before
and after, the outcomes, what the third host lists, and whether the budget stopped at its limit.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import signal
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from daemonproc import Daemon, leader_of
from spd.emulator.testing import EmulatorProcess
from store_daemons import deployment, post

DURATION = 10


def drive(daemon: Daemon, count: int, outcomes: list[int], latencies: list[float]) -> None:
    for _ in range(count):
        began = time.perf_counter()
        code, _ = post(daemon, {"processor": "porch"})
        latencies.append(time.perf_counter() - began)
        outcomes.append(code)
        time.sleep(DURATION * 0.01 + 0.2)  # the session (played 100x faster) ends before the next trigger


def pct(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.0f} ms"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triggers", type=int, default=40)
    args = parser.parse_args()
    count = args.triggers
    with tempfile.TemporaryDirectory() as tmpdir, EmulatorProcess() as emu:
        emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1, session_time_scale=0.01)
        spot = deployment(Path(tmpdir), emu, budget=DURATION * (count - 5), duration=DURATION)
        daemons = [spot.daemon("host-a"), spot.daemon("host-b")]
        try:
            leader, standby = leader_of(*daemons, timeout=60)
            outcomes: list[int] = []
            before: list[float] = []
            after: list[float] = []
            drive(leader, count // 2, outcomes, before)
            time.sleep(1.5)  # the history's buffer is written every second
            killed = time.monotonic()
            leader.proc.send_signal(signal.SIGKILL)
            standby.wait_for("leader_acquired", timeout=60)
            failover = time.monotonic() - killed
            drive(standby, count - count // 2, outcomes, after)
            rows = spot.sessions("host-c")
        finally:
            for d in daemons:
                d.kill()
        started = [r for r in rows if r["outcome"] == "started"]
        print(f"triggers: {count} ({count // 2} to the first leader, SIGKILLed; the rest to the second)")
        print(f"fail-over (SIGKILL to leader_acquired): {failover:.1f} s (lease 3 s)")
        print(f"trigger latency, first leader:  p50 {pct(before, 0.5)}, p95 {pct(before, 0.95)}")
        print(f"trigger latency, second leader: p50 {pct(after, 0.5)}, p95 {pct(after, 0.95)}")
        print(
            f"HTTP answers: {outcomes.count(201)} x 201 started, {outcomes.count(429)} x 429 over budget, "
            f"{len(outcomes) - outcomes.count(201) - outcomes.count(429)} other"
        )
        print(f"third host lists: {len(rows)} triggers of {count}, {len(started)} sessions started")
        spent = sum(r["requested_seconds"] for r in started)
        print(
            f"budget: {spent} of {DURATION * (count - 5)} s spent; Start calls made: "
            f"{emu.stats()['calls'].get('StartStreamProcessor', 0)}"
        )


if __name__ == "__main__":
    main()
