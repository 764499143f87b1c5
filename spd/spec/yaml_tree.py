"""Builds the plain data of a spec file (dicts, lists, scalars) together with its `Positions`.

The spec's YAML reader (`yaml_source`) and the tests' reference reader drive one `TreeBuilder`, so they
agree on everything beyond YAML syntax: how scalars resolve (`scalars.resolve_plain`), `${VAR}`
expansion, that keys must be strings, that a duplicate key is an error at its second occurrence (the
first value is kept), and what `<<` merge keys add. Problems are collected, not raised, so
one pass reports all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spd.spec.expand import expand
from spd.spec.positions import Path, PathElem, Positions, pack, unpack
from spd.spec.scalars import Yaml11Bool, resolve_plain


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """A problem found while reading YAML, located at a line and column and, when known, a key path."""

    line: int
    column: int
    path: Path
    message: str


class TreeBuilder:
    """Creates containers, registers positions, resolves scalars and keys."""

    __slots__ = ("_pending", "_strings", "environ", "positions")

    def __init__(self, environ: Mapping[str, str]) -> None:
        self.environ = environ
        self.positions = Positions()
        self._strings: dict[str, str] = {}
        """One object per distinct key or string value of the file: the parser makes a new string for
        every occurrence, and a fleet repeats its keys (and many values) once per processor, which was
        a sixth of the parsed file's memory. Dropped with the builder, once the file is read."""
        # (packed position, message, parent container, slot in the parent) until paths are resolved.
        self._pending: list[tuple[int, str, object, PathElem | None]] = []

    def new_map(self) -> tuple[dict[str, Any], dict[str, int], dict[str, int]]:
        """A mapping and the positions of its keys and values, filled together by the reader (so all
        three have the same keys in the same order), then handed to `end_map`."""
        return {}, {}, {}

    def end_map(
        self, mapping: dict[str, Any], key_positions: dict[str, int], value_positions: dict[str, int]
    ) -> None:
        """The mapping is complete (its merge keys applied): its positions go into the table."""
        self.positions.add_mapping(mapping, key_positions, value_positions)

    def new_seq(self) -> tuple[list[Any], list[int]]:
        return [], []

    def end_seq(self, items: list[Any], item_positions: list[int]) -> None:
        """The list is complete: its items' positions go into the table."""
        self.positions.add_sequence(items, item_positions)

    def scalar(self, text: str, plain: bool, position: int, parent: object, slot: PathElem | None) -> Any:
        """The value of a scalar: expanded, then (when unquoted) resolved like YAML 1.2 would."""
        if "$" in text:
            text, problems = expand(text, self.environ)
            for message in problems:
                self._pending.append((position, message, parent, slot))
        value = resolve_plain(text) if plain else text
        return self._strings.setdefault(value, value) if type(value) is str else value

    def key(
        self,
        mapping: dict[str, Any],
        key_positions: dict[str, int],
        text: str,
        plain: bool,
        position: int,
    ) -> str | None:
        """The key to store under, or None when the key is rejected (reported here)."""
        key: Any = resolve_plain(text) if plain else text
        if type(key) is str:
            key = self._strings.setdefault(key, key)
        if not isinstance(key, str):
            shown = key.text if isinstance(key, Yaml11Bool) else text or "an empty key"
            self._pending.append(
                (position, f"keys must be strings; quote {shown!r} if it is meant as one", mapping, None)
            )
            return None
        if key in mapping or key in key_positions:
            first_line, _ = unpack(key_positions[key])
            self._pending.append(
                (position, f"duplicate key {key!r} (first defined at line {first_line})", mapping, key)
            )
            return None
        return key

    def merge(
        self,
        mapping: dict[str, Any],
        key_positions: dict[str, int],
        value_positions: dict[str, int],
        merged: Any,
        merged_position: int,
    ) -> None:
        """YAML merge keys: `<<: *base` (or a list of them) adds the keys `mapping` lacks, with their positions."""
        sources = merged if isinstance(merged, list) else [merged]
        for source in sources:
            if not isinstance(source, dict):
                line, column = unpack(merged_position)
                self.problem(line, column, "<< merges mappings only", mapping, "<<")
                continue
            for key, value in source.items():
                if key not in mapping:
                    found = self.positions.key_and_value(source, key)
                    mapping[key] = value
                    key_positions[key] = merged_position if found is None else found[0]
                    value_positions[key] = merged_position if found is None else found[1]

    def problem(self, line: int, column: int, message: str, parent: object, slot: PathElem | None) -> None:
        self._pending.append((pack(line, column), message, parent, slot))

    def problems(self, root: Any) -> list[SourceProblem]:
        """Every problem found, with key paths resolved against the finished document."""
        if not self._pending:
            return []
        paths = _container_paths(root)
        result = []
        for position, message, parent, slot in self._pending:
            line, column = unpack(position)
            base = paths.get(id(parent), ())
            path = (*base, slot) if slot is not None else base
            result.append(SourceProblem(line, column, path, message))
        return result


def _container_paths(root: Any) -> dict[int, Path]:
    """id() of every dict and list in the document → its key path (first path wins for shared ones)."""
    paths: dict[int, Path] = {}
    stack: list[tuple[Any, Path]] = [(root, ())]
    while stack:
        node, path = stack.pop()
        if id(node) in paths:
            continue
        if isinstance(node, dict):
            paths[id(node)] = path
            stack.extend((value, (*path, key)) for key, value in node.items())
        elif isinstance(node, list):
            paths[id(node)] = path
            stack.extend((value, (*path, index)) for index, value in enumerate(node))
    return paths
