"""What the daemon exposes on `/metrics` and `/healthz`, kept apart from how it is served.

Owned by the daemon's context (`spd.daemon.component.Context`), which feeds it every event; the passes
(`spd.daemon.pass_loop`) feed it their results, and it reads the gateway's call counters. Each daemon has its own `CollectorRegistry` (never prometheus-client's global one), so
tests can run several in one process and nothing leaks between them.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client import Counter as PromCounter
from prometheus_client.core import CounterMetricFamily
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from spd import events
from spd.aws.gateway import CallStats
from spd.daemon.passes import FULL, SWEEP
from spd.daemon.session_metrics import SessionMetrics
from spd.events import Event
from spd.model import DesiredState, Status

PASS_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0)
ABSENT = "ABSENT"
"""`spd_processors` status of a spec processor that does not exist (yet)."""

HEALTHY_INTERVALS = 3
"""`/healthz` fails once no full pass has succeeded for this many intervals."""


class _ApiCalls(Collector):
    """`spd_api_calls_total{operation,outcome}`, read from the gateway's counters at scrape time."""

    def __init__(self, stats: Callable[[], CallStats | None]) -> None:
        self._stats = stats

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(
            "spd_api_calls",
            "Rekognition API attempts by operation and outcome (ok, throttled, error), retries included.",
            labels=["operation", "outcome"],
        )
        stats = self._stats()
        if stats is not None:
            for (operation, outcome), n in sorted(stats.outcomes.items()):
                family.add_metric([operation, outcome], float(n))
        yield family


class _NotifyDropped(Collector):
    """`spd_notify_dropped_total`, read from the notifier's counter at scrape time."""

    def __init__(self, dropped: Callable[[], int]) -> None:
        self._dropped = dropped

    def collect(self) -> Iterable[CounterMetricFamily]:
        yield CounterMetricFamily(
            "spd_notify_dropped",
            "sd_notify messages dropped because the socket could not take them at once (never waited for).",
            value=float(self._dropped()),
        )


class SinkCounts(Protocol):
    """What `spd.daemon.sinks.EventSinks` counts, as read at scrape time."""

    delivered: Counter[str]
    dropped: Counter[tuple[str, str]]


class _SinkDeliveries(Collector):
    """`spd_sink_delivered_total{sink}` and `spd_sink_dropped_total{sink,reason}`."""

    def __init__(self, sinks: Callable[[], SinkCounts | None]) -> None:
        self._sinks = sinks

    def collect(self) -> Iterable[CounterMetricFamily]:
        delivered = CounterMetricFamily(
            "spd_sink_delivered", "Events delivered to each event sink.", labels=["sink"]
        )
        dropped = CounterMetricFamily(
            "spd_sink_dropped",
            "Events an event sink never got, by reason (queue_full, retries_exhausted, shutdown).",
            labels=["sink", "reason"],
        )
        sinks = self._sinks()
        if sinks is not None:
            for sink, n in sorted(sinks.delivered.items()):
                delivered.add_metric([sink], float(n))
            for (sink, reason), n in sorted(sinks.dropped.items()):
                dropped.add_metric([sink, reason], float(n))
        yield delivered
        yield dropped


