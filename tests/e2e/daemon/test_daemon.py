"""`spd run` as a real subprocess against the emulator over HTTP: drift repair, signals, sd_notify, health.

Out-of-band changes are made the way an operator would, with boto3 against the emulator's endpoint.
"""

from __future__ import annotations

import re
import signal
import socket
import threading
from datetime import datetime
from pathlib import Path

import pytest

from daemonproc import alive
from spdrun import face, home, wait_status, write_spec

ACTIVE = {"STARTING", "RUNNING"}


@pytest.fixture
def fast_emu(emu):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    return emu


def _run_args(emu, spec: Path) -> list[str]:
    return ["--endpoint-url", emu.url, "--spec", str(spec)]


def test_processor_stopped_by_hand_is_restarted_by_the_status_sweep(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    # Full passes an hour apart: only a status sweep can notice the stop.
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_INTERVAL": "3600"})
    d.wait_for("reconcile_completed")
    client = fast_emu.client()
    wait_status(client, "lobby", {"RUNNING"})

    mark = len(d.lines)
    client.stop_stream_processor(Name="lobby")
    i, drift = d.wait_for("drift_detected", after=mark, processor="lobby", field="status")
    assert drift["source"] == "status_sweep"
    assert drift["desired"] == "RUNNING"
    assert drift["observed"] in ("STOPPING", "STOPPED")
    assert drift["region"] == "us-east-1"
    assert drift["level"] == "warning"
    d.wait_for("processor_started", after=i, processor="lobby")
    _, sweep = d.wait_for("status_sweep_completed", after=i)
    assert sweep["started"] == 1
    assert wait_status(client, "lobby", ACTIVE)
    assert len(d.events("reconcile_completed")) == 1
    assert d.stop() == 0


def test_label_change_by_hand_is_reverted_by_the_next_full_pass(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch", labels=["PERSON"])], references=fast_emu)
    d = daemons(*_run_args(fast_emu, spec))
    _, first = d.wait_for("reconcile_completed")
    assert first["errors"] == 0
    client = fast_emu.client()
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] == ["PERSON"]

    mark = len(d.lines)
    client.update_stream_processor(
        Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
    )
    i, drift = d.wait_for("drift_detected", after=mark, processor="porch", field="connected_home.labels")
    assert drift["observed"] == ["PET"]
    assert drift["desired"] == ["PERSON"]
    d.wait_for("processor_updated", after=i, processor="porch")
    _, done = d.wait_for("reconcile_completed", after=i)
    assert done["drifted"] == 1
    assert done["errors"] == 0
    assert done["api_calls"] > 0
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] == ["PERSON"]

    # Health and metrics of a daemon whose passes succeed.
    code, body = d.get("/healthz")
    assert code == 200, body
    assert '"status": "ok"' in body
    code, metrics = d.get("/metrics")
    assert code == 200
    assert re.search(r'spd_api_calls_total\{operation="ListStreamProcessors",outcome="ok"\} [1-9]', metrics)
    assert re.search(r'spd_drift_total\{field="connected_home.labels"\} [1-9]', metrics)
    assert re.search(r'spd_passes_total\{kind="reconcile",outcome="ok"\} [1-9]', metrics)
    assert 'spd_processors{status="STOPPED"} 1.0' in metrics
    assert "spd_last_success_timestamp_seconds" in metrics
    assert "spd_pass_duration_seconds_bucket" in metrics
    assert d.stop() == 0


