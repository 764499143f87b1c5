"""How an unquoted YAML scalar is read, and how a value is named in messages.

The YAML reader (`yaml_source`, through `yaml_tree.TreeBuilder`) calls `resolve_plain` for every unquoted
scalar. Resolution follows the YAML 1.2 core schema, with one
addition: the plain words a YAML 1.1 reader would turn into booleans (`yes`, `no`, `on`, `off`) come back
as `Yaml11Bool`, which fits no field, so the operator is told to quote the word or write true/false
instead of silently getting whichever reading their other tools use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_INT = re.compile(r"[-+]?[0-9]+\Z")
_OCT = re.compile(r"0o[0-7]+\Z")
_HEX = re.compile(r"0x[0-9a-fA-F]+\Z")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?\Z")
_INF = frozenset({".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF"})
_NEG_INF = frozenset({"-.inf", "-.Inf", "-.INF"})
_NAN = frozenset({".nan", ".NaN", ".NAN"})
_NULL = frozenset({"", "~", "null", "Null", "NULL"})
_TRUE = frozenset({"true", "True", "TRUE"})
_FALSE = frozenset({"false", "False", "FALSE"})
_YAML11_TRUE = frozenset({"yes", "Yes", "YES", "on", "On", "ON"})
_YAML11_FALSE = frozenset({"no", "No", "NO", "off", "Off", "OFF"})


@dataclass(frozen=True, slots=True)
class Yaml11Bool:
    """A plain `yes`/`no`/`on`/`off`: a string to YAML 1.2, a boolean to YAML 1.1 readers."""

    text: str
    value: bool


def resolve_plain(text: str) -> Any:
    """The value of an unquoted scalar: null, bool, int, float, `Yaml11Bool` or str."""
    if not text:
        return None
    first = text[0]
    if first in "~nN" and text in _NULL:
        return None
    if first in "tT" and text in _TRUE:
        return True
    if first in "fF" and text in _FALSE:
        return False
    if first in "yYnNoO":
        if text in _YAML11_TRUE:
            return Yaml11Bool(text, True)
        if text in _YAML11_FALSE:
            return Yaml11Bool(text, False)
        return text
    if first in "0123456789+-.":
        if _INT.match(text):
            return int(text, 10)
        if _FLOAT.match(text):
            return float(text)
        if _OCT.match(text):
            return int(text[2:], 8)
        if _HEX.match(text):
            return int(text[2:], 16)
        if text in _INF:
            return float("inf")
        if text in _NEG_INF:
            return float("-inf")
        if text in _NAN:
            return float("nan")
    return text


def describe(value: Any) -> str:
    """A short YAML-flavoured description of a value for messages: `integer 5`, `a list`, ..."""
    if isinstance(value, Yaml11Bool):
        return f"`{value.text}` (a boolean to YAML 1.1 readers, a string to YAML 1.2 ones)"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return f"boolean {'true' if value else 'false'}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value:g}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"string {shown!r}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
