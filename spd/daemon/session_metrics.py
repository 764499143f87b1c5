"""The connected-home session metrics of `/metrics`, counted from the daemon's events.

Fed by `spd.daemon.metrics.DaemonMetrics.event` with every event the daemon sees, whatever produced it:
the trigger paths' `session_started`/`session_coalesced`/`session_refused` (HTTP, the trigger queue,
windows, any later source: keyed by the event's own `processor`, `trigger` and `outcome` fields) and
the results reader's `session_completed`/`labels_detected` (`spd.daemon.session_results`), which are
emitted once per notification, never for a redelivery, so nothing here is counted twice.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter

from spd import events
from spd.daemon.session_results import UNKNOWN_PROCESSOR
from spd.events import LABELS_DETECTED, SESSION_COMPLETED, Event

OUTCOME_OF = {
    events.SESSION_STARTED: "started",
    events.SESSION_COALESCED: "coalesced",
    events.SESSION_REFUSED: "refused",
}


class SessionMetrics:
    """`spd_sessions_total`, `spd_session_video_seconds_total`, `spd_labels_detected_total`."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.sessions = PromCounter(
            "spd_sessions",
            "Session triggers by processor, trigger source and outcome (started, coalesced, refused).",
            ["processor", "target", "trigger", "outcome"],
            registry=registry,
        )
        self.video_seconds = PromCounter(
            "spd_session_video_seconds",
            "Seconds of video analysed in sessions, from their STREAM_PROCESSING_COMPLETE notifications.",
            ["processor", "target"],
            registry=registry,
        )
        self.labels = PromCounter(
            "spd_labels_detected",
            "Labels detected in sessions, from LABEL_DETECTED notifications (one per label per session).",
            ["processor", "target", "label"],
            registry=registry,
        )

    def event(self, event: Event) -> None:
        fields = event.fields
        processor = str(fields.get("processor") or UNKNOWN_PROCESSOR)
        target = str(fields.get("target") or "")
        if event.name in OUTCOME_OF:
            outcome = str(fields.get("outcome") or OUTCOME_OF[event.name])
            self.sessions.labels(processor, target, str(fields.get("trigger") or "unknown"), outcome).inc()
        elif event.name == SESSION_COMPLETED:
            seconds = fields.get("processed_seconds")
            if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
                self.video_seconds.labels(processor, target).inc(seconds)
        elif event.name == LABELS_DETECTED:
            for label in fields.get("labels") or ():
                self.labels.labels(processor, target, str(label)).inc()
