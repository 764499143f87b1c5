"""`spd run` as a real subprocess publishing drift and action events: a signed webhook to a loopback receiver,
SNS and EventBridge (moto, on the emulator's port) into SQS queues, a dead webhook; then `spd history`.
"""

from __future__ import annotations

import json
import re
import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from spdrun import home, run_spd, write_spec
from webhook_receiver import Receiver, secret_file, verify


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def test_drift_and_repair_reach_a_signed_webhook_and_the_history(tmp_path, emu, daemons, receiver):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    spec = write_spec(tmp_path / "spec.yaml", [home("porch", labels=["PERSON"])], references=emu)
    history = tmp_path / "state" / "history.db"
    sinks = [{"type": "webhook", "url": receiver.url, "secret_file": str(secret_file(tmp_path))}]
    env = {"SPD_EVENT_SINKS": json.dumps(sinks), "SPD_HISTORY_FILE": str(history)}
    d = daemons("--endpoint-url", emu.url, "--spec", str(spec), env=env)
    d.wait_for("reconcile_completed")
    created = verify(*receiver.wait_for("io.spd.processor_created", "us-east-1/porch"))
    assert created["data"]["processor"] == "porch"

    mark = len(d.lines)
    emu.client().update_stream_processor(
        Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
    )
    i, _ = d.wait_for("drift_detected", after=mark, processor="porch", field="connected_home.labels")
    d.wait_for("processor_updated", after=i, processor="porch")

    drift = verify(*receiver.wait_for("io.spd.drift_detected", "us-east-1/porch"))
    assert drift["data"]["field"] == "connected_home.labels"
    assert drift["data"]["observed"] == ["PET"]
    assert drift["data"]["desired"] == ["PERSON"]
    repair = verify(*receiver.wait_for("io.spd.processor_updated", "us-east-1/porch"))
    assert len({created["id"], drift["id"], repair["id"]}) == 3
    # Pass summaries are logged, not published.
    assert all(json.loads(b)["type"] != "io.spd.reconcile_completed" for _, b in receiver.posts)
    # The receiver holds a post before the daemon has read the answer and counted the delivery.
    delivered = re.compile(r'spd_sink_delivered_total\{sink="webhook:http://127.0.0.1:\d+/hooks/spd"\} [3-9]')
    deadline = time.monotonic() + 10
    while True:
        code, metrics = d.get("/metrics")
        assert code == 200
        if delivered.search(metrics):
            break
        assert time.monotonic() < deadline, metrics
        time.sleep(0.05)
    assert d.stop() == 0
    assert history.stat().st_mode & 0o777 == 0o600

    listed = run_spd(["history", str(spec), "--output", "json"], env={"SPD_HISTORY_FILE": str(history)})
    assert listed.returncode == 0, listed.stderr
    entries = json.loads(listed.stdout)
    names = [e["event"] for e in entries]
    assert names.index("drift_detected") < names.index("processor_updated")
    drifted = next(e for e in entries if e["event"] == "drift_detected")
    assert drifted["processor"] == "porch"
    assert drifted["region"] == "us-east-1"
    assert drifted["fields"]["field"] == "connected_home.labels"
    assert all(e["stack"] == "test-stack" for e in entries)
    assert "reconcile_completed" not in names

    text = run_spd(
        ["history", str(spec), "--processor", "porch", "--since", "1h"],
        env={"SPD_HISTORY_FILE": str(history)},
    )
    assert text.returncode == 0, text.stderr
    assert re.search(r"Z  us-east-1/porch  drift_detected  field=\"connected_home.labels\"", text.stdout)
    assert "us-east-1/porch  processor_updated" in text.stdout
    other = run_spd(
        ["history", str(spec), "--processor", "nobody", "--output", "json"],
        env={"SPD_HISTORY_FILE": str(history)},
    )
    assert json.loads(other.stdout) == []


def _queue(sqs: Any, name: str) -> tuple[str, str]:
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    return url, arn


