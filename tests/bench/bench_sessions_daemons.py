"""Sessions across daemons, run by hand: `.venv/bin/python tests/bench/bench_sessions_daemons.py [--triggers N]`.

Three real `spd run` processes in `ha.mode: shards` with the shared store, against a real `spd emulator`
(DynamoDB and SQS from moto on its port): all three read one SQS trigger queue and answer
`POST /v1/sessions`. `--triggers` (default 5,000) triggers over 100 connected-home processors, half over
HTTP (round-robin over the three daemons), half on the queue, sent open loop at `--rate` a second
(default 20) once every daemon's member record is fresh. Every processor has 10 s sessions and a budget
of 100 session seconds a day, and is triggered every 5 s (100 processors at 20 a second), so a trigger
finds its processor's session open, or closed, or its budget spent.

Printed, not asserted:
- lost: HTTP triggers with no answer, and SQS triggers still on the queue once it should have drained; the
  store's rows (read by `spd sessions` from a fourth state directory) per source against the triggers sent;
- second Starts: StartStreamProcessor calls the emulator refused (a Start on an open session is refused
  with ResourceInUseException), and started outcomes against the emulator's Start count;
- budget: per processor, the started sessions' requested seconds against the budget (never more than one
  session's maximum over it);
- trigger -> Start, p50/p99: for HTTP triggers that started a session, the request's round trip (an upper
  bound: the daemon answers after StartStreamProcessor returned).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "support"))

from bench_sessions import pct, post

from daemonproc import Daemon
from spd.emulator.testing import EmulatorProcess
from spdrun import home, run_spd, write_spec

PROCESSORS = 100
DAEMONS = 3
MAX_SECONDS = 10
BUDGET = 100


def start_daemons(emu: EmulatorProcess, spec: Path, tmp: Path, queue: str) -> list[Daemon]:
    daemons = []
    for i in range(DAEMONS):
        daemons.append(
            Daemon(
                ["--endpoint-url", emu.url, "--spec", str(spec)],
                env={
                    "SPD_INTERVAL": "3600",
                    "SPD_STATUS_INTERVAL": "3600",
                    "SPD_STATE_DIR": str(tmp / f"state{i}"),
                    "SPD_SESSION_QUEUE_URL": queue,
                    "SPD_HA_MODE": "shards",
                    "SPD_HA_TABLE": "spd-leases",
                    "SPD_HA_LEASE_SECONDS": "6",
                    "SPD_HA_HOLDER": f"daemon{i}",
                    "SPD_STORE_TABLE": "spd-store",
                    "SPD_METRICS_ADDRESS": "127.0.0.1:0",
                },
            )
        )
    for d in daemons:
        d.wait_for("daemon_started", timeout=180)
    return daemons


def members_fresh(daemons: list[Daemon], timeout: float = 120) -> None:
    """Wait until every daemon's member record is written and safely fresh (it may start sessions)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        healths = [json.loads(d.get("/healthz")[1]) for d in daemons]
        if all(h.get("shards", {}).get("member_fresh") for h in healths):
            return
        time.sleep(0.2)
    raise SystemExit("the daemons did not all become members")


