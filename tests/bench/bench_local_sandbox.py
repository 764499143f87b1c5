"""`--local` sandbox benchmark, run by hand: `.venv/bin/python tests/bench/bench_local_sandbox.py`.

`spd plan --local` first creates, in the embedded emulator's moto services, what the spec references
(`spd.emulator.backend.service.Emulator.provide`), and every later run re-creates it from the state file
(moto keeps its data in memory). For each size N (12,000 and 24,000 processors by default, half
face-search, half connected-home: N video streams, N/2 data streams, one role, bucket, topic and
collection) it runs, with a fresh state file:

1. `spd plan --local --no-preflight` on the spec: the sandbox provides everything (first use);
2. the same command again: the sandbox re-creates everything from the state file.

It prints wall time, CPU time and peak RSS (through `peak_rss.measure`) of each run, and the ratios of
the largest size to the smallest: set-up that scales linearly doubles with the fleet (plus the fixed
start-up). To measure another checkout's spd, run this file from that checkout's root with it on
PYTHONPATH (`python -m spd` imports the spd of the working directory first).
Figures are printed, not asserted. Sizes run one after the other, never in parallel.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from peak_rss import measure

from spdrun import SPD, face, home, spd_env, write_spec


def fleet(n: int) -> list[dict[str, object]]:
    return [face(f"face-{i:06d}") if i % 2 == 0 else home(f"home-{i:06d}") for i in range(n)]


@dataclass(frozen=True)
class Run:
    wall_s: float
    cpu_s: float
    peak_mib: float

    def __str__(self) -> str:
        return f"{self.wall_s:.1f} s wall, {self.cpu_s:.1f} s CPU, peak {self.peak_mib:.0f} MiB"


def timed_plan(spec: Path, state: Path) -> Run:
    """One `spd plan --local --no-preflight`; exits if the plan failed."""
    command = [*SPD, "plan", str(spec), "--local", "--local-state", str(state), "--no-preflight"]
    started = time.perf_counter()
    measured = measure(command, spd_env())
    wall = time.perf_counter() - started
    if measured.exit not in (0, 2):
        sys.exit(f"spd plan --local failed (exit {measured.exit}):\n{measured.stderr}")
    return Run(wall, measured.cpu_s, measured.peak_mib)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[12_000, 24_000])
    parser.add_argument("--quick", action="store_true", help="sizes 2,000 and 4,000")
    opts = parser.parse_args()
    sizes = [2_000, 4_000] if opts.quick else sorted(opts.sizes)
    first: dict[int, Run] = {}
    again: dict[int, Run] = {}
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            spec = write_spec(Path(tmp) / "fleet.yaml", fleet(n), stack="bench")
            state = Path(tmp) / "emulator.db"
            first[n] = timed_plan(spec, state)
            again[n] = timed_plan(spec, state)
        print(f"{n} processors: first plan --local {first[n]}; again (restore) {again[n]}", flush=True)
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        for label, runs in (("first plan", first), ("again", again)):
            print(
                f"{large} / {small} processors, {label}: wall x{runs[large].wall_s / runs[small].wall_s:.2f}, "
                f"CPU x{runs[large].cpu_s / runs[small].cpu_s:.2f} (linear: x{large / small:.2f})"
            )


if __name__ == "__main__":
    main()
