"""How deeply a YAML file may nest collections, and the checks that enforce it before anything recurses.

Every consumer of nested data descends it recursively: the YAML readers here, pydantic, the settings
loader's composer. A file nested a few hundred levels deep (`[[[[...]]]]`, `{a: {a: ...}}`, or plain
indentation) would exhaust Python's recursion limit and crash with a `RecursionError` instead of being
reported. A spec needs about six levels, a settings file two; anything deeper than `MAX_NESTING` is
refused with a located error while the text is still being read, before any recursive step can go deep.

Depth counts collections: the top-level mapping is level 1, a mapping inside it level 2, and so on;
scalars do not count. An alias counts as the collections it stands for, so a chain of anchors, each
wrapping an alias of the previous one, cannot build deep data out of shallow text.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ruamel.yaml.events import (
    AliasEvent,
    CollectionEndEvent,
    CollectionStartEvent,
    ScalarEvent,
)

MAX_NESTING = 64
"""Collections nested deeper than this are refused; far beyond any real spec or settings file."""

TOO_DEEP_MESSAGE = f"nesting deeper than {MAX_NESTING} levels of collections; spd refuses deeper YAML"


class TooDeep(Exception):
    """The collection (or alias) starting at `line`, `column` (1-based) lies beyond `MAX_NESTING`."""

    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line = line
        self.column = column


def height(value: Any, memo: dict[int, int]) -> int:
    """Levels of collections in `value` (0 for a scalar), without recursion.

    `memo` maps `id()` of containers already measured; shared containers (aliases) are measured once.
    The data must be acyclic, which YAML guarantees here: an alias refers only to a finished anchor.
    """
    if not isinstance(value, dict | list):
        return 0
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        node, children_done = stack.pop()
        children = [
            child
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
        if children_done:
            memo[id(node)] = 1 + max((memo[id(child)] for child in children), default=0)
        elif id(node) not in memo:
            stack.append((node, True))
            stack.extend((child, False) for child in children if id(child) not in memo)
    return memo[id(value)]


def check_events(events: Iterable[Any]) -> None:
    """Read a ruamel.yaml event stream to its end; `TooDeep` at the first collection beyond the limit.

    For loaders that build data with a recursive composer (the settings file): run this over
    `YAML(pure=True).parse(text)` first. Syntax errors surface as the parser's `YAMLError`.
    """
    open_heights: list[int] = []  # per open collection: the height of its deepest child so far
    anchors_open: list[str | None] = []
    anchors: dict[str, int] = {}
    for event in events:
        if isinstance(event, CollectionStartEvent):
            if len(open_heights) >= MAX_NESTING:
                raise TooDeep(event.start_mark.line + 1, event.start_mark.column + 1)
            open_heights.append(0)
            anchors_open.append(event.anchor)
        elif isinstance(event, CollectionEndEvent):
            own = 1 + open_heights.pop()
            anchor = anchors_open.pop()
            if anchor:
                anchors[anchor] = own
            if open_heights:
                open_heights[-1] = max(open_heights[-1], own)
        elif isinstance(event, AliasEvent):
            aliased = anchors.get(event.anchor, 0)
            if len(open_heights) + aliased > MAX_NESTING:
                raise TooDeep(event.start_mark.line + 1, event.start_mark.column + 1)
            if open_heights:
                open_heights[-1] = max(open_heights[-1], aliased)
        elif isinstance(event, ScalarEvent) and event.anchor:
            anchors[event.anchor] = 0
