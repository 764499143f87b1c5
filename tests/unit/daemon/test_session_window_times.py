"""When a window is in progress: the latest cron fire within its duration, in the window's time zone."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from spd.daemon.session_windows import open_since
from spd.model import SessionWindow

BERLIN = ZoneInfo("Europe/Berlin")
MORNING = SessionWindow(cron="0 7 * * mon-fri", duration_seconds=7200, timezone="Europe/Berlin")


def test_a_window_in_progress_opened_at_its_cron_time_in_its_time_zone():
    # Monday 2026-11-23 08:15 in Berlin (CET, UTC+1).
    now = datetime(2026, 11, 23, 8, 15, tzinfo=BERLIN).astimezone(UTC)
    assert open_since(MORNING, now) == datetime(2026, 11, 23, 7, 0, tzinfo=BERLIN)


def test_no_window_after_it_closed_or_on_a_day_it_does_not_fire():
    assert open_since(MORNING, datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN).astimezone(UTC)) is None
    assert (
        open_since(MORNING, datetime(2026, 11, 28, 8, 0, tzinfo=BERLIN).astimezone(UTC)) is None
    )  # Saturday
    assert open_since(MORNING, datetime(2026, 11, 23, 6, 59, tzinfo=BERLIN).astimezone(UTC)) is None


def test_a_frequent_cron_gives_its_latest_fire():
    every_minute = SessionWindow(cron="* * * * *", duration_seconds=3600, timezone="UTC")
    now = datetime(2026, 11, 23, 12, 34, 56, tzinfo=UTC)
    assert open_since(every_minute, now) == datetime(2026, 11, 23, 12, 34, tzinfo=UTC)
