"""Session trigger benchmark, run by hand: `.venv/bin/python tests/bench/bench_sessions.py [--triggers N] [--load-seconds S]`.

Against a real `spd emulator` and a real `spd run` (both subprocesses, loopback):

1. latency from trigger to StartStreamProcessor, p50/p99, through `POST /v1/sessions` and through the
   SQS trigger queue. The Start's arrival is read from the emulator: a connected-home processor's
   `LastUpdateTimestamp` is the moment its Start was handled (ms precision) while the session is open
   (`session_time_scale` 100 keeps it open). Triggers go one at a time, 100 processors per round; between
   rounds the sessions are stopped with boto3. The trigger time is taken just before the send, on the
   same clock (same host).
2. load: 100 processors, each triggered every 2 s over HTTP (50 triggers/s) for `--load-seconds`, with
   10 s sessions lasting 1 s (`session_time_scale` 0.1): every trigger must come back started, coalesced
   or refused (none lost), and the emulator must have refused no Start (a Start on an open session would
   be a duplicate); the daemon's CPU time and memory are printed.

Figures are printed, not asserted.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from bench_daemon import cpu_seconds, proc_status

from daemonproc import Daemon
from spd.emulator.testing import EmulatorProcess
from spdrun import home, run_spd, write_spec

PROCESSORS = 100


def rss_mb(pid: int) -> float:
    return proc_status(pid).get("VmRSS", 0) / 1024


def post(base: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(base + "/v1/sessions", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def stop_all(emu: EmulatorProcess, names: list[str]) -> None:
    client = emu.client()
    for name in names:
        if client.describe_stream_processor(Name=name)["Status"] in ("STARTING", "RUNNING"):
            client.stop_stream_processor(Name=name)
    for name in names:
        while client.describe_stream_processor(Name=name)["Status"] != "STOPPED":
            time.sleep(0.01)


def arrivals(emu: EmulatorProcess, names: list[str], timeout: float = 60) -> dict[str, float]:
    client = emu.client()
    found: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    while len(found) < len(names) and time.monotonic() < deadline:
        for name in names:
            if name not in found:
                d = client.describe_stream_processor(Name=name)
                if d["Status"] == "STARTING":
                    found[name] = d["LastUpdateTimestamp"].timestamp()
        time.sleep(0.05)
    return found


def latency(emu: EmulatorProcess, d: Daemon, names: list[str], triggers: int, sqs_url: str) -> None:
    sqs = emu.client("us-east-1", "sqs")
    base = d.http
    for path in ("http", "sqs"):
        samples: list[float] = []
        while len(samples) < triggers:
            batch = names[: min(len(names), triggers - len(samples))]
            sent: dict[str, float] = {}
            for name in batch:
                sent[name] = time.time()
                if path == "http":
                    code, body = post(base, {"processor": name})
                    assert code == 201, body
                else:
                    sqs.send_message(QueueUrl=sqs_url, MessageBody=json.dumps({"processor": name}))
                    time.sleep(0.02)
            seen = arrivals(emu, batch)
            samples.extend((seen[n] - sent[n]) * 1000 for n in batch if n in seen)
            stop_all(emu, batch)
        print(
            f"{path}: trigger -> StartStreamProcessor over {len(samples)} triggers: "
            f"p50 {statistics.median(samples):.1f} ms, p99 {pct(samples, 99):.1f} ms, max {max(samples):.1f} ms"
        )


def load(emu: EmulatorProcess, d: Daemon, names: list[str], seconds: float) -> None:
    emu.configure(session_time_scale=0.1)
    emu.clear_stats()
    base = d.http
    counts: dict[str, int] = {}
    lock = threading.Lock()
    sent = 0
    period = 2.0 / len(names)  # each processor every 2 s
    cpu0, t0 = cpu_seconds(d.pid), time.monotonic()

    def one(name: str) -> None:
        code, body = post(base, {"processor": name})
        with lock:
            key = body.get("outcome", f"http {code}")
            counts[key] = counts.get(key, 0) + 1

    threads: list[threading.Thread] = []
    next_at = time.monotonic()
    while time.monotonic() - t0 < seconds:
        t = threading.Thread(target=one, args=(names[sent % len(names)],))
        t.start()
        threads.append(t)
        sent += 1
        next_at += period
        time.sleep(max(0.0, next_at - time.monotonic()))
    for t in threads:
        t.join()
    elapsed = time.monotonic() - t0
    cpu = cpu_seconds(d.pid) - cpu0
    stats = emu.stats()
    starts = stats["calls"].get("StartStreamProcessor", 0)
    errors = stats.get("errors", {})
    print(f"load: {sent} triggers in {elapsed:.1f} s ({sent / elapsed:.1f}/s) over {len(names)} processors")
    print(f"  outcomes {counts}; accounted {sum(counts.values())} of {sent}")
    print(
        f"  StartStreamProcessor calls at the emulator {starts}, started outcomes {counts.get('started', 0)}"
    )
    print(f"  emulator errors {errors}")
    print(
        f"  daemon CPU {cpu:.1f} s over {elapsed:.1f} s ({100 * cpu / elapsed:.0f}% of a core), RSS {rss_mb(d.pid):.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triggers", type=int, default=1000)
    parser.add_argument("--load-seconds", type=float, default=60.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, EmulatorProcess(quiet=True) as emu:
        emu.configure(
            transition_seconds=0.05,
            session_time_scale=100,
            max_processors=PROCESSORS + 10,
            connected_home_stop_allowed_in=["STARTING"],
        )
        names = [f"cam{i:03d}" for i in range(PROCESSORS)]
        spec = write_spec(Path(tmp) / "spec.yaml", [home(n) for n in names], references=emu)
        applied = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"], timeout=600)
        assert applied.returncode == 0, applied.stderr[-2000:]
        url = emu.client("us-east-1", "sqs").create_queue(QueueName="spd-sessions")["QueueUrl"]
        d = Daemon(
            ["--endpoint-url", emu.url, "--spec", str(spec)],
            env={
                "SPD_INTERVAL": "3600",
                "SPD_STATUS_INTERVAL": "3600",
                "SPD_STATE_DIR": str(Path(tmp) / "state"),
                "SPD_SESSION_QUEUE_URL": url,
            },
        )
        try:
            d.wait_for("daemon_started", timeout=120)
            time.sleep(2)
            latency(emu, d, names, args.triggers, url)
            load(emu, d, names, args.load_seconds)
        finally:
            d.kill()


if __name__ == "__main__":
    main()
