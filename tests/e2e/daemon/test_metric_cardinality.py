"""What arrives on the queues cannot grow `/metrics` without bound: a real `spd run` against `spd emulator`
reads 150 session triggers and 150 LABEL_DETECTED notifications with random processor and label
names, and its number of series stays where it was but for a handful counted under `other`.

150 of each is enough: a series per name would add 300 series, fifteen times the margin allowed, so the
bound fails loudly; a thousand made the same point at seven times the cost.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from typing import Any

import pytest
from test_session_triggers import _spec

from builders import desired, home_config, state
from daemonproc import Daemon, sample
from ledger_messages import label_message, sns
from spd.daemon.metrics import DaemonMetrics
from spd.events import LABELS_DETECTED, SESSION_REFUSED, Event

COUNT = 150


def _series(text: str) -> int:
    return sum(1 for line in text.splitlines() if line and not line.startswith("#"))


def _send(sqs: Any, url: str, bodies: list[str]) -> None:
    for i in range(0, len(bodies), 10):
        batch = [{"Id": str(n), "MessageBody": body} for n, body in enumerate(bodies[i : i + 10])]
        failed = sqs.send_message_batch(QueueUrl=url, Entries=batch).get("Failed")
        assert not failed, failed


def _random() -> str:
    return "x" + uuid.uuid4().hex[:12]


def _wait_for_count(d: Daemon, event: str, timeout: float = 400) -> None:
    deadline = time.monotonic() + timeout
    while len(d.events(event)) < COUNT:
        assert time.monotonic() < deadline, f"{len(d.events(event))} of {COUNT} {event}:\n{d.dump()}"
        assert d.proc.poll() is None, d.dump()
        time.sleep(0.1)


@pytest.mark.timeout(600)  # 300 messages through one daemon on a loaded machine: a hang guard only
def test_random_names_on_the_queues_add_a_bounded_number_of_series(emu, tmp_path):
    sqs = emu.client("us-east-1", "sqs")
    triggers = sqs.create_queue(QueueName="spd-triggers")["QueueUrl"]
    results = sqs.create_queue(QueueName="spd-results")["QueueUrl"]
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(_spec(emu, tmp_path))],
        env={
            "SPD_INTERVAL": "300",
            "SPD_STATUS_INTERVAL": "300",
            "SPD_STATE_DIR": str(tmp_path / "state"),
            "SPD_SESSION_QUEUE_URL": triggers,
            "SPD_RESULTS_QUEUE_URL": results,
        },
    )
    try:
        d.wait_for("reconcile_completed")
        d.wait_for("session_queue_started")
        d.wait_for("session_results_started")
        _, page = d.get("/metrics")
        before, size = _series(page), len(page)

        _send(sqs, triggers, [json.dumps({"processor": _random()}) for _ in range(COUNT)])
        notifications = []
        for n in range(COUNT):
            message = label_message(f"s-{n}", f"e-{n}", _random(), "PERSON")
            message["startStreamProcessorRequest"] = {"Name": _random()}
            notifications.append(sns(message, message_id=f"sns-{n}"))
        _send(sqs, results, notifications)

        _wait_for_count(d, "session_refused")
        _wait_for_count(d, "labels_detected")
        _, page = d.get("/metrics")
        after = _series(page)
        # Refused triggers of `other` processors, labels `other` and PERSON of `other` processors and the
        # two events' own counters (each with its `_created` line): ten, whatever the names; the margin
        # is for an event the daemon might log meanwhile, far below the 300 the names could make.
        assert after - before <= 20, f"{before} -> {after} series ({size} -> {len(page)} bytes)"
        assert 'processor="other"' in page
        assert 'label="other"' in page
        assert 'label="PERSON"' in page
    finally:
        d.kill()


def test_label_values_are_the_specs_names_and_the_api_labels_else_other() -> None:
    spec = state(desired(home_config("porch")))
    metrics = DaemonMetrics(stats=lambda: None, spec=lambda: spec)
    for name in ("porch", "shed", "porch\nevil", "unknown"):
        metrics.event(Event(SESSION_REFUSED, {"processor": name, "target": "", "trigger": "http"}))
    metrics.event(Event(SESSION_REFUSED, {"processor": "porch", "target": "nowhere", "trigger": "sqs"}))
    metrics.event(Event(LABELS_DETECTED, {"processor": "porch", "labels": ["PET", "pet", "DRAGON", "ALL"]}))
    text = metrics.render().decode()
    count = functools.partial(sample, text, "spd_sessions_total", outcome="refused")
    assert count(processor="porch", target="", trigger="http") == 1
    assert count(processor="other", target="", trigger="http") == 2
    assert count(processor="unknown", target="", trigger="http") == 1  # a notification naming none
    assert count(processor="porch", target="other", trigger="sqs") == 1
    labels = functools.partial(sample, text, "spd_labels_detected_total", processor="porch", target="")
    assert (labels(label="PET"), labels(label="ALL"), labels(label="other")) == (1, 1, 2)
    assert "DRAGON" not in text
    assert "shed" not in text

    # After a reload the new spec's names count; the old ones are `other` from then on.
    spec = state(desired(home_config("shed")))
    metrics.event(Event(SESSION_REFUSED, {"processor": "shed", "target": "", "trigger": "http"}))
    metrics.event(Event(SESSION_REFUSED, {"processor": "porch", "target": "", "trigger": "http"}))
    text = metrics.render().decode()
    assert (
        sample(text, "spd_sessions_total", outcome="refused", processor="shed", target="", trigger="http")
        == 1
    )
    assert (
        sample(text, "spd_sessions_total", outcome="refused", processor="other", target="", trigger="http")
        == 3
    )
