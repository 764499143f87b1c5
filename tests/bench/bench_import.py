"""`spd import` benchmark, run by hand: `.venv/bin/python tests/bench/bench_import.py [--quick]`.

Against a real `spd emulator` subprocess in the setting of `bench_reconcile.py` (20 ms latency per call;
10 TPS for mutating calls, 20 TPS for Describe and ListTagsForResource, 5 TPS for List; spd's rate limits
set to match), it creates N processors directly with boto3 (both kinds, some running, user tags, no
`spd:stack` tag; quotas off while creating), then times `spd import --region us-east-1 --out FILE` as a
subprocess and prints: wall time against the quota floor (computed as `bench_reconcile` does: max over
operations of calls / TPS), Describe + ListTagsForResource calls per processor, List pages, and
throttled responses, all from the emulator's stats. Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import yaml
from bench_reconcile import (
    MUTATING,
    QUOTAS,
    delta,
    floor_seconds,
    provide_references,
    rekognition,
    run,
    spd_limits,
)

from spd.emulator.testing import EmulatorProcess

ACCOUNT = "111122223333"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition"


def create_unowned(url: str, n: int) -> None:
    """N processors as another tool would leave them: even ones face search (every third of those
    running), odd ones connected home; a user tag on each, no `spd:stack`."""
    client = rekognition(url, max_pool_connections=16)

    def request(i: int) -> dict[str, Any]:
        kvs = f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/cam-{i:05d}/1700000000000"
        tags = {"team": "vision", "site": f"site-{i % 7}"}
        if i % 2 == 0:
            name = f"face-{i:05d}"
            return {
                "Name": name,
                "Input": {"KinesisVideoStream": {"Arn": kvs}},
                "Output": {
                    "KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/{name}-out"}
                },
                "Settings": {"FaceSearch": {"CollectionId": "staff", "FaceMatchThreshold": 85}},
                "RoleArn": ROLE,
                "Tags": tags,
            }
        name = f"home-{i:05d}"
        return {
            "Name": name,
            "Input": {"KinesisVideoStream": {"Arn": kvs}},
            "Output": {"S3Destination": {"Bucket": "spd-home-results", "KeyPrefix": f"{name}/"}},
            "NotificationChannel": {"SNSTopicArn": f"arn:aws:sns:us-east-1:{ACCOUNT}:HomeEvents"},
            "Settings": {"ConnectedHome": {"Labels": ["PERSON", "PACKAGE"], "MinConfidence": 60}},
            "RoleArn": ROLE,
            "Tags": tags,
        }

    def create(i: int) -> None:
        client.create_stream_processor(**requests[i])
        if i % 6 == 0:
            client.start_stream_processor(Name=requests[i]["Name"])

    requests = [request(i) for i in range(n)]
    provide_references(url, requests)
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(create, range(n)))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--processors", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--quick", action="store_true", help="100 processors")
    opts = parser.parse_args()
    n = 100 if opts.quick else opts.processors

    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess() as emu:
        emu.configure(transition_seconds=0.2, max_processors=n + 10)
        create_unowned(emu.url, n)
        emu.configure(latency_ms=20, tps=QUOTAS)
        out = Path(tmp) / "imported.yaml"

        before = emu.stats()
        wall, proc = run(
            ["import", "--region", "us-east-1", "--out", str(out), "--endpoint-url", emu.url],
            spd_limits(QUOTAS, opts.concurrency),
        )
        if proc.returncode != 0:
            sys.exit(f"spd import failed (exit {proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        after = emu.stats()

        written = len(yaml.safe_load(out.read_text(encoding="utf-8"))["processors"])
        calls = delta(before["calls"], after["calls"])
        floor = floor_seconds(calls, QUOTAS)
        throttled = sum(delta(before.get("throttled", {}), after.get("throttled", {})).values())
        mutating = sum(calls.get(op, 0) for op in MUTATING)
        per_processor = (calls.get("DescribeStreamProcessor", 0) + calls.get("ListTagsForResource", 0)) / n
        print(f"spd import, {n} processors: {wall:.1f} s, floor {floor:.1f} s, ratio {wall / floor:.2f}")
        print(
            f"  {per_processor:.2f} calls per processor + {calls.get('ListStreamProcessors', 0)} List page(s); "
            f"mutating {mutating}; throttled {throttled}; processors written {written}"
        )
        print(f"  calls {json.dumps(calls, sort_keys=True)}")


if __name__ == "__main__":
    main()
