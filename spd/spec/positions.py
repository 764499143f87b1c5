"""Where every key and value of a parsed spec file came from, and how key paths are written.

The YAML readers fill a `Positions` table as they build plain dicts and lists; the loader asks it for
the line and column of a key path when it turns a problem into a `Diagnostic`. Positions are kept beside
the data (one flat array of numbers, walked along with the data) instead of wrapping every value, so
valid specs pay little for them and the validated data stays plain.
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
    """Positions of keys and values, in one flat array per file, found by walking the data along a path.

    Each container's positions are a table in `flat`, written when the container is complete: its
    length, then per item its position and its own table (if it is a container), or per key of a
    mapping, in the mapping's own key order, the key's position, the value's and the value's table. A
    table is referred to as its offset + 1 (0: none), so `locate` goes from the root's table to its
    children's without any look-up by identity. While a file is read, `_tables` finds a container's
    table by its `id()` (for the parent that refers to it, for `<<` merges and aliases); `seal` drops it.
    One flat array costs 8 bytes per reference and position: per-container arrays in a dict keyed by
    identity cost over a hundred bytes more per container, and a spec of 200,000 processors holds
    millions of containers.
    """

    __slots__ = ("_root_table", "_tables", "flat", "root")

    def __init__(self) -> None:
        self.flat: array[int] = array("Q")
        self.root = pack(1, 1)
        self._tables: dict[int, int] | None = {}
        """`id()` of each container → its table's offset + 1, until `seal`."""
        self._root_table = 0

    def _table(self, value: Any) -> int:
        """The table of `value` as a reference (offset + 1), 0 if it is no recorded container."""
        tables = self._tables
        if tables is None or type(value) not in (dict, list):
            return 0
        return tables.get(id(value), 0)

    def add_mapping(
        self, mapping: dict[str, Any], key_positions: dict[str, int], value_positions: dict[str, int]
    ) -> None:
        """Record a complete mapping; both position dicts hold exactly its keys, in its order."""
        flat = self.flat
        start = len(flat)
        flat.append(len(mapping))
        flat.extend(
            chain.from_iterable(
                zip(
                    key_positions.values(),
                    value_positions.values(),
                    map(self._table, mapping.values()),
                    strict=True,
                )
            )
        )
        if self._tables is not None:
            self._tables[id(mapping)] = start + 1

    def add_sequence(self, items: list[Any], item_positions: list[int]) -> None:
        """Record a complete list and its items' positions."""
        flat = self.flat
        start = len(flat)
        flat.append(len(items))
        flat.extend(chain.from_iterable(zip(item_positions, map(self._table, items), strict=True)))
        if self._tables is not None:
            self._tables[id(items)] = start + 1

    def seal(self, root: Any) -> None:
        """The file is read and `root` is its data: drop the look-up by identity (`locate` needs none;
        `key_and_value` and `item` answer None from now on)."""
        self._root_table = self._table(root)
        self._tables = None

    def key_and_value(self, mapping: dict[str, Any], key: str) -> tuple[int, int] | None:
        """The packed positions of `key` in a recorded `mapping` and of its value, or None."""
        entry = self._key_entry(self._table(mapping), mapping, key)
        return None if entry is None else (self.flat[entry], self.flat[entry + 1])

    def item(self, items: list[Any], index: int) -> int | None:
        """The packed position of `items[index]` in a recorded list, or None."""
        entry = self._item_entry(self._table(items), items, index)
        return None if entry is None else self.flat[entry]

    def _key_entry(self, table: int, mapping: dict[str, Any], key: str) -> int | None:
        """Where `key`'s (key, value, table) entry starts in `flat`, or None."""
        if not table or key not in mapping:
            return None
        for slot, candidate in enumerate(mapping):
            if candidate == key:
                return table + 3 * slot if slot < self.flat[table - 1] else None
        return None  # pragma: no cover - `key` is in `mapping`

    def _item_entry(self, table: int, items: list[Any], index: int) -> int | None:
        """Where item `index`'s (position, table) entry starts in `flat`, or None."""
        if not table or not 0 <= index < min(len(items), self.flat[table - 1]):
            return None
        return table + 2 * index

    def locate(
        self, data: Any, path: Sequence[PathElem], at: Literal["key", "value"] = "value"
    ) -> tuple[int, int]:
        """Line and column of `path` in `data` (the file's root); the nearest existing ancestor when the
        path runs out.

        `at="key"` gives the key's own position (for unknown or duplicate keys) rather than its value's.
        """
        flat = self.flat
        node = data
        position = self.root
        table = self._root_table if self._tables is None else self._table(data)
        last = len(path) - 1
        for index, step in enumerate(path):
            if isinstance(node, dict):
                if not isinstance(step, str):
                    break
                entry = self._key_entry(table, node, step)
                if entry is None:
                    break
                if at == "key" and index == last:
                    return unpack(flat[entry])
                position, table = flat[entry + 1], flat[entry + 2]
            elif isinstance(node, list):
                if not isinstance(step, int):
                    break
                entry = self._item_entry(table, node, step)
                if entry is None:
                    break
                position, table = flat[entry], flat[entry + 1]
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