class DaemonMetrics:
    """Prometheus metrics of one daemon, in its own registry."""

    def __init__(
        self,
        *,
        stats: Callable[[], CallStats | None],
        notify_dropped: Callable[[], int] = lambda: 0,
        sinks: Callable[[], SinkCounts | None] = lambda: None,
        wall: Callable[[], float] = time.time,
        spec: Callable[[], DesiredState | None] = lambda: None,
    ):
        """`spec`: the running spec, whose processor and target names are the only values of those
        labels (`spd.daemon.session_metrics`); the daemon always passes it."""
        self._wall = wall
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._add_pass_metrics(r)
        self.processors = Gauge(
            "spd_processors",
            "Processors of the spec by observed status (ABSENT: not created yet).",
            ["status"],
            registry=r,
        )
        self.spec_processors = Gauge("spd_spec_processors", "Processors the spec declares.", registry=r)
        self.drifted = Gauge(
            "spd_drifted_processors",
            "Processors found drifted by the last pass of this kind.",
            ["kind"],
            registry=r,
        )
        self.drift = PromCounter(
            "spd_drift", "drift_detected events, by drifted field.", ["field"], registry=r
        )
        self.events = PromCounter("spd_events", "Log events emitted, by event name.", ["event"], registry=r)
        self.reloads = PromCounter(
            "spd_config_reloads", "SIGHUP reloads, by outcome (ok, failed).", ["outcome"], registry=r
        )
        self.leader = Gauge(
            "spd_leader",
            "1 while this daemon holds the lease and reconciles (always, without ha.table); 0 as standby.",
            registry=r,
        )
        self.leader.set(1)
        self.shards_held = Gauge(
            "spd_shards_held",
            "Under ha.mode shards: how many shard leases this daemon holds (0 in the other modes).",
            registry=r,
        )
        self.sessions = SessionMetrics(r, spec)
        r.register(_ApiCalls(stats))
        r.register(_NotifyDropped(notify_dropped))
        r.register(_SinkDeliveries(sinks))
        ProcessCollector(registry=r)
        for kind in (FULL, SWEEP):
            for outcome in ("ok", "failed"):
                self.passes.labels(kind, outcome)
        for status in (*Status, ABSENT):
            self.processors.labels(str(status)).set(0)

    def _add_pass_metrics(self, r: CollectorRegistry) -> None:
        """The passes' duration, count and last success, by kind."""
        self.pass_duration = Histogram(
            "spd_pass_duration_seconds",
            "Duration of full reconcile passes and status sweeps.",
            ["kind"],
            buckets=PASS_BUCKETS,
            registry=r,
        )
        self.passes = PromCounter(
            "spd_passes", "Passes run, by kind and outcome (ok, failed).", ["kind", "outcome"], registry=r
        )
        self.last_success = Gauge(
            "spd_last_success_timestamp_seconds",
            "Unix time the last pass of this kind succeeded.",
            ["kind"],
            registry=r,
        )

    def event(self, event: Event) -> None:
        self.events.labels(event.name).inc()
        self.sessions.event(event)
        if event.name == events.DRIFT_DETECTED:
            self.drift.labels(str(event.fields.get("field", "unknown"))).inc()

    def pass_succeeded(self, kind: str, *, duration: float, drifted: int) -> None:
        self.pass_duration.labels(kind).observe(duration)
        self.passes.labels(kind, "ok").inc()
        self.last_success.labels(kind).set(self._wall())
        self.drifted.labels(kind).set(drifted)

    def pass_failed(self, kind: str, *, duration: float) -> None:
        self.pass_duration.labels(kind).observe(duration)
        self.passes.labels(kind, "failed").inc()

    def spec_statuses(self, statuses: Mapping[str, int]) -> None:
        """Replace the status breakdown of the spec's processors (counts by status name)."""
        for status in (*Status, ABSENT):
            self.processors.labels(str(status)).set(statuses.get(str(status), 0))

    def render(self) -> bytes:
        return generate_latest(self.registry)


def count_statuses(statuses: Iterable[Status | None]) -> dict[str, int]:
    """Counts by status name, None counted as ABSENT."""
    return dict(Counter(ABSENT if s is None else str(s) for s in statuses))


@dataclass
class Health:
    """`/healthz`: healthy while a full pass succeeded within `HEALTHY_INTERVALS` intervals and every
    queue reader still runs (one that stopped leaves its queue unread until a restart: unhealthy on a
    leader and a standby alike, with each stopped reader named and why)."""

    interval: float
    clock: Callable[[], float] = time.monotonic
    last_success: float | None = None
    last_error: str | None = None
    consecutive_failures: int = 0
    lease: Callable[[], dict[str, Any]] | None = None
    """With `ha.table`: the lease's state (`spd.daemon.leader.Leadership.describe`)."""
    shards: Callable[[], dict[str, Any]] | None = None
    """Under `ha.mode: shards`: the shards held and members seen (`spd.daemon.shards.ShardKeeper.describe`)."""
    stopped_readers: Callable[[], Mapping[str, str]] | None = None
    """The queue readers that stopped by themselves, by name, and why."""

    def succeeded(self) -> None:
        self.last_success = self.clock()
        self.last_error = None
        self.consecutive_failures = 0

    def failed(self, error: str) -> None:
        self.last_error = error
        self.consecutive_failures += 1

    def check(self) -> tuple[int, dict[str, Any]]:
        """(HTTP status, JSON body)."""
        code, body = self._passes()
        stopped = dict(self.stopped_readers()) if self.stopped_readers is not None else {}
        if stopped:
            body.update(status="reader_stopped", stopped_readers=stopped)
            return 503, body
        return code, body

    def _passes(self) -> tuple[int, dict[str, Any]]:
        body: dict[str, Any] = {
            "interval": self.interval,
            "consecutive_failures": self.consecutive_failures,
            "last_error": self.last_error,
        }
        if self.shards is not None:
            shards = self.shards()
            body.update(role="shards", shards=shards)
            if shards.get("lease_error"):
                # It cannot renew or take a shard: it holds none, so it does nothing.
                body.update(status="lease_error", last_success_age_seconds=None)
                return 503, body
        if self.lease is not None:
            lease = self.lease()
            body.update(role=lease["role"], lease=lease)
            if lease["role"] != "leader":
                # A standby is healthy while it can watch the lease; one that cannot could never take over.
                body.update(status="standby", last_success_age_seconds=None)
                return (503 if lease.get("lease_error") else 200), body
        if self.last_success is None:
            body.update(status="starting", last_success_age_seconds=None)
            return 503, body
        age = self.clock() - self.last_success
        healthy = age <= HEALTHY_INTERVALS * self.interval
        body.update(status="ok" if healthy else "stale", last_success_age_seconds=round(age, 3))
        return (200 if healthy else 503), body

    def render(self) -> tuple[int, bytes]:
        code, body = self.check()
        return code, (json.dumps(body) + "\n").encode()
