"""The one syntax of a duration, wherever spd takes one: `--since`, a session window's length, and the
settings that are a number of seconds (`interval`, `grace_period`, `ha.lease_seconds`...).

A duration is one or more parts, each a number (decimals allowed) and a unit, largest unit first and each
unit at most once: `w` weeks, `d` days, `h` hours, `m` minutes, `s` seconds. So `90s`, `5m`, `1h30m`,
`1.5d`, `2w`; not `30m1h`, `2 h` or `5`. `DURATION_PATTERN` is that syntax as a regular expression the
spec's JSON schema can carry (no lookaround); `parse_duration` is its meaning.
"""

from __future__ import annotations

import re
from typing import Any

UNITS = (("w", 7 * 86400), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1))
"""Each unit and its seconds, in the order a duration writes them."""

_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
DURATION_PATTERN = "^" + "".join(f"(?:({_NUMBER}){unit})?" for unit, _ in UNITS) + "$"
"""The syntax (the empty string matches it, and is refused by `parse_duration`)."""
_DURATION = re.compile(DURATION_PATTERN)

DURATION_EXAMPLES = "90s, 5m, 1h30m, 1.5d"


def parse_duration(text: str) -> float | None:
    """The seconds `text` names (`1h30m` -> 5400.0); None when it is not a duration."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or not any(match.groups()):
        return None
    return sum(
        float(part) * seconds for part, (_, seconds) in zip(match.groups(), UNITS, strict=True) if part
    )


def seconds_setting(value: Any) -> Any:
    """A seconds setting's value before pydantic checks it as a number: a duration string becomes its
    seconds; a number, or a string holding one (`SPD_INTERVAL=300`), passes as it is; any other string
    is refused with the syntax, so the settings error says what would be accepted."""
    if not isinstance(value, str):
        return value
    seconds = parse_duration(value)
    if seconds is not None:
        return seconds
    try:
        float(value)
    except ValueError:
        raise ValueError(
            f"expected seconds or a duration such as {DURATION_EXAMPLES} (got {value!r})"
        ) from None
    return value
