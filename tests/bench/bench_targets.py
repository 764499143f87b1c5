"""Targets benchmark, run by hand: `.venv/bin/python tests/bench/bench_targets.py [--quick]`.

Against a real `spd emulator` subprocess: 10 targets, each an account reached by AssumeRole (roles made
in moto's IAM), each with processors in two regions. The emulator's quotas are per (account, region):
5 TPS for DescribeStreamProcessor and ListTagsForResource; spd's rate limits match them. It measures:

1. the no-op plan's wall time against the floor of ONE target (its busiest region's Describe calls / 5
   TPS: targets and regions are paced independently and proceed in parallel), calls per processor and
   throttled responses;
2. peak memory (max RSS) of `spd plan` on 30,000 processors over the 10 targets (no quotas).

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from bench_reconcile import delta
from peak_rss import measure

from spd.emulator.testing import EmulatorProcess
from spdrun import SPD, spd_env, target_face, write_targets_spec
from targets_support import assumed, make_role

REGIONS = ("us-east-1", "eu-west-1")
QUOTA = 5.0
QUOTAS = {"DescribeStreamProcessor": QUOTA, "ListTagsForResource": QUOTA}


def account(i: int) -> str:
    return f"{100000000000 + i:012d}"


def build(url: str, targets: int, per_region: int, spec: Path) -> None:
    """Roles in each account, the processors created in them (tagged for the stack), and the spec."""
    yaml_targets: dict[str, Any] = {}
    processors: list[dict[str, Any]] = []
    jobs: list[tuple[Any, dict[str, Any]]] = []
    for t in range(targets):
        acct = account(t)
        role = make_role(url, acct, name="spd-manager")
        yaml_targets[f"t{t}"] = {"account_id": acct, "role_arn": role, "regions": list(REGIONS)}
        for region in REGIONS:
            client = assumed(url, role, "rekognition", region)
            for i in range(per_region):
                p = target_face(f"cam-{region}-{i:05d}", acct, f"t{t}", region)
                processors.append(p)
                jobs.append((client, p))

    def create(job: tuple[Any, dict[str, Any]]) -> None:
        client, p = job
        client.create_stream_processor(
            Name=p["name"],
            Input={"KinesisVideoStream": {"Arn": p["input"]["kinesis_video_stream_arn"]}},
            Output={"KinesisDataStream": {"Arn": p["output"]["kinesis_data_stream_arn"]}},
            Settings={"FaceSearch": {"CollectionId": "staff"}},
            RoleArn=p["role_arn"],
            Tags={"spd:stack": "bench"},
        )

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, jobs))
    write_targets_spec(spec, yaml_targets, processors, stack="bench")


def limits(quotas: dict[str, float] | None, concurrency: int) -> dict[str, str]:
    env = {"SPD_CONCURRENCY": str(concurrency)}
    for op in QUOTAS:
        env[f"SPD_RATE_LIMITS__{op}"] = str(quotas[op] if quotas else 100000)
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--targets", type=int, default=10)
    parser.add_argument("--per-region", type=int, default=500, help="processors per target and region")
    parser.add_argument("--memory-processors", type=int, default=30000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--quick", action="store_true", help="50 per region; 3,000 for memory")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument("--memory-only", action="store_true")
    opts = parser.parse_args()
    per_region = 50 if opts.quick else opts.per_region
    mem_n = 3000 if opts.quick else opts.memory_processors
    n = opts.targets * len(REGIONS) * per_region

    if not opts.memory_only:
        no_op_plan(opts, per_region, n)
    if not opts.skip_memory:
        peak_memory(opts, mem_n)


def no_op_plan(opts: argparse.Namespace, per_region: int, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        emu.configure(max_processors=1_000_000)
        spec = Path(tmp) / "fleet.yaml"
        started = time.perf_counter()
        build(emu.url, opts.targets, per_region, spec)
        print(f"built {n} processors in {opts.targets} accounts in {time.perf_counter() - started:.0f} s")
        emu.configure(tps=QUOTAS)
        before = emu.stats()
        started = time.perf_counter()
        proc = subprocess.run(
            [*SPD, "plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"],
            env=spd_env(limits(QUOTAS, opts.concurrency)),
            capture_output=True,
            text=True,
            check=False,
        )
        wall = time.perf_counter() - started
        if proc.returncode != 0:
            sys.exit(
                f"no-op plan found changes or failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{proc.stderr}"
            )
        after = emu.stats()
        calls = delta(before["calls"], after["calls"])
        throttled = sum(delta(before.get("throttled", {}), after.get("throttled", {})).values())
        floor = per_region / QUOTA  # one target: each of its regions in parallel, Describe and tags too
        reads = calls.get("DescribeStreamProcessor", 0) + calls.get("ListTagsForResource", 0)
        print(
            f"no-op plan, {opts.targets} targets x {len(REGIONS)} regions x {per_region} = {n} processors: "
            f"{wall:.1f} s; floor of one target {floor:.1f} s; ratio {wall / floor:.2f}"
        )
        print(
            f"  {reads / n:.2f} calls per processor + {calls.get('ListStreamProcessors', 0)} List page(s); "
            f"throttled {throttled}"
        )
        # The same plan with quotas and rate limits off: the fixed cost (start-up, spec, AssumeRole,
        # List pages) and the emulator's own speed, which the quotas' floor does not count.
        emu.configure(tps={})
        started = time.perf_counter()
        free = subprocess.run(
            [*SPD, "plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"],
            env=spd_env(limits(None, opts.concurrency)),
            capture_output=True,
            text=True,
            check=False,
        )
        print(
            f"  the same plan without quotas: {time.perf_counter() - started:.1f} s (exit {free.returncode})"
        )


def peak_memory(opts: argparse.Namespace, mem_n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        emu.configure(max_processors=1_000_000)
        spec = Path(tmp) / "fleet.yaml"
        per = mem_n // (opts.targets * len(REGIONS))
        build(emu.url, opts.targets, per, spec)
        measured = measure([*SPD, "plan", str(spec), "--endpoint-url", emu.url], spd_env(limits(None, 64)))
        total = per * opts.targets * len(REGIONS)
        print(
            f"spd plan on {total} processors over {opts.targets} targets: peak RSS "
            f"{measured.peak_mib:.0f} MiB (exit {measured.exit})"
        )
        if measured.exit:
            print(measured.stderr)


if __name__ == "__main__":
    main()
