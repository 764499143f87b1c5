"""The generated tables by name, and the markers that place them in the manual's pages.

A page says `<!-- reference: settings -->` on a line of its own where the table goes; `expand` puts the
table there. An unknown name is an error, so a typo fails the build instead of leaving a hole.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from spd.docs import commands, settings_table, spec_keys, tables

GENERATORS: dict[str, Callable[[], str]] = {
    "spec-top-level": spec_keys.top_level,
    "spec-targets": spec_keys.targets,
    "spec-processor": spec_keys.processor,
    "settings": settings_table.settings,
    "commands": commands.commands,
    "log-events": tables.log_events,
    "metrics": tables.metrics,
    "exit-codes": tables.exit_codes,
    "emulator-control-api": tables.control_api,
    "emulator-settings": tables.emulator_settings,
}

MARKER = re.compile(r"^<!-- reference: ([a-z-]+) -->$", re.MULTILINE)


class UnknownReference(ValueError):
    """A page asks for a table no generator makes."""


def render(name: str) -> str:
    try:
        generate = GENERATORS[name]
    except KeyError:
        raise UnknownReference(
            f"no generated reference named {name!r}; known: {', '.join(GENERATORS)}"
        ) from None
    return generate()


def expand(markdown: str) -> str:
    """`markdown` with every reference marker replaced by its table."""
    return MARKER.sub(lambda match: render(match.group(1)), markdown)
