"""`spd history` as a real command: its inputs refused clearly, an empty or missing history."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import click
import pytest

from spd.cli.since import parse_since
from spdrun import home, run_spd, write_spec

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_since_takes_durations_and_times():
    assert parse_since("30m", NOW) == NOW - timedelta(minutes=30)
    assert parse_since("24h", NOW) == NOW - timedelta(days=1)
    assert parse_since("1.5d", NOW) == NOW - timedelta(hours=36)
    assert parse_since("1h30m", NOW) == NOW - timedelta(minutes=90)
    assert parse_since("2026-11-25T08:00:00", NOW) == datetime(2026, 11, 25, 8, tzinfo=UTC)
    assert parse_since("2026-11-25T08:00:00+01:00", NOW) == datetime(2026, 11, 25, 7, tzinfo=UTC)
    with pytest.raises(click.BadParameter, match="expected a duration"):
        parse_since("yesterday", NOW)


def test_a_bad_since_is_a_usage_error(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    result = run_spd(
        ["history", str(spec), "--since", "yesterday"], env={"SPD_HISTORY_FILE": str(tmp_path / "h.db")}
    )
    assert result.returncode == 64  # usage (EX_USAGE)
    assert "--since" in result.stderr
    assert "Traceback" not in result.stderr


def test_no_history_yet_lists_nothing_and_creates_no_file(tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    path = tmp_path / "h.db"
    text = run_spd(["history", str(spec)], env={"SPD_HISTORY_FILE": str(path)})
    assert text.returncode == 0
    assert "no events recorded for stack 'test-stack'" in text.stderr
    as_json = run_spd(["history", str(spec), "--output", "json"], env={"SPD_HISTORY_FILE": str(path)})
    assert json.loads(as_json.stdout) == []
    assert not path.exists()


def test_a_bad_spec_is_a_located_error(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nstack: [\n")
    result = run_spd(["history", str(spec)], env={"SPD_HISTORY_FILE": str(tmp_path / "h.db")})
    assert result.returncode == 78
    assert f"{spec}:" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_history_file_of_another_program_is_refused(tmp_path):
    import sqlite3

    other = tmp_path / "other.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE t (x)")
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    result = run_spd(["history", str(spec)], env={"SPD_HISTORY_FILE": str(other)})
    assert result.returncode == 78
    assert "not an spd history database" in result.stderr


def test_the_history_is_kept_in_state_dir_when_no_history_file_is_set(tmp_path):
    """The systemd unit sets only SPD_STATE_DIR (its dynamic user has no writable home)."""
    from spd.events import Event
    from spd.events.history import History

    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    history = History(state / "history.db")
    history.record(
        Event("drift_detected", {"processor": "porch", "region": "us-east-1"}),
        stack="test-stack",
        at=datetime.now(UTC),
    )
    history.close()
    result = run_spd(
        ["history", str(spec), "--output", "json"], env={"SPD_STATE_DIR": str(state), "HOME": "/nonexistent"}
    )
    assert result.returncode == 0, result.stderr
    assert [e["event"] for e in json.loads(result.stdout)] == ["drift_detected"]
