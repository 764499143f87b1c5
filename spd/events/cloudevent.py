"""Drift and action events as CloudEvents 1.0 (structured JSON mode), and the webhook signature.

Pure: the daemon's sinks (`spd.daemon.sinks`) call `to_cloudevent` and `encode` for every event they
publish, and `sign` for webhooks; `spd.events.history` uses `is_recorded` to keep the same set of events. The
envelope is six attributes and a payload, so it is built here rather than with the `cloudevents` SDK: the
SDK's value is its HTTP bindings and its several formats, and spd needs exactly one format.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

from spd import events
from spd.events import Event

SPEC_VERSION = "1.0"
TYPE_PREFIX = "io.spd."
SIGNATURE_HEADER = "X-Spd-Signature"
CONTENT_TYPE = "application/cloudevents+json"

PASS_SUMMARIES = frozenset({events.RECONCILE_COMPLETED, events.STATUS_SWEEP_COMPLETED})
"""Events about a pass as a whole: logged and counted, but neither published nor kept in history."""


def is_recorded(event: Event) -> bool:
    """True for the drift and action events that sinks and history receive: those about one processor.

    Not the pass summaries, and not what the daemon says about itself through the same event stream
    (`leader_acquired`, `leader_lost`, `lease_error`, `target_failed`): they name no processor, so they
    would have no `subject`, and a standby would fill its history with lease news.
    """
    return event.name not in PASS_SUMMARIES and event_subject(event) is not None


def to_cloudevent(event: Event, *, stack: str, event_id: str, time: datetime) -> dict[str, Any]:
    """The CloudEvent for `event`: `type` io.spd.<name>, `source` the stack, `subject` region/processor."""
    fields = event.fields
    envelope: dict[str, Any] = {
        "specversion": SPEC_VERSION,
        "id": event_id,
        "type": TYPE_PREFIX + event.name,
        "source": stack,
        "time": time.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "datacontenttype": "application/json",
    }
    subject = event_subject(event)
    if subject is not None:
        envelope["subject"] = subject
    envelope["data"] = json_safe(fields)
    return envelope


def event_subject(event: Event) -> str | None:
    """`region/processor` when the event names both (every drift and action event does)."""
    region, name = event.fields.get("region"), event.fields.get("processor")
    if region is None or name is None:
        return None
    return f"{region}/{name}"


def json_safe(value: Any) -> Any:
    """`value` with anything JSON cannot hold (enums, tuples, paths) turned into strings or lists."""
    result: Any = json.loads(json.dumps(value, default=str))
    return result


def encode(cloudevent: dict[str, Any]) -> bytes:
    """The bytes sent and signed: compact UTF-8 JSON, keys in a fixed order."""
    return json.dumps(cloudevent, separators=(",", ":"), sort_keys=True, ensure_ascii=False).encode()


def sign(secret: bytes, body: bytes) -> str:
    """The `X-Spd-Signature` value: HMAC-SHA256 of the body under the shared secret, lower-case hex."""
    return hmac.new(secret, body, hashlib.sha256).hexdigest()
