"""The daemon's session triggers, through a real `spd run` against `spd emulator`: the SQS trigger queue,
`POST /v1/sessions` with its bearer token, and windows that chain sessions.

Sessions run at `session_time_scale` 0.05 unless a test needs one to stay open: a 1 s session then lasts
0.05 s of wall-clock time in the emulator. A window's chain waits the session's length in the daemon's own
time (and retries a refusal after it), so the window tests use the shortest session a spec allows, 1 s.
"""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from daemonproc import Daemon
from spdrun import home, run_spd, write_spec

TOKEN = "s3cret-token-for-tests"


def _spec(emu: Any, tmp_path: Path, **sessions: Any) -> Path:
    """The spec, with what it references created in `emu` (sessions run under strict references)."""
    porch = home("porch", sessions=sessions) if sessions else home("porch")
    return write_spec(tmp_path / "spec.yaml", [porch, home("garden")], references=emu)


def _token_file(tmp_path: Path) -> Path:
    path = tmp_path / "token"
    path.write_text(TOKEN + "\n")
    path.chmod(0o600)
    return path


def _daemon(emu, tmp_path: Path, spec: Path, **env: str) -> Daemon:
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={
            "SPD_INTERVAL": "300",
            "SPD_STATUS_INTERVAL": "300",
            "SPD_STATE_DIR": str(tmp_path / "state"),
            **env,
        },
    )
    d.wait_for("reconcile_completed")
    return d


def _starts(emu) -> int:
    return int(emu.stats()["calls"].get("StartStreamProcessor", 0))


