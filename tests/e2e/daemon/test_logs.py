"""The daemon's log pipeline: one JSON line per event, foreign loggers included, journal prefixes, no secrets."""

from __future__ import annotations

import io
import json
import logging
import os

import pytest

from spd.daemon.logs import REDACTED, configure_logging, redact, redact_text, stream_is_journal

KEY_ID = "AKIAIOSFODNN7EXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION = "FwoGZXIvYXdzEJr//////////wEaDKc3t0k3n"


@pytest.fixture(autouse=True)
def _restore_root_logger():
    """configure_logging installs a handler on the root logger; put the test runner's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    noisy = {n: logging.getLogger(n).level for n in ("botocore", "apscheduler")}
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    for name, lvl in noisy.items():
        logging.getLogger(name).setLevel(lvl)


def _lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_each_event_is_one_json_line_with_its_fields():
    out = io.StringIO()
    log = configure_logging(fmt="json", stream=out, environ={})
    log.warning("drift_detected", processor="lobby", region="us-east-1", field="status", desired="RUNNING")
    log.info("reconcile_completed", duration=0.5, api_calls=3)
    lines = _lines(out)
    assert [line["event"] for line in lines] == ["drift_detected", "reconcile_completed"]
    assert lines[0]["level"] == "warning"
    assert lines[0]["processor"] == "lobby"
    assert lines[0]["desired"] == "RUNNING"
    assert "timestamp" in lines[0]
    assert lines[1]["api_calls"] == 3


def test_library_loggers_go_through_the_same_pipeline():
    out = io.StringIO()
    configure_logging(fmt="json", stream=out, environ={})
    logging.getLogger("apscheduler.scheduler").warning("Run time of job %s was missed", "reconcile")
    logging.getLogger("botocore.credentials").info("Found credentials in environment variables.")
    lines = _lines(out)
    # botocore is quiet below WARNING unless the operator asks for debug.
    assert len(lines) == 1
    assert lines[0]["event"] == "Run time of job reconcile was missed"
    assert lines[0]["logger"] == "apscheduler.scheduler"
    assert lines[0]["level"] == "warning"


def test_level_filters_spd_events():
    out = io.StringIO()
    log = configure_logging(level="warning", fmt="json", stream=out, environ={})
    log.info("status_sweep_completed")
    log.error("reconcile_failed", error="boom")
    assert [line["event"] for line in _lines(out)] == ["reconcile_failed"]


def test_credentials_never_reach_a_line():
    out = io.StringIO()
    log = configure_logging(level="debug", fmt="json", stream=out, environ={})
    log.info(
        "settings_dump",
        aws_secret_access_key=SECRET,
        aws_session_token=SESSION,
        headers={
            "Authorization": f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101/us-east-1",
            "X-Amz-Target": "t",
        },
        note=f"key {KEY_ID} was used",
    )
    # What botocore prints at DEBUG: a dict repr with the signed headers inside a message.
    logging.getLogger("botocore.endpoint").debug(
        "Sending http request: %s",
        {
            "headers": {
                "Authorization": f"AWS4-HMAC-SHA256 Credential={KEY_ID}/20260101, Signature=abcdef0123",
                "X-Amz-Security-Token": SESSION,
            }
        },
    )
    try:
        raise RuntimeError(f"secret_access_key={SECRET} rejected for {KEY_ID}")
    except RuntimeError:
        log.exception("reconcile_failed")
    text = out.getvalue()
    for secret in (KEY_ID, SECRET, SESSION, "abcdef0123"):
        assert secret not in text
    lines = _lines(out)
    assert lines[0]["aws_secret_access_key"] == REDACTED
    assert lines[0]["headers"]["Authorization"] == REDACTED
    assert lines[0]["headers"]["X-Amz-Target"] == "t"
    assert lines[0]["note"] == f"key {REDACTED} was used"
    assert "Sending http request" in lines[1]["event"]
    assert "rejected for" in lines[2]["exception"]


def test_redaction_keeps_ordinary_values():
    event = {"event": "processor_started", "processor": "lobby", "previous_status": "STOPPED", "restart": 2}
    assert redact(None, "info", dict(event)) == event
    assert redact_text("Found credentials in environment variables.") == (
        "Found credentials in environment variables."
    )
    assert redact_text("token=abc123 and password: hunter2") == f"token={REDACTED} and password: {REDACTED}"


def test_journal_lines_carry_the_priority_prefix(tmp_path):
    path = tmp_path / "journal"
    with path.open("w") as stream:
        st = os.fstat(stream.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert stream_is_journal(stream, env)
        log = configure_logging(stream=stream, environ=env)  # auto: JSON on the journal
        log.error("processor_failed", processor="lobby", status_message="Access denied")
        log.warning("drift_detected", processor="lobby")
        log.info("reconcile_completed")
    lines = path.read_text().splitlines()
    assert [line[:3] for line in lines] == ["<3>", "<4>", "<6>"]
    assert json.loads(lines[0][3:])["status_message"] == "Access denied"


def test_not_the_journal_when_the_inode_differs(tmp_path):
    with (tmp_path / "a").open("w") as a, (tmp_path / "b").open("w") as b:
        st = os.fstat(b.fileno())
        env = {"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}
        assert not stream_is_journal(a, env)
        log = configure_logging(fmt="json", stream=a, environ=env)
        log.info("reconcile_completed")
    assert (tmp_path / "a").read_text().startswith("{")


def test_console_format_is_readable():
    out = io.StringIO()
    log = configure_logging(fmt="console", stream=out, environ={})
    log.info("config_reloaded", processors=3)
    line = out.getvalue()
    assert "config_reloaded" in line
    assert "processors=3" in line
    assert not line.startswith("{")


def test_console_lines_of_a_real_daemon_name_the_stack_on_the_same_line(tmp_path, emu):
    """structlog's console renderer takes a `stack` key for a stack trace and prints it on a line of its
    own; the daemon's stack name must read as a field of its line instead."""
    from daemonproc import Daemon
    from spdrun import face, write_spec

    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], stack="lobby-cams", references=emu)
    d = Daemon(["--endpoint-url", emu.url, "--spec", str(spec)], env={"SPD_LOG_FORMAT": "console"})
    try:
        d.wait_until(lambda line: "reconcile_completed" in line.get("raw", ""), what="reconcile_completed")
        assert d.stop() == 0
    finally:
        d.kill()
    raw = [line.rstrip("\n") for line in d.raw]
    started = [line for line in raw if "daemon_started" in line]
    assert len(started) == 1, d.dump()
    assert "spd_stack=lobby-cams" in started[0]
    assert not started[0].startswith("{")  # console, not JSON
    assert "lobby-cams" not in [line.strip() for line in raw], d.dump()