def test_sighup_applies_a_new_spec(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_INTERVAL": "3600"})
    d.wait_for("reconcile_completed")
    write_spec(spec, [face("lobby"), face("garage", desired_state="stopped")], references=fast_emu)
    mark = len(d.lines)
    d.signal(signal.SIGHUP)
    i, reloaded = d.wait_for("config_reloaded", after=mark)
    assert reloaded["processors"] == 2
    # Applied at once, not an hour later.
    d.wait_for("processor_created", after=i, processor="garage")
    d.wait_for("reconcile_completed", after=i)
    assert fast_emu.client().describe_stream_processor(Name="garage")["Status"] == "STOPPED"
    assert d.stop() == 0


def test_sighup_with_a_broken_spec_keeps_the_old_one_running(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_INTERVAL": "3600"})
    d.wait_for("reconcile_completed")
    text = spec.read_text()
    spec.write_text(text.replace("face_match_threshold:", "face_match_treshold:"))
    mark = len(d.lines)
    d.signal(signal.SIGHUP)
    i, failed = d.wait_for("config_reload_failed", after=mark)
    assert failed["level"] == "error"
    assert failed["source"] == "spec"
    assert failed["errors"], failed
    assert all(re.match(rf"{re.escape(str(spec))}:\d+:\d+: ", e) for e in failed["errors"]), failed["errors"]
    assert any("face_match_treshold" in e for e in failed["errors"])

    # Still running, still holding the fleet to the old spec.
    client = fast_emu.client()
    wait_status(client, "lobby", {"RUNNING"})
    client.stop_stream_processor(Name="lobby")
    d.wait_for("processor_started", after=i, processor="lobby")
    assert alive(d.pid)
    assert d.stop() == 0


def test_sigterm_lets_the_pass_in_flight_finish_and_exits_0(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face(f"cam-{i}") for i in range(4)], references=fast_emu)
    fast_emu.configure(latency_ms=150)
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_CONCURRENCY": "1", "SPD_GRACE_PERIOD": "30"})
    d.wait_for("processor_created", processor="cam-0")
    d.signal(signal.SIGTERM)
    i, stopping = d.wait_for("shutdown_started")
    assert stopping["in_flight"] == "reconcile"
    assert stopping["signal"] == "SIGTERM"
    d.wait_for("reconcile_completed", after=i)
    d.wait_for("daemon_stopped", after=i)
    assert d.wait(timeout=40) == 0
    assert not d.events("pass_abandoned")


def test_sigterm_abandons_a_pass_that_outlives_the_grace_period(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face(f"cam-{i}") for i in range(20)], references=fast_emu)
    fast_emu.configure(latency_ms=300)
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_CONCURRENCY": "1", "SPD_GRACE_PERIOD": "0.5"})
    d.wait_for("processor_created", processor="cam-0")
    d.signal(signal.SIGINT)
    _, abandoned = d.wait_for("pass_abandoned")
    assert abandoned["kind"] == "reconcile"
    assert d.wait(timeout=20) == 0
    assert not d.events("reconcile_completed")


def test_invalid_spec_at_start_exits_78_with_located_errors(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("bad name!")], references=fast_emu)
    d = daemons(*_run_args(fast_emu, spec))
    assert d.wait(timeout=30) == 78
    assert re.search(rf"^{re.escape(str(spec))}:\d+:\d+: ", d.stderr, re.M), d.stderr
    _, line = d.wait_for("config_invalid")
    assert line["source"] == "spec"
    assert line["errors"]
    assert "Traceback" not in d.stderr