def send(
    emu: EmulatorProcess, daemons: list[Daemon], names: list[str], triggers: int, queue: str, rate: float
) -> dict[str, Any]:
    """`triggers` at `rate` a second, open loop: even ones over HTTP (round-robin over the daemons, each in
    its own thread), odd ones on the queue."""
    sqs = emu.client("us-east-1", "sqs")
    outcomes: Counter[str] = Counter()
    started_ms: list[float] = []
    lock = threading.Lock()

    def one(i: int) -> None:
        d = daemons[(i // 2) % DAEMONS]
        t0 = time.perf_counter()
        code, body = post(d.http, {"processor": names[i % PROCESSORS]})
        took = (time.perf_counter() - t0) * 1000
        with lock:
            outcomes[body.get("outcome", f"http {code}")] += 1
            if body.get("outcome") == "started":
                started_ms.append(took)

    threads: list[threading.Thread] = []
    t0 = next_at = time.monotonic()
    for i in range(triggers):
        if i % 2 == 0:
            thread = threading.Thread(target=one, args=(i,))
            thread.start()
            threads.append(thread)
        else:
            sqs.send_message(QueueUrl=queue, MessageBody=json.dumps({"processor": names[i % PROCESSORS]}))
        next_at += 1 / rate
        time.sleep(max(0.0, next_at - time.monotonic()))
    for thread in threads:
        thread.join()
    http = (triggers + 1) // 2
    return {"outcomes": outcomes, "started_ms": started_ms, "http": http, "seconds": time.monotonic() - t0}


def drained(emu: EmulatorProcess, queue: str, timeout: float = 300) -> bool:
    sqs = emu.client("us-east-1", "sqs")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attrs = sqs.get_queue_attributes(
            QueueUrl=queue,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        if (
            attrs["ApproximateNumberOfMessages"] == "0"
            and attrs["ApproximateNumberOfMessagesNotVisible"] == "0"
        ):
            return True
        time.sleep(1)
    return False


def ledger_rows(emu: EmulatorProcess, spec: Path, tmp: Path) -> list[dict[str, Any]]:
    """The store's rows of today, read as another host would (its own, empty state directory)."""
    result = run_spd(
        ["sessions", str(spec), "--endpoint-url", emu.url, "--since", "24h", "--output", "json"],
        env={"SPD_STORE_TABLE": "spd-store", "SPD_STATE_DIR": str(tmp / "reader")},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    rows: list[dict[str, Any]] = json.loads(result.stdout)["sessions"]
    return rows


def report(sent: dict[str, Any], rows: list[dict[str, Any]], stats: dict[str, Any], triggers: int) -> None:
    http = sent["outcomes"]
    print(
        f"{triggers} triggers ({sent['http']} HTTP, {triggers - sent['http']} SQS) in {sent['seconds']:.1f} s"
    )
    print(f"  HTTP outcomes {dict(http)}; answered {sum(http.values())} of {sent['http']}")
    by_source = Counter(r["trigger"] for r in rows)
    sqs_sent = triggers - sent["http"]
    lost = (sent["http"] - sum(http.values())) + (0 if sent["drained"] else sqs_sent)
    print(
        f"  lost {lost} (HTTP unanswered + SQS left on the queue); ledger rows {len(rows)}: "
        f"http {by_source['http']} of {sent['http']}, sqs {by_source['sqs']} of {sqs_sent} "
        "(a temporary refusal keeps the message and its redelivery adds a row)"
    )
    by_outcome = Counter(r["outcome"] for r in rows)
    print(f"  ledger outcomes {dict(by_outcome)}")
    reasons = Counter((r["trigger"], (r["reason"] or "")[:60]) for r in rows if r["outcome"] != "started")
    for (trigger, reason), n in reasons.most_common(8):
        print(f"    {n:5d} {trigger}: {reason}")
    starts = stats["calls"].get("StartStreamProcessor", 0)
    print(f"  StartStreamProcessor at the emulator {starts}; started rows {by_outcome.get('started', 0)}")
    print(f"  emulator errors {stats.get('errors', {})}")
    per: Counter[str] = Counter()
    for r in rows:
        if r["outcome"] in ("started", "starting"):
            per[r["processor"]] += r.get("requested_seconds") or MAX_SECONDS
    worst = max(per.values(), default=0)
    print(
        f"  budget {BUDGET} s/day: most spent by one processor {worst} s (limit + one session: {BUDGET + MAX_SECONDS})"
    )
    samples = sent["started_ms"]
    if samples:
        print(
            f"  trigger -> Start (HTTP round trip, started): p50 {statistics.median(samples):.1f} ms, "
            f"p99 {pct(samples, 99):.1f} ms over {len(samples)}"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--triggers", type=int, default=5000)
    parser.add_argument("--rate", type=float, default=20.0, help="triggers a second, HTTP and SQS together")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp_name, EmulatorProcess(quiet=True) as emu:
        tmp = Path(tmp_name)
        emu.configure(transition_seconds=0.05, session_time_scale=1, max_processors=PROCESSORS + 10)
        names = [f"cam{i:03d}" for i in range(PROCESSORS)]
        sessions = {"max_duration_seconds": MAX_SECONDS, "budget_seconds_per_day": BUDGET}
        spec = write_spec(tmp / "spec.yaml", [home(n, sessions=sessions) for n in names], references=emu)
        applied = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"], timeout=600)
        assert applied.returncode == 0, applied.stderr[-2000:]
        queue = emu.client("us-east-1", "sqs").create_queue(QueueName="spd-sessions")["QueueUrl"]
        daemons = start_daemons(emu, spec, tmp, queue)
        try:
            members_fresh(daemons)
            emu.clear_stats()
            sent = send(emu, daemons, names, args.triggers, queue, args.rate)
            sent["drained"] = drained(emu, queue)
            stats = emu.stats()
            report(sent, ledger_rows(emu, spec, tmp), stats, args.triggers)
        finally:
            for d in daemons:
                d.kill()


if __name__ == "__main__":
    main()
