"""High-availability benchmark, run by hand: `.venv/bin/python tests/bench/bench_ha.py [--window S]`.

Two real `spd run` processes share one lease in a real `spd emulator`'s DynamoDB (lease 6 s, so a
heartbeat of 2 s; status_interval 2 s, interval 30 s). It measures:

1. fail-over: the leader is SIGKILLed and a drift made by hand (boto3) right after; the time until the
   standby has repaired it (target: at most lease + status_interval + 5 s);
2. handover: the leader gets SIGTERM; the time until the standby logs `leader_acquired` (target 2 s);
3. conflicting specs: two daemons whose specs disagree on one processor's labels, for `--window`
   seconds (default 120): UpdateStreamProcessor calls while both hold their roles (target 0), then the
   calls at one fail-over (target at most 1).

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from daemonproc import Daemon, leader_of
from spd.emulator.testing import EmulatorProcess
from spdrun import home, write_spec

LEASE = 6.0
STATUS_INTERVAL = 2.0


def start(emu: EmulatorProcess, spec: Path, table: str, holder: str) -> Daemon:
    return Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={
            "SPD_HA_TABLE": table,
            "SPD_HA_LEASE_SECONDS": f"{LEASE:g}",
            "SPD_HA_HOLDER": holder,
            "SPD_INTERVAL": "30",
            "SPD_STATUS_INTERVAL": f"{STATUS_INTERVAL:g}",
        },
    )


def labels(emu: EmulatorProcess, name: str) -> list[str]:
    return list(emu.client().describe_stream_processor(Name=name)["Settings"]["ConnectedHome"]["Labels"])


def updates(emu: EmulatorProcess) -> int:
    return int(emu.stats()["calls"].get("UpdateStreamProcessor", 0))


def failover(emu: EmulatorProcess, tmp: Path) -> float:
    spec = write_spec(tmp / f"f-{uuid.uuid4().hex[:6]}.yaml", [home("porch")])
    table = f"bench-{uuid.uuid4().hex[:8]}"
    a, b = start(emu, spec, table, "a:1"), start(emu, spec, table, "b:2")
    try:
        leader, _ = leader_of(a, b, timeout=60)
        leader.wait_for("reconcile_completed", timeout=60)
        time.sleep(1.0)  # let the standby read the lease at least once
        leader.kill()
        killed = time.monotonic()
        emu.client().update_stream_processor(
            Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
        )
        while labels(emu, "porch") != ["PERSON"]:
            time.sleep(0.05)
        return time.monotonic() - killed
    finally:
        a.kill()
        b.kill()


def handover(emu: EmulatorProcess, tmp: Path) -> float:
    spec = write_spec(tmp / f"h-{uuid.uuid4().hex[:6]}.yaml", [home("porch")])
    table = f"bench-{uuid.uuid4().hex[:8]}"
    a, b = start(emu, spec, table, "a:1"), start(emu, spec, table, "b:2")
    try:
        leader, standby = leader_of(a, b, timeout=60)
        leader.wait_for("reconcile_completed", timeout=60)
        time.sleep(1.0)
        leader.signal(signal.SIGTERM)
        sent = time.monotonic()
        standby.wait_for("leader_acquired", timeout=60)
        return time.monotonic() - sent
    finally:
        a.kill()
        b.kill()


def conflicting(emu: EmulatorProcess, tmp: Path, window: float) -> tuple[int, int, str]:
    spec_a = write_spec(tmp / "ca.yaml", [home("porch", labels=["PERSON"])])
    spec_b = write_spec(tmp / "cb.yaml", [home("porch", labels=["PACKAGE"])])
    table = f"bench-{uuid.uuid4().hex[:8]}"
    a = start(emu, spec_a, table, "a:1")
    a.wait_for("reconcile_completed", timeout=60)
    b = start(emu, spec_b, table, "b:2")
    try:
        b.wait_for("daemon_started", timeout=60)
        time.sleep(2 * STATUS_INTERVAL)
        before = updates(emu)
        time.sleep(window)  # both hold their roles: a leads, b stands by
        steady = updates(emu) - before
        roles = f"a leader={bool(a.events('leader_acquired'))}, b leader={bool(b.events('leader_acquired'))}"
        before = updates(emu)
        a.kill()
        b.wait_for("leader_acquired", timeout=60)
        b.wait_for("reconcile_completed", after=len(b.lines) - 1, timeout=60)
        time.sleep(2 * STATUS_INTERVAL)
        return steady, updates(emu) - before, roles
    finally:
        a.kill()
        b.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--window", type=float, default=120.0, help="seconds of conflicting specs")
    parser.add_argument("--runs", type=int, default=3, help="fail-overs and handovers measured")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmpdir, EmulatorProcess() as emu:
        emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
        tmp = Path(tmpdir)
        fails = [failover(emu, tmp) for _ in range(args.runs)]
        print(
            f"fail-over after SIGKILL until the drift is repaired: median {statistics.median(fails):.1f} s, "
            f"max {max(fails):.1f} s over {len(fails)} runs "
            f"(target <= lease {LEASE:g} + status_interval {STATUS_INTERVAL:g} + 5 = "
            f"{LEASE + STATUS_INTERVAL + 5:g} s)"
        )
        hands = [handover(emu, tmp) for _ in range(args.runs)]
        print(
            f"handover after SIGTERM until the standby leads: median {statistics.median(hands):.2f} s, "
            f"max {max(hands):.2f} s over {len(hands)} runs (target <= 2 s)"
        )
        steady, at_failover, roles = conflicting(emu, tmp, args.window)
        print(
            f"conflicting specs for {args.window:g} s ({roles}): {steady} UpdateStreamProcessor calls "
            f"while roles held (target 0); {at_failover} at the fail-over (target <= 1)"
        )


if __name__ == "__main__":
    main()
