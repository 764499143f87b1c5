"""Every setting in one table: its key in the settings file, its environment variable, its default and
its meaning, read from the settings models (`spd.config.settings.Settings`, its `ha` block, and the entries of
`event_sinks` in `spd.config.sink_settings`) and the docstrings written under their fields."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from spd.config.settings import DEFAULT_RATE_LIMITS, HaSettings, Settings
from spd.config.sink_settings import EventSinkSettings
from spd.docs.markdown import attribute_docstrings, cell, code, table

ENV_PREFIX = "SPD_"


def _default(model: type[BaseModel], name: str) -> str:
    field = model.model_fields[name]
    value: Any = field.get_default(call_default_factory=True)
    if value is PydanticUndefined:
        return "required"
    if value is None:
        return "unset"
    if name == "rate_limits":
        by_rate: dict[float, list[str]] = defaultdict(list)
        for operation, rate in DEFAULT_RATE_LIMITS.items():
            by_rate[rate].append(operation)
        return "; ".join(
            f"{rate:g} for {', '.join(ops)}" for rate, ops in sorted(by_rate.items(), reverse=True)
        )
    if isinstance(value, bool):
        return code(str(value).lower())
    if isinstance(value, float) and value.is_integer():
        return code(int(value))
    if isinstance(value, BaseModel):
        return "see its keys"
    if isinstance(value, Path | str | int | float | list):
        return code(value if not isinstance(value, list) else "[]")
    return code(value)


def _meaning(docs: dict[str, str], model: type[BaseModel], name: str) -> str:
    return cell(docs.get(name) or model.model_fields[name].description or "")


def rows() -> list[tuple[str, str, str, str]]:
    """(file key, environment variable, default, meaning) of every setting, nested ones by dotted key."""
    out = []
    docs = attribute_docstrings(Settings)
    for name in Settings.model_fields:
        variable = f"{ENV_PREFIX}{name.upper()}"
        if name == "rate_limits":
            variable += "__<Operation>"
        if name == "ha":
            variable = f"{ENV_PREFIX}HA_<KEY>"
        out.append((code(name), code(variable), _default(Settings, name), _meaning(docs, Settings, name)))
        if name == "ha":
            ha_docs = attribute_docstrings(HaSettings)
            for field in HaSettings.model_fields:
                out.append(
                    (
                        code(f"ha.{field}"),
                        code(f"{ENV_PREFIX}HA_{field.upper()}"),
                        _default(HaSettings, field),
                        _meaning(ha_docs, HaSettings, field),
                    )
                )
        if name == "event_sinks":
            sink_docs = attribute_docstrings(EventSinkSettings)
            for field in EventSinkSettings.model_fields:
                out.append(
                    (
                        code(f"event_sinks[].{field}"),
                        f"in {code(variable)}",
                        _default(EventSinkSettings, field),
                        _meaning(sink_docs, EventSinkSettings, field),
                    )
                )
    return out


def settings() -> str:
    return table(("file key", "environment variable", "default", "meaning"), rows())
