"""Reads one spec file's text into plain data with positions, reporting YAML problems as located issues.

Called by `spd.spec.loader`. The fast reader (`fast_yaml`) handles the common subset; everything else
goes through ruamel.yaml's pure-Python parser, whose event stream is turned into data here (ruamel's own
constructors are not used: they would decide scalar types YAML-1.1 style, drop positions and stop at the
first duplicate key). Malformed YAML, tabs in indentation, several documents in one file, unsupported
tags and undefined aliases all come back as `SourceProblem`s; nothing here raises on bad input.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError
from ruamel.yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from spd.spec.fast_yaml import Declined, read_fast
from spd.spec.nesting import MAX_NESTING, TOO_DEEP_MESSAGE, TooDeep, height
from spd.spec.positions import PathElem, Positions, pack, unpack
from spd.spec.yaml_tree import SourceProblem, TreeBuilder

_CORE_TAG_PREFIX = "tag:yaml.org,2002:"
_STR_TAG = _CORE_TAG_PREFIX + "str"


@dataclass(frozen=True, slots=True)
class SourceDocument:
    """One file read as YAML. `data` is None when the file is empty or could not be parsed."""

    file: str
    data: Any
    positions: Positions
    problems: tuple[SourceProblem, ...]
    parsed: bool
    """False when the YAML itself is malformed (then `problems` says where)."""


def read_document(text: str, file: str, environ: Mapping[str, str]) -> SourceDocument:
    """Parse `text` (the content of `file`) with the fast reader, or the full one when it declines."""
    builder = TreeBuilder(environ)
    try:
        data = read_fast(text, builder)
    except Declined:
        pass
    else:
        return SourceDocument(file, data, builder.positions, tuple(builder.problems(data)), True)
    builder = TreeBuilder(environ)
    try:
        data = _EventReader(builder).read(text)
    except YAMLError as exc:
        return SourceDocument(file, None, builder.positions, (_syntax_problem(text, exc),), False)
    except TooDeep as exc:
        problem = SourceProblem(exc.line, exc.column, (), TOO_DEEP_MESSAGE)
        return SourceDocument(file, None, builder.positions, (problem,), False)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        # Defensive: the parser should only raise YAMLError, and nesting is bounded above so nothing
        # recurses deeply; still, a spec must never produce a traceback.
        problem = SourceProblem(1, 1, (), f"cannot read this file as YAML ({type(exc).__name__}: {exc})")
        return SourceDocument(file, None, builder.positions, (problem,), False)
    return SourceDocument(file, data, builder.positions, tuple(builder.problems(data)), True)


def _mark(event: Any) -> int:
    mark = event.start_mark
    return pack(mark.line + 1, mark.column + 1)


def _explicit_tag(event: Any) -> str | None:
    tag = getattr(event, "ctag", None)
    if tag is None:
        return None
    text = str(tag)
    return None if text == "!" else text


class _EventReader:
    """Builds data from ruamel's parse events: aliases share their anchor's value, `<<` merges.

    `depth` is the number of collections around a node; a collection at depth `MAX_NESTING` (or an
    alias whose value would reach past it) raises `TooDeep` before the reader descends any further.
    """

    def __init__(self, builder: TreeBuilder) -> None:
        self.b = builder
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.heights: dict[int, int] = {}
        self.events: Iterator[Any] = iter(())

    def read(self, text: str) -> Any:
        self.events = iter(YAML(typ="safe", pure=True).parse(text))
        next(self.events)  # StreamStartEvent
        event = next(self.events)
        if isinstance(event, StreamEndEvent):
            return None
        data, position = self.node(next(self.events), None, None, None, 0)
        next(self.events)  # DocumentEndEvent
        if data is not None:  # an empty document stays at 1:1, as in the fast reader
            self.b.positions.root = position
        event = next(self.events)
        if isinstance(event, DocumentStartEvent):
            line, column = event.start_mark.line + 1, event.start_mark.column + 1
            self.b.problem(
                line, column, "a spec file holds one YAML document; split it into files", None, None
            )
            # Drain the rest so that syntax errors later in the stream are still found.
            for _ in self.events:
                pass
        return data

    def node(
        self, event: Any, parent: object, slot: PathElem | None, key_position: int | None, depth: int
    ) -> tuple[Any, int]:
        position = _mark(event)
        if isinstance(event, AliasEvent):
            found = self.anchors.get(event.anchor)
            if found is None:
                line, column = event.start_mark.line + 1, event.start_mark.column + 1
                self.b.problem(line, column, f"alias *{event.anchor} refers to no anchor", parent, slot)
                return None, position
            if depth + height(found[0], self.heights) > MAX_NESTING:
                raise TooDeep(event.start_mark.line + 1, event.start_mark.column + 1)
            return found
        if depth >= MAX_NESTING and not isinstance(event, ScalarEvent):
            raise TooDeep(event.start_mark.line + 1, event.start_mark.column + 1)
        tag = _explicit_tag(event)
        value: Any
        if isinstance(event, ScalarEvent):
            plain = event.style is None and tag is None
            if tag is not None and tag != _STR_TAG:
                self._unsupported_tag(event, tag, parent, slot)
            if plain and event.value == "" and key_position is not None:
                # An empty value sits at its key, in both readers.
                position = key_position
            value = self.b.scalar(event.value, plain, position, parent, slot)
        elif isinstance(event, MappingStartEvent):
            if tag is not None:
                self._unsupported_tag(event, tag, parent, slot)
            value = self.mapping(depth)
        elif isinstance(event, SequenceStartEvent):
            if tag is not None:
                self._unsupported_tag(event, tag, parent, slot)
            value = self.sequence(depth)
        else:  # pragma: no cover - the parser emits nothing else in node position
            raise YAMLError(f"unexpected {type(event).__name__}")
        anchor = getattr(event, "anchor", None)
        if anchor:
            self.anchors[anchor] = (value, position)
        return value, position

    def _unsupported_tag(self, event: Any, tag: str, parent: object, slot: PathElem | None) -> None:
        line, column = event.start_mark.line + 1, event.start_mark.column + 1
        shown = "!!" + tag.removeprefix(_CORE_TAG_PREFIX) if tag.startswith(_CORE_TAG_PREFIX) else tag
        self.b.problem(line, column, f"YAML tag {shown} is not supported here (only !!str is)", parent, slot)

    def mapping(self, depth: int) -> dict[str, Any]:
        b = self.b
        mapping, key_positions, value_positions = b.new_map()
        merges: list[tuple[Any, int]] = []
        while True:
            event = next(self.events)
            if not isinstance(event, ScalarEvent | MappingStartEvent | SequenceStartEvent | AliasEvent):
                break  # MappingEndEvent
            key_position = _mark(event)
            if not isinstance(event, ScalarEvent):
                line, column = event.start_mark.line + 1, event.start_mark.column + 1
                b.problem(
                    line, column, "keys must be plain strings, not collections or aliases", mapping, None
                )
                self.node(event, mapping, None, None, depth + 1)
                self.node(next(self.events), mapping, None, None, depth + 1)
                continue
            plain = event.style is None and _explicit_tag(event) is None
            if plain and event.value == "<<":
                merges.append(self.node(next(self.events), mapping, "<<", key_position, depth + 1))
                continue
            key = b.key(mapping, key_positions, event.value, plain, key_position)
            value, value_position = self.node(next(self.events), mapping, key, key_position, depth + 1)
            if key is not None:
                mapping[key] = value
                key_positions[key] = key_position
                value_positions[key] = value_position
        for merged, merged_position in merges:
            self._merge(mapping, key_positions, value_positions, merged, merged_position)
        return mapping

    def _merge(
        self,
        mapping: dict[str, Any],
        key_positions: dict[str, int],
        value_positions: dict[str, int],
        merged: Any,
        merged_position: int,
    ) -> None:
        """YAML merge keys: `<<: *base` (or a list of them) adds the keys the mapping lacks."""
        sources = merged if isinstance(merged, list) else [merged]
        for source in sources:
            if not isinstance(source, dict):
                line, column = unpack(merged_position)
                self.b.problem(line, column, "<< merges mappings only", mapping, "<<")
                continue
            source_keys = self.b.positions.keys.get(id(source), {})
            source_values = self.b.positions.values.get(id(source), {})
            for key, value in source.items():
                if key not in mapping:
                    mapping[key] = value
                    key_positions[key] = source_keys.get(key, merged_position)
                    value_positions[key] = source_values.get(key, merged_position)

    def sequence(self, depth: int) -> list[Any]:
        items, item_positions = self.b.new_seq()
        while True:
            event = next(self.events)
            if not isinstance(event, ScalarEvent | MappingStartEvent | SequenceStartEvent | AliasEvent):
                break  # SequenceEndEvent
            value, position = self.node(event, items, len(items), None, depth + 1)
            items.append(value)
            item_positions.append(position)
        return items


def _syntax_problem(text: str, exc: YAMLError) -> SourceProblem:
    """A located message for malformed YAML, naming tabs in indentation for what they are."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        line, column = mark.line + 1, mark.column + 1
    elif isinstance(getattr(exc, "position", None), int):
        offset: int = exc.position  # type: ignore[attr-defined]
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    else:
        line, column = 1, 1
    tab = _first_indent_tab(text, line)
    if tab is not None:
        return SourceProblem(
            tab[0], tab[1], (), "tab character in indentation; YAML indents with spaces only"
        )
    if _char_at(text, line, column) == "\t":
        return SourceProblem(line, column, (), "tab character here; separate YAML with spaces instead")
    problem = getattr(exc, "problem", None) or getattr(exc, "reason", None) or str(exc).strip()
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}"
    if context:
        message += f" ({context})"
    if "${" in _line_at(text, line) and "flow" in message:
        message += '; inside {...} or [...], write "${VAR}" in quotes (braces are YAML syntax there)'
    return SourceProblem(line, column, (), message)


def _line_at(text: str, line: int) -> str:
    lines = text.split("\n")
    return lines[line - 1] if 1 <= line <= len(lines) else ""


def _char_at(text: str, line: int, column: int) -> str:
    content = _line_at(text, line)
    return content[column - 1] if 1 <= column <= len(content) else ""


def _first_indent_tab(text: str, up_to_line: int) -> tuple[int, int] | None:
    """The first tab in a line's leading whitespace, on or before the line a parse error was found."""
    for number, raw in enumerate(text.split("\n")[:up_to_line], 1):
        stripped = raw.lstrip(" \t")
        if stripped.startswith("#") or not stripped:
            continue
        leading = raw[: len(raw) - len(stripped)]
        if "\t" in leading:
            return number, leading.index("\t") + 1
    return None
