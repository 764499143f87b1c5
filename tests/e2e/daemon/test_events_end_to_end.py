"""Events in and out, end to end, with nothing built by hand: `spd emulator` emits its own CloudTrail events,
an EventBridge rule (created with boto3 against the emulator) routes them to an SQS queue, `spd run`
(interval 300 s) watches that queue and publishes to a signed webhook, and `spd history` reads what it kept.

An out-of-band change (labels changed with boto3) must be repaired through the watch; the receiver must get
signed CloudEvents for the drift and the repair; the daemon's own Update must come back through CloudTrail
and be dropped as its own call, so it never starts a second reconcile.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from cloudtrail import rule_fed_queue
from daemonproc import Daemon
from spd import __version__
from spdrun import home, run_spd, write_spec
from webhook_receiver import Receiver, secret_file, verify

DEBOUNCE = 0.3


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    yield r
    r.close()


def labels(client: Any, name: str) -> list[str]:
    return list(client.describe_stream_processor(Name=name)["Settings"]["ConnectedHome"]["Labels"])


def wait_labels(client: Any, name: str, expected: list[str], d: Daemon, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while labels(client, name) != expected:
        assert time.monotonic() < deadline, f"{name} still has {labels(client, name)}\n{d.dump()}"
        time.sleep(0.05)


def test_an_out_of_band_change_is_repaired_through_cloudtrail_published_signed_and_kept(
    tmp_path, emu, receiver
):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    url = rule_fed_queue(emu)
    spec = write_spec(tmp_path / "spec.yaml", [home("porch"), home("garden")], references=emu)
    history = tmp_path / "state" / "history.db"
    sinks = [{"type": "webhook", "url": receiver.url, "secret_file": str(secret_file(tmp_path))}]
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={
            "SPD_INTERVAL": "300",
            "SPD_STATUS_INTERVAL": "300",
            "SPD_WATCH_QUEUE_URL": url,
            "SPD_WATCH_DEBOUNCE": str(DEBOUNCE),
            "SPD_EVENT_SINKS": json.dumps(sinks),
            "SPD_HISTORY_FILE": str(history),
            # Own calls are logged at debug level.
            "SPD_LOG_LEVEL": "debug",
        },
    )
    try:
        marker = f"spd/{__version__} spd-stack/test-stack"
        d.wait_for("reconcile_completed")
        # The first pass created both processors: their CloudTrail events come back and are the daemon's own.
        for name in ("porch", "garden"):
            _, own = d.wait_for(
                "watch_event", processor=name, event_name="CreateStreamProcessor", outcome="own_call"
            )
            assert marker in own["user_agent"]
        assert not d.events("watch_reconciled")

        client = emu.client()
        emu.clear_stats()
        mark = len(d.lines)
        client.update_stream_processor(
            Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
        )
        wait_labels(client, "porch", ["PERSON"], d)

        # The emulator's event for the boto3 call reached the watch through the rule and the queue.
        i, seen = d.wait_for("watch_event", after=mark, processor="porch", event_name="UpdateStreamProcessor")
        assert seen["outcome"] == "queued", seen
        assert seen["ignored"] is None
        assert "spd-stack/" not in seen["user_agent"]
        j, drift = d.wait_for("drift_detected", after=i, processor="porch")
        assert drift["field"] == "connected_home.labels"
        assert (drift["observed"], drift["desired"]) == (["PET"], ["PERSON"])
        k, updated = d.wait_for("processor_updated", after=j, processor="porch")
        n, reconciled = d.wait_for("watch_reconciled", after=k, processor="porch")
        assert reconciled["done"] == ["update"]
        assert reconciled["errors"] == 0

        # The daemon's own Update comes back through CloudTrail, marked, and is dropped.
        _, own = d.wait_for(
            "watch_event", after=i + 1, processor="porch", event_name="UpdateStreamProcessor", timeout=30
        )
        assert own["outcome"] == "own_call", own
        assert own["ignored"] == "own_call"
        assert own["level"] == "debug"
        assert marker in own["user_agent"]
        # ...and starts no second reconcile: a few debounce periods later, still one of each.
        time.sleep(DEBOUNCE * 5)
        after = d.lines[mark:]
        assert [e for e in after if e.get("event") == "watch_reconciled"] == [reconciled], d.dump()
        assert [e.get("outcome") for e in after if e.get("event") == "watch_event"] == ["queued", "own_call"]
        assert emu.stats()["calls"].get("UpdateStreamProcessor") == 2  # boto3's, then the repair
        assert len(d.events("reconcile_completed")) == 1  # no full pass did it
        assert n > k

        # The webhook got both, signed.
        drifted = verify(*receiver.wait_for("io.spd.drift_detected", "us-east-1/porch"))
        assert drifted["data"]["field"] == "connected_home.labels"
        assert drifted["data"]["observed"] == ["PET"]
        repaired = verify(*receiver.wait_for("io.spd.processor_updated", "us-east-1/porch"))
        assert repaired["data"]["fields"] == updated["fields"]
        assert drifted["id"] != repaired["id"]
        assert d.stop() == 0
    finally:
        d.kill()

    listed = run_spd(
        ["history", str(spec), "--processor", "porch", "--output", "json"],
        env={"SPD_HISTORY_FILE": str(history)},
    )
    assert listed.returncode == 0, listed.stderr
    names = [e["event"] for e in json.loads(listed.stdout)]
    assert names == ["processor_created", "drift_detected", "processor_updated"], names
    text = run_spd(["history", str(spec), "--since", "1h"], env={"SPD_HISTORY_FILE": str(history)})
    assert text.returncode == 0, text.stderr
    assert 'us-east-1/porch  drift_detected  field="connected_home.labels"' in text.stdout
    assert "us-east-1/porch  processor_updated" in text.stdout
