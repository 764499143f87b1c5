"""`LogRecorder`: a logger stand-in for the daemon's readers, keeping every call to assert on."""

from __future__ import annotations

from typing import Any


class LogRecorder:
    """Every call as (level, event, fields): `log.warning("x", a=1)` records ("warning", "x", {"a": 1})."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str, dict[str, Any]]] = []

    def __getattr__(self, level: str) -> Any:
        def log(event: str, **fields: Any) -> None:
            self.lines.append((level, event, fields))

        return log

    def named(self, event: str) -> list[dict[str, Any]]:
        """The fields of every call that logged `event`, in order."""
        return [fields for _, name, fields in self.lines if name == event]