def _receive(sqs: Any, url: str, timeout: float = 20) -> list[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        messages = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if messages:
            return [m["Body"] for m in messages]
        time.sleep(0.1)
    raise AssertionError(f"nothing arrived on {url}")


def test_sns_and_eventbridge_sinks_deliver_cloudevents_to_sqs(tmp_path, emu, daemons):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    suffix = uuid.uuid4().hex[:8]
    sns, sqs, bridge = (emu.client(service=s) for s in ("sns", "sqs", "events"))
    topic = sns.create_topic(Name=f"spd-events-{suffix}")["TopicArn"]
    sns_queue, sns_queue_arn = _queue(sqs, f"from-sns-{suffix}")
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=sns_queue_arn)
    bridge_queue, bridge_queue_arn = _queue(sqs, f"from-eventbridge-{suffix}")
    bus = f"spd-bus-{suffix}"
    bridge.create_event_bus(Name=bus)
    bridge.put_rule(Name=f"spd-{suffix}", EventBusName=bus, EventPattern=json.dumps({"source": ["io.spd"]}))
    bridge.put_targets(
        Rule=f"spd-{suffix}", EventBusName=bus, Targets=[{"Id": "queue", "Arn": bridge_queue_arn}]
    )

    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=emu)
    sinks = [{"type": "sns", "topic_arn": topic}, {"type": "eventbridge", "bus": bus}]
    env = {"SPD_EVENT_SINKS": json.dumps(sinks), "SPD_HISTORY_FILE": str(tmp_path / "history.db")}
    d = daemons("--endpoint-url", emu.url, "--spec", str(spec), env=env)
    d.wait_for("processor_created", processor="porch")

    via_sns = [json.loads(json.loads(body)["Message"]) for body in _receive(sqs, sns_queue)]
    created = next(e for e in via_sns if e["type"] == "io.spd.processor_created")
    assert created["subject"] == "us-east-1/porch"
    assert created["source"] == "test-stack"
    assert created["specversion"] == "1.0"

    via_bridge = [json.loads(body) for body in _receive(sqs, bridge_queue)]
    entry = next(e for e in via_bridge if e["detail-type"] == "io.spd.processor_created")
    assert entry["source"] == "io.spd"
    assert entry["detail"]["subject"] == "us-east-1/porch"
    assert entry["detail"]["data"]["processor"] == "porch"
    assert d.stop() == 0


def _refused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dead_webhook_is_retried_then_counted_dropped_and_passes_go_on(tmp_path, emu, daemons):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=emu)
    url = f"http://127.0.0.1:{_refused_port()}/dead"
    sinks = [
        {
            "type": "webhook",
            "url": url,
            "secret_file": str(secret_file(tmp_path)),
            "attempts": 3,
            "backoff": 0.05,
        }
    ]
    env = {
        "SPD_EVENT_SINKS": json.dumps(sinks),
        "SPD_HISTORY_FILE": str(tmp_path / "history.db"),
        "SPD_INTERVAL": "0.5",
    }
    d = daemons("--endpoint-url", emu.url, "--spec", str(spec), env=env)
    i, dropped = d.wait_for("event_sink_dropped", reason="retries_exhausted")
    assert dropped["event_type"] == "io.spd.processor_created"
    assert dropped["attempts"] == 3
    assert dropped["level"] == "warning"
    assert "Connect" in dropped["error"] or "refused" in dropped["error"].lower()
    # Passes carry on meanwhile and afterwards.
    d.wait_for("reconcile_completed", after=i)
    _, metrics = d.get("/metrics")
    assert re.search(
        r'spd_sink_dropped_total\{reason="retries_exhausted",sink="webhook:[^"]+"\} [1-9]', metrics
    )
    assert d.stop() == 0


@pytest.mark.parametrize(
    ("sinks", "message"),
    [
        (
            [{"type": "webhook", "url": "http://hooks.example.com/spd", "secret_file": "SECRET"}],
            "plain http is refused for 'hooks.example.com'",
        ),
        (
            [{"type": "webhook", "url": "https://hooks.example.com/spd", "secret_file": "MISSING"}],
            "cannot read",
        ),
        ([{"type": "kafka", "url": "https://hooks.example.com/spd"}], "Input should be 'webhook', 'sns' or"),
        ([{"type": "sns"}], "an sns sink needs topic_arn"),
        ([{"type": "sns", "topic_arn": "arn:aws:sns:us-east-1:1:t", "bus": "b"}], "bus does not apply"),
        ("not json", "expected JSON"),
    ],
)
def test_bad_event_sinks_are_refused_before_anything_runs(tmp_path, sinks, message):
    secret = secret_file(tmp_path)
    value = sinks if isinstance(sinks, str) else json.dumps(sinks)
    value = value.replace("SECRET", str(secret)).replace("MISSING", str(tmp_path / "missing"))
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    result = run_spd(
        ["run", "--endpoint-url", "http://127.0.0.1:9", "--spec", str(spec)], env={"SPD_EVENT_SINKS": value}
    )
    assert result.returncode == 78, result.stderr
    assert "SPD_EVENT_SINKS" in result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_a_world_readable_secret_in_the_settings_file_is_located(tmp_path):
    secret = secret_file(tmp_path)
    secret.chmod(0o644)
    settings = tmp_path / "settings.yaml"
    settings.write_text(
        f"interval: 60\nevent_sinks:\n  - type: webhook\n    url: https://hooks.example.com/spd\n"
        f"    secret_file: {secret}\n"
    )
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    result = run_spd(
        ["run", "--settings", str(settings), "--endpoint-url", "http://127.0.0.1:9", "--spec", str(spec)]
    )
    assert result.returncode == 78, result.stderr
    assert f"{settings}:3:" in result.stderr
    assert "is readable by every user" in result.stderr
    assert "Traceback" not in result.stderr
