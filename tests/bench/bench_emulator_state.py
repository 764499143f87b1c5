"""Benchmark: what the emulator's state file costs, in one run.

Run by hand (not collected by pytest):

    .venv/bin/python tests/bench/bench_emulator_state.py [--processors 5000] [--threads 4] [--seconds 10]

1. CreateStreamProcessor calls per second for `--processors` processors from one client process of
   `--threads` boto3 clients, against `spd emulator` without a state file and then with a new one
   (target: with the file at least 0.5x without);
2. against the emulator with the file (and those processors in it), DescribeStreamProcessor calls per
   second of one client process (`--threads` clients) alone, then while a second client process creates
   processors as fast as it can (target: at least 0.7x of the rate alone); the same two figures against
   the emulator without a state file, for reference: on a small machine the writer's client process and
   the creates themselves take CPU from the reader whatever the storage.

Every emulator runs as `spd emulator --port 0 --quiet` in its own process; the clients are separate
processes too, so the figures are the emulator's as long as the clients keep it busy.
"""

from __future__ import annotations

import argparse
import multiprocessing
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench_emulator import KDS, KVS, ROLE, _client, _client_process, _spd_command

from spd.emulator.testing import EmulatorProcess


def _create(client: Any, name: str) -> None:
    client.create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": KVS.format(name)}},
        Output={"KinesisDataStream": {"Arn": KDS.format(name)}},
        RoleArn=ROLE,
        Settings={"FaceSearch": {"CollectionId": "staff"}},
    )


def _create_all(url: str, names: list[str], threads: int) -> float:
    """Create `names` from `threads` clients; returns the wall time in seconds."""
    clients = [_client(url) for _ in range(threads)]
    for client in clients:
        client.list_stream_processors(MaxResults=1)  # connect and warm up before the clock starts
    failures: list[BaseException] = []

    def work(index: int) -> None:
        try:
            for name in names[index::threads]:
                _create(clients[index], name)
        except BaseException as exc:  # report, do not hang the run
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    started = time.perf_counter()
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - started
    if failures:
        raise failures[0]
    return elapsed


def _writer_process(url: str, prefix: str, start_at: float, seconds: float, out: Any) -> None:
    client = _client(url)
    client.list_stream_processors(MaxResults=1)
    while time.time() < start_at:
        time.sleep(0.001)
    end = start_at + seconds
    count = 0
    while time.time() < end:
        _create(client, f"{prefix}-{count:06d}")
        count += 1
    out.put(count)


def _describe_rate(
    url: str, names: list[str], threads: int, seconds: float, *, with_writer: bool
) -> tuple[float, int]:
    """(Describe calls/second of one client process, creates made meanwhile by the writer)."""
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    writes = context.Queue()
    start_at = time.time() + 3.0  # time for the client processes to import boto3 and warm up
    processes = [
        context.Process(target=_client_process, args=(url, names, threads, start_at, seconds, results))
    ]
    if with_writer:
        processes.append(
            context.Process(target=_writer_process, args=(url, "writer", start_at, seconds, writes))
        )
    for process in processes:
        process.start()
    calls, errors = results.get(timeout=seconds + 120)
    created = writes.get(timeout=seconds + 120) if with_writer else 0
    for process in processes:
        process.join()
    if errors:
        raise RuntimeError(f"{errors} Describe calls failed")
    return calls / seconds, created


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processors", type=int, default=5000)
    parser.add_argument("--threads", type=int, default=4, help="boto3 clients (threads) per client process")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each Describe measurement")
    args = parser.parse_args()

    command = _spd_command()
    names = [f"bench-{i:05d}" for i in range(args.processors)]

    with EmulatorProcess(command=command, quiet=True) as emulator:
        emulator.configure(latency_ms=0, tps={})
        without_state = args.processors / _create_all(emulator.url, names, args.threads)
        ref_alone, _ = _describe_rate(emulator.url, names, args.threads, args.seconds, with_writer=False)
        ref_shared, ref_created = _describe_rate(
            emulator.url, names, args.threads, args.seconds, with_writer=True
        )

    with tempfile.TemporaryDirectory(prefix="spd-bench-") as directory:
        state = Path(directory) / "emulator.db"
        with EmulatorProcess(command=command, quiet=True, state_file=state) as emulator:
            emulator.configure(latency_ms=0, tps={})
            with_state = args.processors / _create_all(emulator.url, names, args.threads)
            alone, _ = _describe_rate(emulator.url, names, args.threads, args.seconds, with_writer=False)
            shared, created = _describe_rate(
                emulator.url, names, args.threads, args.seconds, with_writer=True
            )
        size = state.stat().st_size

    print(f"emulator command: {' '.join(command)} --port 0 --quiet [--state FILE]")
    print(f"creates of {args.processors} processors from {args.threads} clients:")
    print(f"  without a state file: {without_state:.0f}/s")
    print(f"  with a state file:    {with_state:.0f}/s ({with_state / without_state:.2f}x; target >= 0.5x)")
    print(f"  state file after the run: {size / 1e6:.1f} MB")
    print(
        f"Describe calls/second of one client ({args.threads} threads), state file with {args.processors}+ processors:"
    )
    print(f"  alone:                            {alone:.0f}/s")
    print(
        f"  while another client creates:     {shared:.0f}/s ({shared / alone:.2f}x; target >= 0.7x), "
        f"{created / args.seconds:.0f} creates/s meanwhile"
    )
    print("the same without a state file, for reference:")
    print(f"  alone:                            {ref_alone:.0f}/s")
    print(
        f"  while another client creates:     {ref_shared:.0f}/s ({ref_shared / ref_alone:.2f}x), "
        f"{ref_created / args.seconds:.0f} creates/s meanwhile"
    )


if __name__ == "__main__":
    main()