def test_invalid_settings_at_start_exit_78(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_INTERVAL": "-1"})
    assert d.wait(timeout=30) == 78
    assert "SPD_INTERVAL: Input should be greater than 0" in d.stderr
    _, line = d.wait_for("config_invalid")
    assert line["source"] == "settings"


def _too_deep(levels: int = 500) -> str:
    return "".join("  " * i + "a:\n" for i in range(levels))


def test_a_spec_nested_too_deep_at_start_is_config_invalid_and_exit_78(tmp_path, fast_emu, daemons):
    spec = tmp_path / "spec.yaml"
    spec.write_text(_too_deep())
    d = daemons(*_run_args(fast_emu, spec))
    assert d.wait(timeout=30) == 78
    _, line = d.wait_for("config_invalid")
    assert line["source"] == "spec"
    assert line["errors"] == [
        f"{spec}:65:129: nesting deeper than 64 levels of collections; spd refuses deeper YAML"
    ]
    assert "Traceback" not in d.stderr
    assert "RecursionError" not in d.stderr


def test_sighup_with_a_spec_or_settings_nested_too_deep_keeps_running(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    settings = tmp_path / "settings.yaml"
    settings.write_text("interval: 3600\n")
    d = daemons(*_run_args(fast_emu, spec), "--settings", str(settings))
    d.wait_for("reconcile_completed")
    good = spec.read_text()

    spec.write_text(_too_deep())
    mark = len(d.lines)
    d.signal(signal.SIGHUP)
    _, failed = d.wait_for("config_reload_failed", after=mark)
    assert failed["source"] == "spec"
    assert failed["errors"] == [
        f"{spec}:65:129: nesting deeper than 64 levels of collections; spd refuses deeper YAML"
    ]

    spec.write_text(good)
    settings.write_text(_too_deep())
    mark = len(d.lines)
    d.signal(signal.SIGHUP)
    _, failed = d.wait_for("config_reload_failed", after=mark)
    assert failed["source"] == "settings"
    assert failed["errors"] == [
        f"{settings}:65:129: nesting deeper than 64 levels of collections; spd refuses deeper YAML"
    ]

    settings.write_text("interval: 3600\n")
    mark = len(d.lines)
    d.signal(signal.SIGHUP)
    d.wait_for("config_reloaded", after=mark)
    assert alive(d.pid)
    assert d.stop() == 0
    assert "Traceback" not in d.stderr


def test_metrics_port_in_use_exits_1_with_a_clear_error(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        d = daemons(*_run_args(fast_emu, spec), env={"SPD_METRICS_ADDRESS": address})
        assert d.wait(timeout=30) == 1
    assert f"cannot listen on {address}" in d.stderr
    assert "Traceback" not in d.stderr
    _, line = d.wait_for("daemon_failed")
    assert line["level"] == "error"


def test_unreachable_endpoint_is_logged_retried_and_unhealthy(tmp_path, daemons):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again when the block ends: nothing listens there
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")])
    d = daemons(
        "--endpoint-url", f"http://127.0.0.1:{port}", "--spec", str(spec),
        env={"SPD_INTERVAL": "0.5", "SPD_MAX_ATTEMPTS": "1"},
    )  # fmt: skip
    i, failed = d.wait_for("reconcile_failed")
    assert failed["level"] == "error"
    assert "cannot reach" in failed["error"]
    _, again = d.wait_for("reconcile_failed", after=i + 1)
    assert again["consecutive_failures"] >= 2
    code, body = d.get("/healthz")
    assert code == 503
    assert '"consecutive_failures"' in body
    assert re.search(r'spd_passes_total\{kind="reconcile",outcome="failed"\} [1-9]', d.get("/metrics")[1])
    assert d.stop() == 0


def test_failed_processor_is_restarted_with_backoff(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_INTERVAL": "3600"})
    d.wait_for("reconcile_completed")
    wait_status(fast_emu.client(), "lobby", {"RUNNING"})

    # From here on a restarted processor stays STARTING, and is failed again there, like one whose role
    # is still broken; no sweep sees it RUNNING (which would rightly forget its failures).
    fast_emu.configure(start_seconds=60)
    fast_emu.fail("lobby", "Access denied to Role")
    i, first = d.wait_for("processor_started", processor="lobby", previous_status="FAILED")
    assert first["restart"] == 1
    assert first["next_restart_after"] == 1.0
    fast_emu.fail("lobby", "Access denied to Role")
    j, deferred = d.wait_for("restart_deferred", after=i, processor="lobby")
    assert deferred["failures"] == 1
    assert deferred["level"] == "warning"
    _, second = d.wait_for("processor_started", after=j, processor="lobby", previous_status="FAILED")
    assert second["restart"] == 2
    assert second["next_restart_after"] == 2.0
    spacing = datetime.fromisoformat(second["timestamp"]) - datetime.fromisoformat(first["timestamp"])
    # Spaced by the 1 s backoff, not by the 0.5 s sweeps (the log times trail the decisions by one call).
    assert spacing.total_seconds() >= 0.9
    assert len([e for e in d.events("processor_failed") if e["processor"] == "lobby"]) >= 2
    assert d.stop() == 0


def test_failed_processor_found_by_a_sweep_is_reported_with_its_status_message(tmp_path, fast_emu, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
    d = daemons(*_run_args(fast_emu, spec), env={"SPD_INTERVAL": "3600"})
    d.wait_for("reconcile_completed")
    wait_status(fast_emu.client(), "lobby", {"RUNNING"})
    fast_emu.fail("lobby", "Access denied to Role")
    _, failed = d.wait_for("processor_failed", processor="lobby")
    assert failed["status_message"] == "Access denied to Role"
    assert d.stop() == 0


def test_sd_notify_ready_status_watchdog_stopping(tmp_path, fast_emu, daemons):
    path = tmp_path / "notify"
    received: list[str] = []
    arrived = threading.Condition()
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(str(path))
        server.settimeout(0.2)

        def listen() -> None:
            while True:
                try:
                    data = server.recv(4096)
                except TimeoutError:
                    continue
                except OSError:
                    return
                with arrived:
                    received.extend(data.decode().split("\n"))
                    arrived.notify_all()

        threading.Thread(target=listen, daemon=True).start()

        def wait_for(prefix: str, count: int = 1) -> None:
            with arrived:
                ok = arrived.wait_for(
                    lambda: sum(m.startswith(prefix) for m in received) >= count, timeout=20
                )
            assert ok, f"{count}x {prefix} not received: {received}"

        spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=fast_emu)
        d = daemons(
            *_run_args(fast_emu, spec),
            env={"NOTIFY_SOCKET": str(path), "WATCHDOG_USEC": "400000"},
        )
        wait_for("READY=1")
        wait_for("STATUS=full pass")
        wait_for("WATCHDOG=1", count=3)
        d.signal(signal.SIGTERM)
        wait_for("STOPPING=1")
        assert d.stop() == 0
    ready = received.index("READY=1")
    assert ready < received.index("STOPPING=1")
    status = next(m for m in received if m.startswith("STATUS=full pass"))
    assert re.match(r"STATUS=full pass \S+: 1 processors, \d+ drifted, 0 errors", status)
