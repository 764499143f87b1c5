"""/healthz rules, the metric families, and the HTTP responder over a real socket."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

from spd.aws.gateway import CallStats
from spd.daemon.http import serve
from spd.daemon.metrics import DaemonMetrics, Health, count_statuses
from spd.events import Event
from spd.model import Status


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_health_is_starting_until_a_pass_succeeds_then_stale_after_three_intervals():
    clock = FakeClock()
    health = Health(interval=10, clock=clock)
    code, body = health.check()
    assert (code, body["status"]) == (503, "starting")
    health.succeeded()
    clock.now += 30
    assert health.check()[0] == 200
    health.failed("cannot reach the Rekognition endpoint")
    health.failed("cannot reach the Rekognition endpoint")
    clock.now += 0.5
    code, body = health.check()
    assert code == 503
    assert body["status"] == "stale"
    assert body["consecutive_failures"] == 2
    assert body["last_error"] == "cannot reach the Rekognition endpoint"
    health.succeeded()
    assert health.check() == (
        200,
        {
            "interval": 10,
            "consecutive_failures": 0,
            "last_error": None,
            "status": "ok",
            "last_success_age_seconds": 0.0,
        },
    )


def test_metric_families():
    stats = CallStats(
        calls=Counter({"ListStreamProcessors": 3}),
        outcomes=Counter({("ListStreamProcessors", "ok"): 2, ("ListStreamProcessors", "throttled"): 1}),
    )
    metrics = DaemonMetrics(stats=lambda: stats, wall=lambda: 1_700_000_000.0)
    metrics.event(Event("drift_detected", {"processor": "lobby", "field": "status"}))
    metrics.event(Event("processor_started", {"processor": "lobby"}))
    metrics.pass_succeeded("reconcile", duration=1.5, drifted=1)
    metrics.pass_failed("status_sweep", duration=0.1)
    metrics.spec_statuses(count_statuses([Status.RUNNING, Status.RUNNING, Status.FAILED, None]))
    text = metrics.render().decode()
    for line in (
        'spd_api_calls_total{operation="ListStreamProcessors",outcome="ok"} 2.0',
        'spd_api_calls_total{operation="ListStreamProcessors",outcome="throttled"} 1.0',
        'spd_drift_total{field="status"} 1.0',
        'spd_events_total{event="processor_started"} 1.0',
        'spd_passes_total{kind="reconcile",outcome="ok"} 1.0',
        'spd_passes_total{kind="status_sweep",outcome="failed"} 1.0',
        'spd_pass_duration_seconds_count{kind="reconcile"} 1.0',
        'spd_last_success_timestamp_seconds{kind="reconcile"} 1.7e+09',
        'spd_drifted_processors{kind="reconcile"} 1.0',
        'spd_processors{status="RUNNING"} 2.0',
        'spd_processors{status="FAILED"} 1.0',
        'spd_processors{status="ABSENT"} 1.0',
        'spd_processors{status="STOPPED"} 0.0',
        "spd_leader 1.0",
    ):
        assert line in text, line


def test_each_daemon_has_its_own_registry():
    a = DaemonMetrics(stats=lambda: None)
    b = DaemonMetrics(stats=lambda: None)
    a.pass_succeeded("reconcile", duration=1, drifted=0)
    assert 'spd_passes_total{kind="reconcile",outcome="ok"} 1.0' in a.render().decode()
    assert 'spd_passes_total{kind="reconcile",outcome="ok"} 0.0' in b.render().decode()


async def _request(port: int, raw: bytes) -> tuple[str, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(raw)
    await writer.drain()
    data = await reader.read()
    writer.close()
    head, _, body = data.partition(b"\r\n\r\n")
    status, *header_lines = head.decode().split("\r\n")
    headers = dict(line.split(": ", 1) for line in header_lines)
    return status, headers, body


async def test_http_responder():
    health = Health(interval=10)

    def healthz():
        code, body = health.render()
        return code, "application/json", body

    routes = {
        "/healthz": healthz,
        "/metrics": lambda: (200, "text/plain", b"spd_up 1\n"),
        "/broken": lambda: 1 / 0,
    }
    listening = await serve("127.0.0.1:0", routes)
    try:
        port = listening.port
        assert port > 0
        status, headers, body = await _request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        assert status == "HTTP/1.1 503 Service Unavailable"
        assert headers["Content-Type"] == "application/json"
        assert json.loads(body)["status"] == "starting"
        assert int(headers["Content-Length"]) == len(body)
        health.succeeded()
        status, _, body = await _request(port, b"GET /healthz?verbose=1 HTTP/1.1\r\n\r\n")
        assert status.startswith("HTTP/1.1 200")
        status, _, body = await _request(port, b"HEAD /metrics HTTP/1.1\r\n\r\n")
        assert status.startswith("HTTP/1.1 200")
        assert body == b""
        status, _, _ = await _request(port, b"GET /nope HTTP/1.1\r\n\r\n")
        assert status.startswith("HTTP/1.1 404")
        status, _, _ = await _request(port, b"POST /metrics HTTP/1.1\r\n\r\n")
        assert status.startswith("HTTP/1.1 405")
        status, _, _ = await _request(port, b"garbage\r\n\r\n")
        assert status.startswith("HTTP/1.1 400")
        status, _, _ = await _request(port, b"GET /broken HTTP/1.1\r\n\r\n")
        assert status.startswith("HTTP/1.1 500")
    finally:
        listening.server.close()
        await listening.server.wait_closed()


def test_healthz_under_shards_names_the_shards_and_is_503_while_the_table_is_unusable() -> None:
    now = [100.0]
    view = {"held": ["t00", "t03"], "members": ["a", "b"], "lease_error": None}
    health = Health(interval=10, clock=lambda: now[0], shards=lambda: dict(view))
    health.succeeded()
    code, body = health.check()
    assert (code, body["role"], body["status"]) == (200, "shards", "ok")
    assert body["shards"]["held"] == ["t00", "t03"]
    view["lease_error"] = "access denied to lease table 'spd-leases'"
    code, body = health.check()
    assert (code, body["status"]) == (503, "lease_error")
    assert body["shards"]["lease_error"].startswith("access denied")
