"""The `--since` of the commands that read local records (`spd history`, `spd sessions`): one syntax.

A duration before now (`spd.spec.durations`: `90s`, `30m`, `24h`, `1h30m`, `7d`, `2w`) or an ISO 8601 time, UTC unless it
carries an offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import click

from spd.spec.durations import parse_duration

SINCE_HELP = "Only records after this: a duration (30m, 24h, 1h30m, 7d) or an ISO 8601 time."


def parse_since(text: str, now: datetime) -> datetime:
    """The moment `text` names: `now` minus a duration, or an ISO 8601 time; BadParameter otherwise."""
    stripped = text.strip()
    seconds = parse_duration(stripped)
    if seconds is not None and seconds > 0:
        return now - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(stripped)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected a duration (e.g. 30m, 24h, 1h30m, 7d) or an ISO 8601 time",
            param_hint="--since",
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
