"""The connected-home session metrics of `/metrics`, counted from the daemon's events.

Fed by `spd.daemon.metrics.DaemonMetrics.event` with every event the daemon sees, whatever produced it:
the trigger paths' `session_started`/`session_coalesced`/`session_refused` (HTTP, the trigger queue,
windows, any later source: keyed by the event's own `processor`, `trigger` and `outcome` fields) and
the results reader's `session_completed`/`labels_detected` (`spd.daemon.session_results`), which are
emitted once per notification, never for a redelivery, so nothing here is counted twice.

Label values are bounded, so what arrives on a queue or over HTTP cannot grow `/metrics` without end:
`processor` and `target` are the spec's names (and `unknown`, a notification that names no processor),
`label` the connected-home labels the API defines (`spd.api.rules.CONNECTED_HOME_LABELS`); any other
value is counted under `other`. `trigger` and `outcome` come from code (the trigger source, the start
path's outcome), never from input.
"""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter

from spd import events
from spd.api.rules import CONNECTED_HOME_LABELS
from spd.daemon.session_results import UNKNOWN_PROCESSOR
from spd.events import LABELS_DETECTED, SESSION_COMPLETED, Event
from spd.model import AMBIENT_TARGET, DesiredState

OUTCOME_OF = {
    events.SESSION_STARTED: "started",
    events.SESSION_COALESCED: "coalesced",
    events.SESSION_REFUSED: "refused",
}
OTHER = "other"
"""The label value of any processor, target or label name outside the bounded set."""
_LABELS = frozenset(CONNECTED_HOME_LABELS)


class SpecNames:
    """The processor and target names a spec declares, recomputed only when the spec object changes
    (a reload), not per event."""

    def __init__(self, spec: Callable[[], DesiredState | None]) -> None:
        self._spec = spec
        self._seen: DesiredState | None = None
        self._processors: frozenset[str] = frozenset()
        self._targets: frozenset[str] = frozenset()

    def _current(self) -> DesiredState | None:
        desired = self._spec()
        if desired is not None and desired is not self._seen:
            self._seen = desired
            self._processors = frozenset({p.id.name for p in desired.processors} | {UNKNOWN_PROCESSOR})
            self._targets = frozenset(
                {p.id.target for p in desired.processors}
                | {t.name for t in desired.targets}
                | {AMBIENT_TARGET}
            )
        return desired

    def processor(self, name: str) -> str:
        if self._current() is None:
            return name
        return name if name in self._processors else OTHER

    def target(self, name: str) -> str:
        if self._current() is None:
            return name
        return name if name in self._targets else OTHER


class SessionMetrics:
    """`spd_sessions_total`, `spd_session_video_seconds_total`, `spd_labels_detected_total`."""

    def __init__(
        self, registry: CollectorRegistry, spec: Callable[[], DesiredState | None] = lambda: None
    ) -> None:
        """`spec`: the running spec, whose names bound the `processor` and `target` values; None (a
        collector tested on its own, without a daemon) keeps every name as given."""
        self._names = SpecNames(spec)
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
        processor = self._names.processor(str(fields.get("processor") or UNKNOWN_PROCESSOR))
        target = self._names.target(str(fields.get("target") or AMBIENT_TARGET))
        if event.name in OUTCOME_OF:
            outcome = str(fields.get("outcome") or OUTCOME_OF[event.name])
            self.sessions.labels(processor, target, str(fields.get("trigger") or "unknown"), outcome).inc()
        elif event.name == SESSION_COMPLETED:
            seconds = fields.get("processed_seconds")
            if isinstance(seconds, int | float) and not isinstance(seconds, bool) and seconds >= 0:
                self.video_seconds.labels(processor, target).inc(seconds)
        elif event.name == LABELS_DETECTED:
            for label in fields.get("labels") or ():
                name = str(label)
                self.labels.labels(processor, target, name if name in _LABELS else OTHER).inc()
