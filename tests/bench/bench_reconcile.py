"""Reconcile-engine benchmark, run by hand: `.venv/bin/python tests/bench/bench_reconcile.py [--quick]`.

Against a real `spd emulator` subprocess with 20 ms latency per call and per-operation TPS quotas
(10 TPS for mutating calls, 20 TPS for Describe and ListTagsForResource, 5 TPS for List), it measures:

1. cold apply of N processors (create with tags, start): wall time against the floor the quotas impose;
2. no-op plan of the same N: calls per processor, mutating calls, throttled responses, wall vs floor;
3. the same no-op plan with quotas off, against a sequential boto3 loop doing the same reads;
4. peak memory (max RSS) of `spd plan` on 10,000 processors.

The floor of a phase is max over operations of (calls of that operation / its TPS): operations are
paced independently and run in parallel. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from peak_rss import measure

from spd.emulator.testing import EmulatorProcess
from spd.model import OPERATIONS
from spdrun import SPD, face, home, spd_env, write_spec

MUTATING = tuple(op for op in OPERATIONS if not op.startswith(("Describe", "List")))
QUOTAS = {
    **dict.fromkeys(MUTATING, 10),
    "DescribeStreamProcessor": 20,
    "ListTagsForResource": 20,
    "ListStreamProcessors": 5,
}


def fleet(n: int) -> list[dict[str, object]]:
    return [face(f"face-{i:05d}") if i % 2 == 0 else home(f"home-{i:05d}") for i in range(n)]


def floor_seconds(calls: dict[str, int], quotas: dict[str, float]) -> float:
    return max((n / quotas[op] for op, n in calls.items() if op in quotas), default=0.0)


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v - before.get(k, 0)}


def run(args: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    started = time.perf_counter()
    proc = subprocess.run([*SPD, *args], env=spd_env(env), capture_output=True, text=True, check=False)
    return time.perf_counter() - started, proc


def spd_limits(quotas: dict[str, float] | None, concurrency: int) -> dict[str, str]:
    env = {"SPD_CONCURRENCY": str(concurrency), "SPD_POLL_INTERVAL": "0.5"}
    for op in QUOTAS:
        env[f"SPD_RATE_LIMITS__{op}"] = str(quotas[op] if quotas else 100000)
    return env


def rekognition(url: str, **config: int) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client(
        "rekognition",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config),
    )


def sequential_baseline(url: str) -> float:
    client = rekognition(url)
    started = time.perf_counter()
    paginator = client.get_paginator("list_stream_processors")
    for page in paginator.paginate():
        for p in page["StreamProcessors"]:
            d = client.describe_stream_processor(Name=p["Name"])
            client.list_tags_for_resource(ResourceArn=d["StreamProcessorArn"])
    return time.perf_counter() - started


def provide_references(url: str, requests: list[dict[str, Any]]) -> None:
    """Create in the emulator what these CreateStreamProcessor requests reference: it is strict by
    default, so a Start of a processor whose role or streams do not exist ends FAILED, as on AWS."""
    body = json.dumps({"region": "us-east-1", "request": requests}).encode()
    post = urllib.request.Request(
        f"{url}/_emulator/references", data=body, method="POST", headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(post, timeout=600) as answer:
        answer.read()


def bulk_create(url: str, n: int) -> None:
    client = rekognition(url, max_pool_connections=16)
    account = "111122223333"

    def request(i: int) -> dict[str, Any]:
        name = f"face-{i:05d}"
        return {
            "Name": name,
            "Input": {
                "KinesisVideoStream": {
                    "Arn": f"arn:aws:kinesisvideo:us-east-1:{account}:stream/{name}/1700000000000"
                }
            },
            "Output": {
                "KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{account}:stream/{name}-out"}
            },
            "Settings": {"FaceSearch": {"CollectionId": "staff", "FaceMatchThreshold": 85}},
            "RoleArn": f"arn:aws:iam::{account}:role/SpdRekognition",
            "Tags": {"spd:stack": "bench"},
        }

    requests = [request(i) for i in range(n)]
    provide_references(url, requests)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda r: client.create_stream_processor(**r), requests))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processors", type=int, default=1000)
    parser.add_argument("--memory-processors", type=int, default=10000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="100 processors, 1,000 for memory")
    opts = parser.parse_args()
    n = 100 if opts.quick else opts.processors
    mem_n = 1000 if opts.quick else opts.memory_processors

    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        spec = write_spec(Path(tmp) / "fleet.yaml", fleet(n), stack="bench", references=emu)
        emu.configure(latency_ms=20, tps=QUOTAS, transition_seconds=0.2, max_processors=100000)
        env = spd_limits(QUOTAS, opts.concurrency)

        before = emu.stats()
        wall, proc = run(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"], env)
        if proc.returncode != 0:
            sys.exit(f"cold apply failed:\n{proc.stdout}\n{proc.stderr}")
        after = emu.stats()
        calls = delta(before["calls"], after["calls"])
        floor = floor_seconds(calls, QUOTAS)
        throttled = sum(delta(before.get("throttled", {}), after.get("throttled", {})).values())
        creates = calls.get("CreateStreamProcessor", 0)
        print(f"cold apply, {n} processors: {wall:.1f} s, floor {floor:.1f} s, ratio {wall / floor:.2f}")
        print(
            f"  calls {json.dumps(calls, sort_keys=True)}; throttled {throttled}; creates {creates} (no duplicates: {creates == n})"
        )

        before = emu.stats()
        wall, proc = run(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"], env)
        if proc.returncode != 0:
            sys.exit(
                f"no-op plan found changes or failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        after = emu.stats()
        calls = delta(before["calls"], after["calls"])
        floor = floor_seconds(calls, QUOTAS)
        throttled = sum(delta(before.get("throttled", {}), after.get("throttled", {})).values())
        mutating = sum(calls.get(op, 0) for op in MUTATING)
        per_processor = (calls.get("DescribeStreamProcessor", 0) + calls.get("ListTagsForResource", 0)) / n
        print(f"no-op plan, {n} processors: {wall:.1f} s, floor {floor:.1f} s, ratio {wall / floor:.2f}")
        print(
            f"  {per_processor:.2f} calls per processor + {calls.get('ListStreamProcessors', 0)} List page(s); "
            f"mutating {mutating}; throttled {throttled}"
        )

        emu.configure(latency_ms=20, tps={})
        env_free = spd_limits(None, opts.concurrency)
        wall_spd, proc = run(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"], env_free)
        if proc.returncode != 0:
            sys.exit(f"no-op plan (no quotas) failed:\n{proc.stdout}\n{proc.stderr}")
        wall_seq = sequential_baseline(emu.url)
        print(
            f"no-op plan without quotas: spd {wall_spd:.2f} s, sequential boto3 loop {wall_seq:.2f} s, "
            f"speed-up {wall_seq / wall_spd:.1f}x"
        )

    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        emu.configure(max_processors=mem_n + 10)
        bulk_create(emu.url, mem_n)
        spec = write_spec(
            Path(tmp) / "fleet.yaml", [face(f"face-{i:05d}") for i in range(mem_n)], stack="bench"
        )
        env = spd_limits(None, opts.concurrency)
        measured = measure([*SPD, "plan", str(spec), "--endpoint-url", emu.url], spd_env(env))
        print(f"spd plan on {mem_n} processors: peak RSS {measured.peak_mib:.0f} MiB (exit {measured.exit})")


if __name__ == "__main__":
    main()
