"""One duration syntax (`spd.spec.durations`): `--since`, a session window's length and every seconds setting
read `90s`, `5m`, `1h30m` the same way."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from pydantic import TypeAdapter, ValidationError

from spd.cli.since import parse_since
from spd.config.settings import HaSettings, Settings, load_settings
from spd.spec import schema
from spd.spec.session_rules import duration_seconds

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
TEXTS = [
    "90s",
    "5m",
    "1h30m",
    "1h1m1s",
    "1.5h",
    "1.5d",
    "2w",
    "0s",
    "",
    "5",
    "2 h",
    "30m1h",
    "1h1h",
    "h",
    "1x",
]


def test_the_syntax() -> None:
    from spd.spec.durations import parse_duration

    assert [parse_duration(t) for t in ("90s", "5m", "1h30m", "1.5d", "2w", " 2h ")] == [
        90,
        300,
        5400,
        129600,
        1209600,
        7200,
    ]
    assert [parse_duration(t) for t in ("", "5", "2 h", "30m1h", "1h1h", "h", "1x", "-1s")] == [None] * 8


def _since_seconds(text: str) -> float | None:
    try:
        return (NOW - parse_since(text, NOW)).total_seconds()
    except click.BadParameter:
        return None


def _window_pattern_accepts(text: str) -> bool:
    window = TypeAdapter(schema.SessionWindowSpec)
    try:
        window.validate_python({"cron": "0 7 * * *", "duration": text})
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("text", TEXTS)
def test_since_windows_and_settings_read_one_syntax(text: str) -> None:
    from spd.spec.durations import parse_duration

    seconds = parse_duration(text)
    assert _since_seconds(text) == (seconds if seconds else None)
    assert duration_seconds(text) == (int(seconds) if seconds is not None and seconds.is_integer() else None)
    if len(text) >= 2:  # the schema's own minimum length
        assert _window_pattern_accepts(text) == (seconds is not None)
    if seconds:
        assert Settings(interval=text).interval == seconds
        assert HaSettings(lease_seconds="1m").lease_seconds == 60


def test_windows_and_since_take_what_the_other_takes() -> None:
    assert _since_seconds("1h30m") == 5400
    assert duration_seconds("1h30m") == 5400
    assert _since_seconds("1.5h") == 5400
    assert duration_seconds("1.5h") == 5400
    assert _window_pattern_accepts("1.5h")
    assert _since_seconds("30m1h") is None  # largest unit first, as a window's duration
    assert duration_seconds("30m1h") is None


def test_seconds_settings_take_numbers_and_durations(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    file = tmp_path / "settings.yaml"
    file.write_text(
        "interval: 5m\ngrace_period: 90s\nwait_timeout: 1h30m\npoll_interval: 0.5\nha: {lease_seconds: 1m}\n"
    )
    monkeypatch.setenv("SPD_STATUS_INTERVAL", "2m")
    monkeypatch.setenv("SPD_FAILED_BACKOFF_MAX", "600")
    settings = load_settings(file)
    assert (settings.interval, settings.grace_period, settings.wait_timeout, settings.poll_interval) == (
        300,
        90,
        5400,
        0.5,
    )
    assert (settings.status_interval, settings.failed_backoff_max, settings.ha.lease_seconds) == (
        120,
        600,
        60,
    )
    assert timedelta(seconds=settings.interval) == timedelta(minutes=5)


def test_the_reference_says_so() -> None:
    from spd.docs.markdown import attribute_docstrings

    docs = attribute_docstrings(Settings)
    for name in ("interval", "status_interval", "grace_period", "poll_interval", "wait_timeout"):
        assert "duration" in docs[name], name
    assert "duration" in attribute_docstrings(HaSettings)["lease_seconds"]
