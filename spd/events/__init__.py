"""Facts the reconciler reports while it works, as plain data.

The core never logs: it hands each `Event` to a callback. The daemon turns every event into one
structured log line (the event name is the log event); the CLI turns them into progress output. The
names and fields are part of the product contract: `spd.events.log_events` lists every log event, and the
manual's log-events page (docs/reference/log-events.md) is generated from it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

DRIFT_DETECTED = "drift_detected"
PROCESSOR_ADOPTED = "processor_adopted"
PROCESSOR_CREATED = "processor_created"
PROCESSOR_UPDATED = "processor_updated"
PROCESSOR_REPLACED = "processor_replaced"
PROCESSOR_STARTED = "processor_started"
PROCESSOR_STOPPED = "processor_stopped"
PROCESSOR_DELETED = "processor_deleted"
PROCESSOR_FAILED = "processor_failed"
PROCESSOR_CONFLICT = "processor_conflict"
PROCESSOR_BLOCKED = "processor_blocked"
PROCESSOR_ERROR = "processor_error"
OWNERSHIP_LOST = "ownership_lost"
MUTATION_REFUSED = "mutation_refused"
"""A mutating call not made: this daemon is no longer (safely) the lease holder."""
LEADER_ACQUIRED = "leader_acquired"
LEADER_LOST = "leader_lost"
LEASE_ERROR = "lease_error"
SHARD_ACQUIRED = "shard_acquired"
"""`ha.mode: shards`: this daemon took a shard's lease (free, or expired) and works on its processors."""
SHARD_RELEASED = "shard_released"
"""`ha.mode: shards`: this daemon gave a shard up (beyond its fair share, gone from the spec, shutdown)."""
SHARD_LOST = "shard_lost"
"""`ha.mode: shards`: a shard's lease was lost (renewal refused, or its safe part of the lease passed)."""
RESTART_DEFERRED = "restart_deferred"
RECONCILE_COMPLETED = "reconcile_completed"
STATUS_SWEEP_COMPLETED = "status_sweep_completed"
TARGET_FAILED = "target_failed"
"""A declared target could not be read (its role not assumed, unreachable): once per pass, with why."""
SESSION_STARTED = "session_started"
SESSION_COALESCED = "session_coalesced"
SESSION_REFUSED = "session_refused"
SESSION_LEDGER_FAILED = "session_ledger_failed"
"""A trigger's outcome could not be written to the session ledger (an intent row then stays, counted)."""
SESSION_WINDOW_OPENED = "session_window_opened"
SESSION_WINDOW_CLOSED = "session_window_closed"
SESSION_COMPLETED = "session_completed"
LABELS_DETECTED = "labels_detected"


@dataclass(frozen=True, slots=True)
class Event:
    name: str
    fields: dict[str, Any] = field(default_factory=dict)

    @property
    def level(self) -> str:
        if self.name in (PROCESSOR_ERROR, PROCESSOR_FAILED, TARGET_FAILED, SESSION_LEDGER_FAILED):
            return "error"
        if self.name in (
            DRIFT_DETECTED,
            PROCESSOR_CONFLICT,
            PROCESSOR_BLOCKED,
            RESTART_DEFERRED,
            OWNERSHIP_LOST,
            SESSION_REFUSED,
            MUTATION_REFUSED,
            LEADER_LOST,
            LEASE_ERROR,
            SHARD_LOST,
        ):
            return "warning"
        return "info"


EventSink = Callable[[Event], None]


def discard(_: Event) -> None:
    """An event sink that drops everything (for callers that only want the result)."""
