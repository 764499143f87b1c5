"""Where every key and value of a parsed spec file came from, and how key paths are written.

The YAML readers fill a `Positions` table as they build plain dicts and lists; the loader asks it for
the line and column of a key path when it turns a problem into a `Diagnostic`. Positions are kept beside
the data (keyed by the identity of each dict and list) instead of wrapping every value, so valid specs
pay little for them and the validated data stays plain.
"""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import chain
from typing import Any, Literal

PathElem = str | int
Path = tuple[PathElem, ...]

COLUMN_BITS = 20
_COLUMN_MASK = (1 << COLUMN_BITS) - 1


def pack(line: int, column: int) -> int:
    """One int per position (1-based line and column) keeps the tables small for large fleets."""
    return (line << COLUMN_BITS) | min(column, _COLUMN_MASK)


def unpack(position: int) -> tuple[int, int]:
    return position >> COLUMN_BITS, position & _COLUMN_MASK


class Positions:
    """Positions of keys and values, keyed by `id()` of the dict or list holding them.

    Each container's positions are one array of packed ints, written when the container is complete:
    a list's are its items' positions in order; a mapping's are (key, value) pairs in the mapping's own
    key order. A dict or two and an int object per position would cost several times as much, and a
    spec of tens of thousands of processors holds hundreds of thousands of containers.
    The containers are kept alive by the parsed document for as long as the table is used, so their
    identities are stable.
    """

    __slots__ = ("root", "tables")

    def __init__(self) -> None:
        self.tables: dict[int, array[int]] = {}
        self.root = pack(1, 1)

    def add_mapping(
        self, mapping: dict[str, Any], key_positions: dict[str, int], value_positions: dict[str, int]
    ) -> None:
        """Record a complete mapping; both position dicts hold exactly its keys, in its order."""
        self.tables[id(mapping)] = array(
            "Q", chain.from_iterable(zip(key_positions.values(), value_positions.values(), strict=True))
        )

    def add_sequence(self, items: list[Any], item_positions: list[int]) -> None:
        """Record a complete list and its items' positions."""
        self.tables[id(items)] = array("Q", item_positions)

    def key_and_value(self, mapping: dict[str, Any], key: str) -> tuple[int, int] | None:
        """The packed positions of `key` in a recorded `mapping` and of its value, or None."""
        table = self.tables.get(id(mapping))
        if table is None or key not in mapping:
            return None
        for slot, candidate in enumerate(mapping):
            if candidate == key:
                return (table[2 * slot], table[2 * slot + 1]) if 2 * slot + 1 < len(table) else None
        return None  # pragma: no cover - `key` is in `mapping`

    def item(self, items: list[Any], index: int) -> int | None:
        """The packed position of `items[index]` in a recorded list, or None."""
        table = self.tables.get(id(items))
        if table is None or not 0 <= index < min(len(items), len(table)):
            return None
        return table[index]

    def locate(
        self, data: Any, path: Sequence[PathElem], at: Literal["key", "value"] = "value"
    ) -> tuple[int, int]:
        """Line and column of `path` in `data`; the nearest existing ancestor when the path runs out.

        `at="key"` gives the key's own position (for unknown or duplicate keys) rather than its value's.
        """
        node = data
        position = self.root
        last = len(path) - 1
        for index, step in enumerate(path):
            if isinstance(node, dict):
                if not isinstance(step, str):
                    break
                found = self.key_and_value(node, step)
                if found is None:
                    break
                if at == "key" and index == last:
                    return unpack(found[0])
                position = found[1]
            elif isinstance(node, list):
                if not isinstance(step, int):
                    break
                item = self.item(node, step)
                if item is None:
                    break
                position = item
            else:
                break
            node = node[step]
        return unpack(position)


def _is_identifier(key: str) -> bool:
    return bool(key) and key.replace("_", "a").replace("-", "a").isalnum() and key.isascii()


def format_path(path: Sequence[PathElem]) -> str:
    """`processors[1].regions_of_interest[0].bounding_box.width`; odd keys as `tags["cost center"]`."""
    parts: list[str] = []
    for step in path:
        if isinstance(step, int):
            parts.append(f"[{step}]")
        elif _is_identifier(step):
            parts.append(f".{step}" if parts else step)
        else:
            escaped = step.replace("\\", "\\\\").replace('"', '\\"')
            parts.append(f'["{escaped}"]')
    return "".join(parts)
