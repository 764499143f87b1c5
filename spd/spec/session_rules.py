"""The spec's `sessions` block: the rules the schema cannot state, and its canonical value.

Called by `spd.spec.validate` (rules, with defaults applied) and `spd.spec.canonical` (value). The
block is spd's own (the service never sees it): only connected-home processors run sessions, a
window's cron expression must be one APScheduler's cron trigger accepts (the daemon schedules windows
with it, so the spec refuses exactly what the scheduler would), its time zone an IANA name the
standard library knows, and its duration positive and at most a day.
"""

from __future__ import annotations

import zoneinfo
from typing import Any

from spd.model import SessionPolicy, SessionWindow
from spd.spec.durations import parse_duration
from spd.spec.issues import Issue
from spd.spec.positions import Path
from spd.spec.schema import SessionsSpec

MAX_WINDOW_SECONDS = 24 * 3600
"""A window opens at most once a day at a given cron time for most expressions; a longer one would
overlap its own next opening."""


def duration_seconds(text: str) -> int | None:
    """`2h`, `30m`, `90s`, `1h30m` in whole seconds (`spd.spec.durations`); None when `text` is not a
    duration or not a whole number of seconds."""
    seconds = parse_duration(text)
    if seconds is None or not seconds.is_integer():
        return None
    return int(seconds)


def cron_problem(expression: str, timezone: str | None = None) -> str | None:
    """Why APScheduler's `CronTrigger.from_crontab` refuses `expression`, or None when it accepts it.

    Imported here, when a spec has windows, so that loading a spec without them never imports the
    scheduler.
    """
    from apscheduler.triggers.cron import CronTrigger

    try:
        CronTrigger.from_crontab(expression, timezone=timezone)
    except (ValueError, TypeError, LookupError) as exc:
        return str(exc)
    return None


def timezone_problem(name: str) -> str | None:
    """Why `name` is not an IANA time zone the standard library knows, or None."""
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return f"unknown time zone {name!r}; expected an IANA name such as Europe/Berlin or UTC"
    return None


def session_rules(
    merged: dict[str, Any], own: dict[str, Any], base: Path, *, connected_home: bool
) -> list[Issue]:
    """The `sessions` rules for one processor (`merged`: defaults applied; `own`: as written).

    A face-search processor with a `sessions` block of its own is an error; one inherited from
    `defaults` is ignored (defaults serve both kinds).
    """
    sessions = merged.get("sessions")
    if not isinstance(sessions, dict):
        return []
    if not connected_home:
        if own.get("sessions") is not None:
            return [
                Issue(
                    (*base, "sessions"),
                    "only connected_home processors run sessions; face_search processors run until stopped",
                    "key",
                )
            ]
        return []
    windows = sessions.get("windows")
    if not isinstance(windows, list):
        return []
    issues: list[Issue] = []
    for position, window in enumerate(windows):
        if not isinstance(window, dict):
            continue
        path = (*base, "sessions", "windows", position)
        zone = window.get("timezone", "UTC")
        zone_ok = isinstance(zone, str) and timezone_problem(zone) is None
        if isinstance(zone, str) and not zone_ok:
            issues.append(Issue((*path, "timezone"), timezone_problem(zone) or ""))
        cron = window.get("cron")
        if isinstance(cron, str):
            problem = cron_problem(cron, zone if zone_ok else None)
            if problem is not None:
                issues.append(Issue((*path, "cron"), f"not a crontab expression: {problem}"))
        duration = window.get("duration")
        seconds = duration_seconds(duration) if isinstance(duration, str) else None
        if seconds is not None and not 0 < seconds <= MAX_WINDOW_SECONDS:
            issues.append(
                Issue(
                    (*path, "duration"),
                    f"a window lasts more than 0 seconds and at most 24h (got {duration})",
                )
            )
    return issues


def session_policy(spec: SessionsSpec | None) -> SessionPolicy:
    """The canonical policy of a connected-home processor; the defaults when it has no `sessions` block."""
    if spec is None:
        return SessionPolicy()
    windows = tuple(
        SessionWindow(cron=w.cron, duration_seconds=duration_seconds(w.duration) or 0, timezone=w.timezone)
        for w in spec.windows or ()
    )
    if spec.max_duration_seconds is None:
        return SessionPolicy(windows=windows, budget_seconds_per_day=spec.budget_seconds_per_day)
    return SessionPolicy(
        max_duration_seconds=spec.max_duration_seconds,
        windows=windows,
        budget_seconds_per_day=spec.budget_seconds_per_day,
    )
