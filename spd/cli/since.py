"""The `--since` of the commands that read local records (`spd history`, `spd sessions`): one syntax.

A duration before now (`90s`, `30m`, `24h`, `1h30m`, `7d`, `2w`) or an ISO 8601 time, UTC unless it
carries an offset.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import click

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^(?:\d+(?:\.\d+)?[smhdw])+$")
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")

SINCE_HELP = "Only records after this: a duration (30m, 24h, 1h30m, 7d) or an ISO 8601 time."


def parse_since(text: str, now: datetime) -> datetime:
    """The moment `text` names: `now` minus a duration, or an ISO 8601 time; BadParameter otherwise."""
    stripped = text.strip()
    if _DURATION.match(stripped):
        seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(stripped))
        if seconds > 0:
            return now - timedelta(seconds=seconds)
    try:
        when = datetime.fromisoformat(stripped)
    except ValueError:
        raise click.BadParameter(
            f"{text!r}: expected a duration (e.g. 30m, 24h, 1h30m, 7d) or an ISO 8601 time",
            param_hint="--since",
        ) from None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)
