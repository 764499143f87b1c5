"""What a PromQL expression reads: its metric names and its label matchers, without a Prometheus.

Enough of PromQL for the expressions in contrib/ (selectors, functions, aggregations with `by`/`on`
groupings, ranges, `offset`, Grafana's `$variables`): strings are matchers' values, parenthesised label
lists follow grouping keywords, a name followed by `(` is a function, and every other name is a metric.
"""

from __future__ import annotations

import re

from spd.daemon.metrics import DaemonMetrics

_KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and", "or", "unless",
             "offset", "inf", "nan"}  # fmt: skip
_GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)")
_MATCHERS = re.compile(r"\{([^}]*)\}")
_MATCHER = re.compile(r'([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')
_RANGE = re.compile(r"\[[^\]]*\]")
_NAME = re.compile(r"(?<![\w.$])[a-zA-Z_:][\w:]*(?!\w)(\s*\()?")


def metric_names(expr: str) -> set[str]:
    """The metric names `expr` selects."""
    text = _MATCHERS.sub(" ", expr)
    text = _RANGE.sub(" ", text)
    text = _GROUPING.sub(" ", text)
    text = re.sub(r"\$\w+", " ", text)
    names = set()
    for match in _NAME.finditer(text):
        if match.group(1) is None and match.group(0) not in _KEYWORDS:
            names.add(match.group(0))
    return names


def matchers(expr: str) -> list[tuple[str, str, str]]:
    """Every label matcher of `expr` as (label, operator, value)."""
    return [
        (m.group(1), m.group(2), m.group(3))
        for block in _MATCHERS.findall(expr)
        for m in _MATCHER.finditer(block)
    ]


def exported_series() -> set[str]:
    """Every series name a daemon's /metrics can carry, read from the registry spd.daemon.metrics builds."""
    registry = DaemonMetrics(stats=lambda: None).registry
    names = set()
    for family in registry.collect():
        if family.type == "counter":
            names |= {f"{family.name}_total", f"{family.name}_created"}
        elif family.type == "histogram":
            names |= {f"{family.name}_{suffix}" for suffix in ("bucket", "sum", "count", "created")}
        else:
            names.add(family.name)
        names |= {sample.name for sample in family.samples}
    return names
