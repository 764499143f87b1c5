"""Benchmark: DescribeStreamProcessor calls per second against a running `spd emulator`.

Run by hand (not collected by pytest):

    .venv/bin/python tests/bench/bench_emulator.py [--processors 100] [--seconds 10] [--clients 2] [--threads 4]

Starts `spd emulator --port 0 --quiet` as a subprocess (latency injection off, no TPS limits), creates
the processors, then drives DescribeStreamProcessor for `--seconds` from `--clients` separate client
processes with `--threads` boto3 clients each, and prints the aggregate rate. The emulator and the
clients are different processes, so the figure is the emulator's, as long as the clients keep it busy.
"""

from __future__ import annotations

import argparse
import multiprocessing
import shutil
import sys
import threading
import time
from pathlib import Path
from typing import Any

from spd.emulator.testing import EmulatorProcess

KVS = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/bench-{}/1700000000000"
KDS = "arn:aws:kinesis:us-east-1:123456789012:stream/bench-{}"
ROLE = "arn:aws:iam::123456789012:role/SpdRekognition"


def _client(url: str) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client(
        "rekognition",
        endpoint_url=url,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}, max_pool_connections=64),
    )


def _client_process(
    url: str, names: list[str], threads: int, start_at: float, seconds: float, out: Any
) -> None:
    counts = [0] * threads
    errors = [0] * threads

    def work(index: int) -> None:
        client = _client(url)
        client.describe_stream_processor(Name=names[0])  # warm up the client before the clock starts
        while time.time() < start_at:
            time.sleep(0.001)
        end = start_at + seconds
        i = index
        while time.time() < end:
            try:
                client.describe_stream_processor(Name=names[i % len(names)])
                counts[index] += 1
            except Exception:
                errors[index] += 1
            i += threads

    workers = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    out.put((sum(counts), sum(errors)))


def _spd_command() -> list[str]:
    beside = Path(sys.executable).with_name("spd")
    spd = str(beside) if beside.exists() else shutil.which("spd")
    return [spd, "emulator"] if spd else [sys.executable, "-m", "spd.emulator"]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--processors", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument("--threads", type=int, default=4, help="boto3 clients (threads) per client process")
    args = parser.parse_args()

    command = _spd_command()
    with EmulatorProcess(command=command, quiet=True) as emulator:
        emulator.configure(latency_ms=0, tps={})
        client = _client(emulator.url)
        names = [f"bench-{i:04d}" for i in range(args.processors)]
        for name in names:
            client.create_stream_processor(
                Name=name,
                Input={"KinesisVideoStream": {"Arn": KVS.format(name)}},
                Output={"KinesisDataStream": {"Arn": KDS.format(name)}},
                RoleArn=ROLE,
                Settings={"FaceSearch": {"CollectionId": "staff"}},
            )

        context = multiprocessing.get_context("spawn")
        results = context.Queue()
        start_at = time.time() + 3.0  # time for the client processes to import boto3 and warm up
        processes = [
            context.Process(
                target=_client_process,
                args=(emulator.url, names, args.threads, start_at, args.seconds, results),
            )
            for _ in range(args.clients)
        ]
        for process in processes:
            process.start()
        totals = [results.get(timeout=args.seconds + 120) for _ in processes]
        for process in processes:
            process.join()
        stats = emulator.stats()

    calls = sum(t[0] for t in totals)
    errors = sum(t[1] for t in totals)
    print(f"emulator command: {' '.join(command)} --port 0 --quiet")
    print(f"processors: {args.processors}; clients: {args.clients} processes x {args.threads} threads")
    print(f"DescribeStreamProcessor: {calls} calls in {args.seconds:.0f} s, {errors} errors")
    print(f"emulator counted {stats['calls'].get('DescribeStreamProcessor', 0)} Describe calls in total")
    print(f"Describe calls/second: {calls / args.seconds:.0f}")


if __name__ == "__main__":
    main()