def _post(d: Daemon, body: Any, *, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(d.http + "/v1/sessions", data=data, method="POST")
    request.add_header("Content-Type", "application/json")
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def _ledger(tmp_path: Path, spec: Path) -> list[dict[str, Any]]:
    out = run_spd(["sessions", str(spec), "--output", "json"], env={"SPD_STATE_DIR": str(tmp_path / "state")})
    assert out.returncode == 0, out.stderr
    return list(json.loads(out.stdout)["sessions"])


def test_a_trigger_on_the_queue_starts_a_session_and_a_second_is_coalesced(emu, tmp_path):
    emu.configure(session_time_scale=100)  # the session stays open (STARTING) for the whole test
    sqs = emu.client("us-east-1", "sqs")
    url = sqs.create_queue(QueueName="spd-sessions")["QueueUrl"]
    spec = _spec(emu, tmp_path, max_duration_seconds=30)
    d = _daemon(emu, tmp_path, spec, SPD_SESSION_QUEUE_URL=url)
    try:
        d.wait_for("session_queue_started")
        before = _starts(emu)
        sqs.send_message(
            QueueUrl=url,
            MessageBody=json.dumps({"processor": "porch", "fragment_number": "91343852333181432392"}),
        )
        _, started = d.wait_for("session_started", processor="porch")
        assert started["trigger"] == "sqs"
        assert started["selector"] == "fragment_number=91343852333181432392"
        assert started["max_duration_seconds"] == 30
        assert started["message_id"]
        assert emu.client().describe_stream_processor(Name="porch")["Status"] == "STARTING"

        sqs.send_message(QueueUrl=url, MessageBody=json.dumps({"processor": "porch"}))
        _, coalesced = d.wait_for("session_coalesced", processor="porch")
        assert coalesced["trigger"] == "sqs"
        # Bad messages: logged with their reason and deleted, never a Start.
        sqs.send_message(QueueUrl=url, MessageBody="not json")
        sqs.send_message(
            QueueUrl=url, MessageBody=json.dumps({"processor": "garden", "producer_timestamp_ms": 1764158400})
        )
        _, malformed = d.wait_for("session_refused", refusal="malformed")
        assert "not JSON" in malformed["reason"]
        _, seconds = d.wait_for("session_refused", refusal="seconds_timestamp")
        assert "looks like seconds" in seconds["reason"]
        assert _starts(emu) == before + 1
        deadline = time.monotonic() + 10
        while True:
            attrs = sqs.get_queue_attributes(
                QueueUrl=url,
                AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
            )["Attributes"]
            if (
                int(attrs["ApproximateNumberOfMessages"])
                + int(attrs["ApproximateNumberOfMessagesNotVisible"])
                == 0
            ):
                break
            assert time.monotonic() < deadline, f"messages left on the queue: {attrs}"
            time.sleep(0.1)
        outcomes = sorted((r["processor"], r["trigger"], r["outcome"]) for r in _ledger(tmp_path, spec))
        assert ("porch", "sqs", "started") in outcomes
        assert ("porch", "sqs", "coalesced") in outcomes
    finally:
        d.kill()


def test_post_sessions_needs_the_token_and_answers_per_outcome(emu, tmp_path):
    emu.configure(session_time_scale=100)
    spec = _spec(emu, tmp_path)
    d = _daemon(emu, tmp_path, spec, SPD_API_TOKEN_FILE=str(_token_file(tmp_path)))
    try:
        before = _starts(emu)
        assert _post(d, {"processor": "porch"}, token=None)[0] == 401
        assert _post(d, {"processor": "porch"}, token="wrong")[0] == 401
        code, body = _post(d, b"{not json")
        assert code == 400
        assert body["refusal"] == "malformed"
        code, body = _post(d, {"processor": "shed"})
        assert code == 404
        assert body["refusal"] == "unknown_processor"
        assert _post(d, {"processor": "porch", "max_duration_seconds": 121})[0] == 400
        assert _post(d, {"processor": "porch", "fragment_number": "12a"})[0] == 400
        assert _starts(emu) == before

        code, body = _post(d, {"processor": "porch", "producer_timestamp_ms": 1764158400000})
        assert code == 201, body
        assert body["outcome"] == "started"
        assert body["trigger"] == "http"
        assert body["selector"] == "producer_timestamp_ms=1764158400000"
        assert body["session_id"]
        code, body = _post(d, {"processor": "porch"})
        assert code == 200
        assert body["outcome"] == "coalesced"
        assert _starts(emu) == before + 1
        # The health endpoints stay open without a token.
        assert d.get("/healthz")[0] == 200
    finally:
        d.kill()


def test_the_daemon_refuses_to_listen_beyond_loopback_without_a_token(emu, tmp_path):
    spec = _spec(emu, tmp_path)
    out = run_spd(
        ["run", "--endpoint-url", emu.url, "--spec", str(spec)],
        env={"SPD_METRICS_ADDRESS": "0.0.0.0:0", "SPD_LOG_FORMAT": "json"},
        timeout=60,
    )
    assert out.returncode == 78
    assert "beyond loopback" in out.stderr
    assert "Traceback" not in out.stderr + out.stdout


def test_a_world_readable_token_file_is_refused(emu, tmp_path):
    token = _token_file(tmp_path)
    os.chmod(token, 0o644)
    out = run_spd(
        ["run", "--endpoint-url", emu.url, "--spec", str(_spec(emu, tmp_path))],
        env={"SPD_API_TOKEN_FILE": str(token), "SPD_LOG_FORMAT": "json"},
        timeout=60,
    )
    assert out.returncode == 78
    assert "world-readable" in out.stderr


def test_a_window_in_progress_chains_sessions(emu, tmp_path):
    emu.configure(session_time_scale=0.05)  # a 1 s session lasts 0.05 s
    spec = _spec(
        emu,
        tmp_path,
        max_duration_seconds=1,
        windows=[{"cron": "* * * * *", "duration": "1h", "timezone": "Europe/Berlin"}],
    )
    d = _daemon(emu, tmp_path, spec, SPD_POLL_INTERVAL="0.05")
    try:
        _, opened = d.wait_for("session_window_opened", processor="porch", target="")
        assert opened["timezone"] == "Europe/Berlin"
        first, _ = d.wait_for("session_started", processor="porch", trigger="window")
        d.wait_for("session_started", after=first + 1, processor="porch", trigger="window")
        sessions = {
            r["session_id"]
            for r in _ledger(tmp_path, spec)
            if r["trigger"] == "window" and r["outcome"] == "started"
        }
        assert len(sessions) >= 2
        # Only the processor with a window runs sessions.
        assert not [line for line in d.events("session_started") if line.get("processor") == "garden"]
    finally:
        d.kill()


def test_a_reload_that_removes_the_window_closes_it(emu, tmp_path):
    emu.configure(session_time_scale=0.05)
    spec = _spec(emu, tmp_path, max_duration_seconds=1, windows=[{"cron": "* * * * *", "duration": "1h"}])
    d = _daemon(emu, tmp_path, spec, SPD_POLL_INTERVAL="0.05")
    try:
        d.wait_for("session_started", processor="porch", trigger="window")
        _spec(emu, tmp_path, max_duration_seconds=1)
        d.signal(signal.SIGHUP)
        _, closed = d.wait_for("session_window_closed", processor="porch")
        assert closed["sessions_started"] >= 1
    finally:
        d.kill()


def test_an_oversized_body_is_refused_unread(emu, tmp_path):
    d = _daemon(emu, tmp_path, _spec(emu, tmp_path))
    try:
        before = _starts(emu)
        request = urllib.request.Request(
            d.http + "/v1/sessions", data=b"{" + b" " * 70_000 + b"}", method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as raised:
            urllib.request.urlopen(request, timeout=10)
        assert raised.value.code == 413
        assert _starts(emu) == before
    finally:
        d.kill()


def test_a_standby_answers_503_and_starts_nothing(emu, tmp_path):
    emu.configure(session_time_scale=100)
    spec = _spec(emu, tmp_path)
    table = f"spd-leases-{uuid.uuid4().hex[:8]}"
    ha = {"SPD_HA_TABLE": table, "SPD_HA_LEASE_SECONDS": "3"}
    leader = _daemon(emu, tmp_path, spec, SPD_HA_HOLDER="a", **ha)
    standby = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={"SPD_STATE_DIR": str(tmp_path / "state-b"), "SPD_HA_HOLDER": "b", **ha},
    )
    try:
        leader.wait_for("leader_acquired")
        standby.wait_for("daemon_started")
        time.sleep(0.5)
        assert not standby.events("leader_acquired")
        before = _starts(emu)
        code, body = _post(standby, {"processor": "porch"})
        assert code == 503
        assert "standby" in body["error"]
        assert _starts(emu) == before
        code, body = _post(leader, {"processor": "porch"})
        assert code == 201, body
    finally:
        standby.kill()
        leader.kill()
