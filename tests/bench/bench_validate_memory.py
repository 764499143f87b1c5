"""Memory of `spd validate` on a very large spec, run by hand:

    .venv/bin/python tests/bench/bench_validate_memory.py [--processors N] [--files F] [--phases]

The spec is `bench_load`'s fleet (face-search and connected-home processors, bounding boxes and
polygons, block and flow style, per-file defaults and tags) of N processors (default 200,000) in F
files (default 10). It prints the wall time, CPU time and peak RSS of `spd validate` on it, measured
by `peak_rss.measure` in a process of its own.

`--phases` also loads the spec in this process under tracemalloc and prints, per phase of
`spd.spec.loader` (reading the YAML with its positions, the per-file checks: defaults, schema and
rules, the checks across files, building the desired state), the memory held after the phase and the
peak within it. tracemalloc makes the load several times slower and counts Python allocations only,
so the phase figures are for finding where memory goes, the RSS figure for comparing.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_load import file_yaml
from peak_rss import measure

from spdrun import SPD, spd_env


def write_fleet(directory: Path, processors: int, files: int) -> tuple[int, int]:
    """The spec's files in `directory`; (bytes, lines) written."""
    per_file = -(-processors // files)
    size = lines = 0
    for number in range(files):
        region = "us-east-1" if number % 2 == 0 else "us-west-2"
        text = file_yaml(range(number * per_file, min((number + 1) * per_file, processors)), region)
        (directory / f"fleet-{number:02d}.yaml").write_text(text)
        size += len(text)
        lines += text.count("\n")
    return size, lines


def phases(directory: Path) -> None:
    """Load the spec under tracemalloc, printing what each phase of the loader holds and peaks at."""
    from spd.spec import loader, yaml_source

    mib = 1024 * 1024
    totals: dict[str, list[float]] = {}

    def traced(name: str, function: Callable[..., Any]) -> Callable[..., Any]:
        def run(*args: Any, **kwargs: Any) -> Any:
            before, _ = tracemalloc.get_traced_memory()
            tracemalloc.reset_peak()
            result = function(*args, **kwargs)
            after, peak = tracemalloc.get_traced_memory()
            entry = totals.setdefault(name, [0.0, 0.0, 0.0])
            entry[0] += (after - before) / mib
            entry[1] = max(entry[1], peak / mib)
            entry[2] += 1
            return result

        return run

    loader.read_document = traced("read YAML with positions", yaml_source.read_document)  # type: ignore[attr-defined]
    loader._check_document = traced("defaults, schema, rules", loader._check_document)  # type: ignore[attr-defined]
    loader._across_files = traced("checks across files", loader._across_files)  # type: ignore[attr-defined]
    loader._desired_state = traced("desired state", loader._desired_state)  # type: ignore[attr-defined]
    tracemalloc.start()
    started = time.perf_counter()
    loaded = loader.load_spec(directory, environ={})
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"tracemalloc, {len(loaded.desired.processors)} processors ({time.perf_counter() - started:.0f} s):"
    )
    for name, (grown, top, calls) in totals.items():
        print(f"  {name:28s} holds +{grown:7.0f} MiB after, peak {top:6.0f} MiB during ({calls:.0f} call(s))")
    print(f"  {'whole load':28s} holds  {held / mib:7.0f} MiB at the end, peak {peak / mib:6.0f} MiB")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processors", type=int, default=200_000)
    parser.add_argument("--files", type=int, default=10)
    parser.add_argument("--phases", action="store_true", help="also a tracemalloc breakdown by phase")
    parser.add_argument("--skip-rss", action="store_true", help="only the tracemalloc breakdown")
    opts = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp) / "spec"
        directory.mkdir()
        size, lines = write_fleet(directory, opts.processors, opts.files)
        print(f"spec: {opts.processors} processors in {opts.files} files, {lines} lines, {size / 1e6:.0f} MB")
        if not opts.skip_rss:
            started = time.perf_counter()
            measured = measure([*SPD, "validate", str(directory)], spd_env())
            wall = time.perf_counter() - started
            print(
                f"spd validate: {wall:.1f} s wall, {measured.cpu_s:.1f} s CPU, "
                f"peak RSS {measured.peak_mib:.0f} MiB (exit {measured.exit})"
            )
            if measured.exit:
                print(measured.stderr)
        if opts.phases:
            phases(directory)


if __name__ == "__main__":
    main()
