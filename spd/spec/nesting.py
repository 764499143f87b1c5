"""How deeply a YAML file may nest collections, and the checks that enforce it before anything recurses.

Every consumer of nested data descends it recursively: the YAML reader, pydantic, the validation. A
file nested a few hundred levels deep (`[[[[...]]]]`, `{a: {a: ...}}`, or plain indentation) would exhaust Python's recursion limit and crash with a `RecursionError` instead of being
reported. A spec needs about six levels, a settings file two; anything deeper than `MAX_NESTING` is
refused with a located error while the text is still being read, before any recursive step can go deep.

Depth counts collections: the top-level mapping is level 1, a mapping inside it level 2, and so on;
scalars do not count. An alias counts as the collections it stands for, so a chain of anchors, each
wrapping an alias of the previous one, cannot build deep data out of shallow text.
"""

from __future__ import annotations

from typing import Any

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
