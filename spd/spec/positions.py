"""Where every key and value of a parsed spec file came from, and how key paths are written.

The YAML readers fill a `Positions` table as they build plain dicts and lists; the loader asks it for
the line and column of a key path when it turns a problem into a `Diagnostic`. Positions are kept beside
the data (keyed by the identity of each dict and list) instead of wrapping every value, so valid specs
pay little for them and the validated data stays plain.
"""

from __future__ import annotations

from collections.abc import Sequence
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

    The containers are kept alive by the parsed document for as long as the table is used, so their
    identities are stable.
    """

    __slots__ = ("keys", "root", "values")

    def __init__(self) -> None:
        self.keys: dict[int, dict[str, int]] = {}
        self.values: dict[int, Any] = {}
        self.root = pack(1, 1)

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
            table = self.values.get(id(node))
            if table is None:
                break
            if isinstance(node, dict):
                if not isinstance(step, str) or step not in node:
                    break
                if at == "key" and index == last:
                    return unpack(self.keys[id(node)][step])
                position = table[step]
                node = node[step]
            elif isinstance(node, list):
                if not isinstance(step, int) or not 0 <= step < len(node):
                    break
                position = table[step]
                node = node[step]
            else:
                break
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
