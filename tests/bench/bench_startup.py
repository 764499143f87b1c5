"""Start-up benchmark, run by hand: `.venv/bin/python tests/bench/bench_startup.py [--runs N]`.

Times, in one run and interleaved so that a busy machine slows all of them alike, fresh subprocesses of:

- the baseline `python -c "import click, pydantic"` (what any click + pydantic command line pays);
- `spd validate config/`, `spd --help` and `spd schema` through the installed `spd` script;

and prints the best of N wall times of each and its ratio to the baseline. The best, not the mean: the
floor is what the code costs, the rest is other work on the machine. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
SPD = shutil.which("spd", path=str(Path(PYTHON).parent)) or "spd"

CASES: dict[str, list[str]] = {
    'python -c "import click, pydantic"': [PYTHON, "-c", "import click, pydantic"],
    "spd validate config/": [SPD, "validate", "config/"],
    "spd --help": [SPD, "--help"],
    "spd schema": [SPD, "schema"],
}
BASELINE = next(iter(CASES))


def _once(argv: list[str]) -> float:
    # PYTHONDONTWRITEBYTECODE would keep the warm-up from writing spd's bytecode, so every run would compile
    # spd's modules again while the baseline's packages, compiled by pip at install, would not: unfair,
    # and not what an installed spd pays.
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPD_") and k != "PYTHONDONTWRITEBYTECODE"}
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="runs of each command (default 30)")
    args = parser.parse_args()

    for argv in CASES.values():  # warm the page cache and the bytecode caches
        _once(argv)
    times: dict[str, list[float]] = {name: [] for name in CASES}
    for _ in range(args.runs):
        for name, argv in CASES.items():
            times[name].append(_once(argv))

    best = {name: min(values) for name, values in times.items()}
    print(f"best of {args.runs} runs, {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    for name, seconds in best.items():
        median = sorted(times[name])[len(times[name]) // 2]
        ratio = seconds / best[BASELINE]
        print(f"  {name:36} best {seconds * 1000:6.1f} ms  median {median * 1000:6.1f} ms  {ratio:4.2f}x")


if __name__ == "__main__":
    main()
