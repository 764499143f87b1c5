"""Drift and action events as CloudEvents 1.0, and the webhook signature."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime, timedelta, timezone

from spd import events
from spd.events import Event
from spd.events.cloudevent import encode, is_recorded, sign, to_cloudevent

AT = datetime(2026, 11, 26, 13, 0, 0, 250000, tzinfo=timezone(timedelta(hours=1)))


def test_a_drift_event_becomes_a_cloudevent():
    event = Event(
        events.DRIFT_DETECTED,
        {"processor": "porch", "region": "eu-west-1", "field": "connected_home.labels", "observed": ("PET",)},
    )
    cloudevent = to_cloudevent(event, stack="lobby", event_id="e-1", time=AT)
    assert cloudevent == {
        "specversion": "1.0",
        "id": "e-1",
        "type": "io.spd.drift_detected",
        "source": "lobby",
        "subject": "eu-west-1/porch",
        "time": "2026-11-26T12:00:00.250000Z",
        "datacontenttype": "application/json",
        "data": {
            "processor": "porch",
            "region": "eu-west-1",
            "field": "connected_home.labels",
            "observed": ["PET"],
        },
    }
    assert json.loads(encode(cloudevent)) == cloudevent


def test_an_event_without_a_processor_has_no_subject():
    cloudevent = to_cloudevent(Event("something", {}), stack="lobby", event_id="e-2", time=AT)
    assert "subject" not in cloudevent


def test_the_signature_is_the_hex_hmac_sha256_of_the_body():
    body = encode(to_cloudevent(Event(events.PROCESSOR_STARTED, {}), stack="s", event_id="1", time=AT))
    assert sign(b"key", body) == hmac.new(b"key", body, hashlib.sha256).hexdigest()
    assert sign(b"key", body) != sign(b"other", body)


def test_only_events_about_processors_are_recorded():
    porch = {"processor": "porch", "region": "us-east-1"}
    assert is_recorded(Event(events.DRIFT_DETECTED, porch))
    assert is_recorded(Event(events.PROCESSOR_UPDATED, porch))
    assert is_recorded(Event(events.OWNERSHIP_LOST, porch))
    assert is_recorded(Event(events.MUTATION_REFUSED, porch))
    assert not is_recorded(Event(events.RECONCILE_COMPLETED, {"processors": 1}))
    assert not is_recorded(Event(events.STATUS_SWEEP_COMPLETED, {"processors": 1}))


def test_what_the_daemon_says_about_its_lease_and_targets_is_not_recorded():
    # A daemon under `ha` reports its lease through the same event stream as drift; a standby would
    # otherwise fill its history (and every sink) with lease news about no processor.
    lease = {"lease": "lobby-cams", "holder": "host-a:1"}
    assert not is_recorded(Event(events.LEADER_ACQUIRED, {**lease, "how": "lease was free"}))
    assert not is_recorded(Event(events.LEADER_LOST, {**lease, "reason": "released on shutdown"}))
    assert not is_recorded(Event(events.LEASE_ERROR, {"operation": "read", "error": "denied"}))
    assert not is_recorded(Event(events.TARGET_FAILED, {"target": "prod", "error": "no role"}))
