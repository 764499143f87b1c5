"""Daemon benchmark, run by hand: `.venv/bin/python tests/bench/bench_daemon.py [--quick]`.

Against a real `spd emulator` subprocess with 20 ms latency on every call, it runs `spd run` as a real
subprocess and measures:

1. repair time: with 1,000 processors, one face-search processor is stopped by hand (boto3); how long
   until it is RUNNING again (target: at most status_interval + 5 s);
2. API calls per status sweep besides the Start (target: at most 2), from `/_emulator/stats` over a
   window of sweeps with nothing to repair;
3. resident memory of the daemon holding 10,000 processors (VmRSS and peak VmHWM from
   /proc/<pid>/status, after its first full pass; target < 200 MB);
4. CPU time of the daemon between full passes (utime + stime from /proc/<pid>/stat over an idle window
   of status sweeps at the default status_interval of 30 s; should be near zero).

The daemon runs with spd's fast test rate limits (1,000 calls/s per operation) so that the setup and the
10,000-processor full pass take seconds, not the hours the conservative default quotas would impose.
Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from spd.emulator.testing import EmulatorProcess
from spdrun import SPD, face, spd_env, write_spec

CLK_TCK = os.sysconf("SC_CLK_TCK")


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


class DaemonRun:
    """`spd run` with its JSON lines collected as they arrive."""

    def __init__(self, spec: Path, url: str, env: dict[str, str]) -> None:
        self.lines: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [*SPD, "run", "--endpoint-url", url, "--spec", str(spec)],
            env=spd_env({"SPD_LOG_FORMAT": "json", "SPD_METRICS_ADDRESS": "127.0.0.1:0", **env}),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._cond:
                self.lines.append(json.loads(raw))
                self._cond.notify_all()

    def count(self, event: str) -> int:
        with self._cond:
            return sum(1 for line in self.lines if line["event"] == event)

    def wait_count(self, event: str, n: int, timeout: float = 600) -> None:
        with self._cond:
            if not self._cond.wait_for(lambda: self.count(event) >= n, timeout=timeout):
                raise SystemExit(f"timed out waiting for {n} x {event}")

    def last(self, event: str) -> dict[str, Any]:
        with self._cond:
            return [line for line in self.lines if line["event"] == event][-1]

    def stop(self) -> int:
        self.proc.terminate()
        return self.proc.wait(timeout=60)


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM in kB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0])
    return out


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK  # utime + stime, fields 14 and 15


def apply(spec: Path, url: str) -> None:
    result = subprocess.run(
        [*SPD, "apply", str(spec), "--endpoint-url", url, "--auto-approve"],
        env=spd_env({"SPD_CONCURRENCY": "64", "SPD_POLL_INTERVAL": "0.2"}),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"setup apply failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")


def repair_and_sweep_calls(n: int, status_interval: float, tmp: Path) -> None:
    with EmulatorProcess(quiet=True) as emu:
        emu.configure(transition_seconds=0.2, max_processors=n + 10)
        spec = write_spec(
            tmp / "fleet.yaml", [face(f"cam-{i:05d}") for i in range(n)], stack="bench", references=emu
        )
        apply(spec, emu.url)
        emu.configure(latency_ms=20)
        daemon = DaemonRun(
            spec, emu.url, {"SPD_INTERVAL": "3600", "SPD_STATUS_INTERVAL": str(status_interval)}
        )
        try:
            daemon.wait_count("reconcile_completed", 1)
            first = daemon.last("reconcile_completed")
            print(
                f"first full pass, {n} processors: {first['duration']:.1f} s, {first['api_calls']} API calls"
            )

            # Calls per sweep with nothing to repair.
            sweeps = daemon.count("status_sweep_completed")
            daemon.wait_count("status_sweep_completed", sweeps + 1, timeout=status_interval * 3)
            sweeps = daemon.count("status_sweep_completed")
            before = emu.stats()["calls"]
            daemon.wait_count("status_sweep_completed", sweeps + 3, timeout=status_interval * 6)
            calls = delta(before, emu.stats()["calls"])
            per_sweep = sum(calls.values()) / 3
            print(
                f"idle status sweeps: {per_sweep:.1f} API calls per sweep ({json.dumps(calls)} over 3 sweeps)"
            )

            # Repair: stop one by hand, time until RUNNING again (Describe polled once every 100 ms).
            client = emu.client()
            victim = f"cam-{n // 2:05d}"
            sweeps = daemon.count("status_sweep_completed")
            before = emu.stats()["calls"]
            started = time.monotonic()
            client.stop_stream_processor(Name=victim)
            polls = 0
            while client.describe_stream_processor(Name=victim)["Status"] != "RUNNING":
                polls += 1
                time.sleep(0.1)
            repaired = time.monotonic() - started
            polls += 1
            daemon.wait_count("status_sweep_completed", daemon.count("status_sweep_completed") + 1)
            calls = delta(before, emu.stats()["calls"])
            calls["StopStreamProcessor"] -= 1  # ours
            calls["DescribeStreamProcessor"] = calls.get("DescribeStreamProcessor", 0) - polls  # ours
            calls = {k: v for k, v in calls.items() if v}
            sweeps_run = daemon.count("status_sweep_completed") - sweeps
            besides_start = sum(v for k, v in calls.items() if k != "StartStreamProcessor")
            print(
                f"stopped by hand -> RUNNING again in {repaired:.1f} s "
                f"(status_interval {status_interval:g} s, target <= {status_interval + 5:g} s)"
            )
            print(
                f"  daemon calls meanwhile: {json.dumps(calls)} over {sweeps_run} sweeps; "
                f"{besides_start / max(sweeps_run, 1):.1f} per sweep besides the Start (target <= 2)"
            )
        finally:
            daemon.stop()


def memory_and_idle_cpu(n: int, idle_seconds: float, tmp: Path) -> None:
    with EmulatorProcess(quiet=True) as emu:
        emu.configure(transition_seconds=0.2, max_processors=n + 10)
        spec = write_spec(
            tmp / "big.yaml", [face(f"cam-{i:05d}") for i in range(n)], stack="bench", references=emu
        )
        apply(spec, emu.url)
        emu.configure(latency_ms=20)
        daemon = DaemonRun(spec, emu.url, {"SPD_INTERVAL": "3600", "SPD_STATUS_INTERVAL": "30"})
        try:
            daemon.wait_count("reconcile_completed", 1, timeout=1800)
            first = daemon.last("reconcile_completed")
            mem = proc_status(daemon.proc.pid)
            print(
                f"daemon with {n} processors, after its first full pass ({first['duration']:.1f} s, "
                f"{first['api_calls']} calls): RSS {mem['VmRSS'] / 1024:.0f} MiB, peak {mem['VmHWM'] / 1024:.0f} MiB"
                " (target < 200 MB)"
            )
            sweeps = daemon.count("status_sweep_completed")
            cpu0, t0 = cpu_seconds(daemon.proc.pid), time.monotonic()
            time.sleep(idle_seconds)
            cpu1, t1 = cpu_seconds(daemon.proc.pid), time.monotonic()
            sweeps = daemon.count("status_sweep_completed") - sweeps
            print(
                f"idle window of {t1 - t0:.0f} s between full passes ({sweeps} status sweeps of {n}): "
                f"{cpu1 - cpu0:.2f} s CPU ({100 * (cpu1 - cpu0) / (t1 - t0):.1f}% of one core)"
            )
        finally:
            daemon.stop()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processors", type=int, default=1000)
    parser.add_argument("--memory-processors", type=int, default=10000)
    parser.add_argument("--status-interval", type=float, default=5.0)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--quick", action="store_true", help="100 and 1,000 processors, 20 s idle window")
    opts = parser.parse_args()
    n, big, idle = opts.processors, opts.memory_processors, opts.idle_seconds
    if opts.quick:
        n, big, idle = 100, 1000, 20.0
    with tempfile.TemporaryDirectory() as tmp:
        repair_and_sweep_calls(n, opts.status_interval, Path(tmp))
        memory_and_idle_cpu(big, idle, Path(tmp))


if __name__ == "__main__":
    main()
