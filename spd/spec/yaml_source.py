"""Reads one spec file's text into plain data with positions, reporting YAML problems as located issues.

Called by `spd.spec.loader`. One reader: libyaml's C parser (through PyYAML's `CSafeLoader`) produces
the event stream, and the data is built from it here. PyYAML's constructors are not used: they would
decide scalar types YAML-1.1 style, drop positions and stop at the first duplicate key; `TreeBuilder`
resolves scalars YAML-1.2 style instead. Malformed YAML, tabs in indentation or as separators, several
documents in one file, unsupported tags, undefined aliases and nesting beyond `nesting.MAX_NESTING` all
come back as `SourceProblem`s; nothing here raises on bad input.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from yaml import YAMLError
from yaml.events import (
    AliasEvent,
    DocumentStartEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceStartEvent,
    StreamEndEvent,
)

from spd.spec.nesting import MAX_NESTING, TOO_DEEP_MESSAGE, TooDeep, height
from spd.spec.positions import COLUMN_BITS, PathElem, Positions, unpack
from spd.spec.yaml_tree import SourceProblem, TreeBuilder

_CORE_TAG_PREFIX = "tag:yaml.org,2002:"
_STR_TAG = _CORE_TAG_PREFIX + "str"
_COLUMN_MASK = (1 << COLUMN_BITS) - 1
_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser; PyYAML's pure-Python one (same events, slower) where PyYAML was built without it."""

_NODE_EVENTS = (ScalarEvent, MappingStartEvent, SequenceStartEvent, AliasEvent)


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
    """Parse `text` (the content of `file`) into data, positions and problems."""
    builder = TreeBuilder(environ)
    try:
        data = _EventReader(builder, text).read()
    except YAMLError as exc:
        # libyaml gives up at 1,000 flow levels while it looks ahead, before spd's own limit is met in
        # the events; flow nesting past spd's limit before the error is then the problem to report.
        mark = getattr(exc, "problem_mark", None)
        too_deep = _flow_too_deep(text, mark.index if mark is not None else len(text))
        if too_deep is not None:
            line, column = unpack(_LineTable(text).position(too_deep))
            problem = SourceProblem(line, column, (), TOO_DEEP_MESSAGE)
        else:
            problem = _syntax_problem(text, exc)
        return SourceDocument(file, None, builder.positions, (problem,), False)
    except TooDeep as exc:
        problem = SourceProblem(exc.line, exc.column, (), TOO_DEEP_MESSAGE)
        return SourceDocument(file, None, builder.positions, (problem,), False)
    except (RecursionError, ValueError, TypeError, IndexError, KeyError, AttributeError) as exc:
        # Defensive: the parser should only raise YAMLError, and nesting is bounded above so nothing
        # recurses deeply; still, a spec must never produce a traceback.
        problem = SourceProblem(1, 1, (), f"cannot read this file as YAML ({type(exc).__name__}: {exc})")
        return SourceDocument(file, None, builder.positions, (problem,), False)
    problems = tuple(builder.problems(data))
    builder.positions.seal(data)
    return SourceDocument(file, data, builder.positions, problems, True)


def _mark(event: Any) -> int:
    mark = event.start_mark
    line: int = mark.line + 1
    column: int = mark.column + 1
    return (line << COLUMN_BITS) | min(column, _COLUMN_MASK)


_UNUSUAL_BREAKS = ("\u2028", "\u2029", "\x85")
"""Line breaks to libyaml (YAML 1.1), plain characters to YAML 1.2 and to editors: lines are not counted
at them, so a file holding one gets its positions from character offsets instead."""


class _LineTable:
    """Line and column of a character offset, with lines broken at \\n, \\r\\n and \\r only."""

    def __init__(self, text: str) -> None:
        self.starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]

    def mark(self, event: Any) -> int:
        return self.position(event.start_mark.index)

    def position(self, index: int) -> int:
        line = bisect.bisect_right(self.starts, index)
        column = index - self.starts[line - 1] + 1
        return (line << COLUMN_BITS) | min(column, _COLUMN_MASK)


def _explicit_tag(event: Any) -> str | None:
    tag: str | None = event.tag
    return None if tag is None or tag == "!" else tag


class _EventReader:
    """Builds data from libyaml's parse events: aliases share their anchor's value, `<<` merges.

    `depth` is the number of collections around a node; a collection at depth `MAX_NESTING` (or an
    alias whose value would reach past it) raises `TooDeep` before the reader descends any further.
    Written for speed as much as for clarity: it is the whole cost of reading a 10,000-processor spec,
    so it calls the C parser's `get_event` directly and dispatches on the event's exact type.
    """

    def __init__(self, builder: TreeBuilder, text: str) -> None:
        self.b = builder
        self.text = text
        self.anchors: dict[str, tuple[Any, int]] = {}
        self.heights: dict[int, int] = {}
        self.loader = _LOADER(text)
        self.next: Callable[[], Any] = self.loader.get_event
        unusual = any(char in text for char in _UNUSUAL_BREAKS)
        self.mark: Callable[[Any], int] = _LineTable(text).mark if unusual else _mark

    def read(self) -> Any:
        try:
            return self._read()
        finally:
            self.loader.dispose()

    def _read(self) -> Any:
        nxt = self.next
        nxt()  # StreamStartEvent
        event = nxt()
        if type(event) is StreamEndEvent:
            return None
        data, position = self.node(nxt(), None, None, None, 0)
        nxt()  # DocumentEndEvent
        if data is not None:  # an empty document stays at 1:1
            self.b.positions.root = position
        event = nxt()
        if type(event) is DocumentStartEvent:
            line, column = unpack(self.mark(event))
            self.b.problem(
                line, column, "a spec file holds one YAML document; split it into files", None, None
            )
            # Drain the rest so that syntax errors later in the stream are still found.
            while type(nxt()) is not StreamEndEvent:
                pass
        return data

    def node(
        self, event: Any, parent: object, slot: PathElem | None, key_position: int | None, depth: int
    ) -> tuple[Any, int]:
        position = self.mark(event)
        kind = type(event)
        if kind is AliasEvent:
            found = self.anchors.get(event.anchor)
            if found is None:
                line, column = unpack(position)
                self.b.problem(line, column, f"alias *{event.anchor} refers to no anchor", parent, slot)
                return None, position
            if depth + height(found[0], self.heights) > MAX_NESTING:
                raise TooDeep(*unpack(position))
            return found
        if depth >= MAX_NESTING and kind is not ScalarEvent:
            raise TooDeep(*unpack(position))
        tag = _explicit_tag(event)
        value: Any
        if kind is ScalarEvent:
            plain = not event.style and tag is None
            if tag is not None and tag != _STR_TAG:
                self._unsupported_tag(event, tag, parent, slot)
            if plain and event.value == "" and key_position is not None:
                # An empty value sits at its key.
                position = key_position
            value = self.b.scalar(event.value, plain, position, parent, slot)
        elif kind is MappingStartEvent:
            if tag is not None:
                self._unsupported_tag(event, tag, parent, slot)
            value = self.mapping(depth, bool(event.flow_style))
        elif kind is SequenceStartEvent:
            if tag is not None:
                self._unsupported_tag(event, tag, parent, slot)
            value = self.sequence(depth)
        else:  # pragma: no cover - the parser emits nothing else in node position
            raise YAMLError(f"unexpected {kind.__name__}")
        if event.anchor:
            self.anchors[event.anchor] = (value, position)
        return value, position

    def _unsupported_tag(self, event: Any, tag: str, parent: object, slot: PathElem | None) -> None:
        line, column = unpack(self.mark(event))
        shown = "!!" + tag.removeprefix(_CORE_TAG_PREFIX) if tag.startswith(_CORE_TAG_PREFIX) else tag
        self.b.problem(line, column, f"YAML tag {shown} is not supported here (only !!str is)", parent, slot)

    def _tab_before(self, event: Any, since: int, parent: object, slot: PathElem | None) -> None:
        """A tab between a block mapping's `:` and the value: valid YAML 1.2, but refused like a tab in
        indentation (inside `{...}` a tab is ordinary white space).

        Tabs look like spaces and mean something else in indentation, so spd asks for spaces everywhere.
        """
        text = self.text
        start = event.start_mark.index
        gap = text[since:start].split("\n", 1)[0].split("#", 1)[0]  # a comment may hold tabs
        if "\t" in gap:
            offset = since + gap.index("\t")
            line, column = unpack(_LineTable(text[: offset + 1]).position(offset))
            self.b.problem(
                line, column, "tab character here; separate YAML with spaces instead", parent, slot
            )

    def mapping(self, depth: int, flow: bool) -> dict[str, Any]:
        b = self.b
        nxt = self.next
        mapping, key_positions, value_positions = b.new_map()
        merges: list[tuple[Any, int]] = []
        while True:
            event = nxt()
            kind = type(event)
            if kind is not ScalarEvent and kind not in _NODE_EVENTS:
                break  # MappingEndEvent
            key_position = self.mark(event)
            if kind is not ScalarEvent:
                line, column = unpack(key_position)
                b.problem(
                    line, column, "keys must be plain strings, not collections or aliases", mapping, None
                )
                self.node(event, mapping, None, None, depth + 1)
                self.node(nxt(), mapping, None, None, depth + 1)
                continue
            plain = not event.style and _explicit_tag(event) is None
            key_end = event.end_mark.index
            value_event = nxt()
            if not flow and value_event.start_mark.index > key_end + 1:
                self._tab_before(value_event, key_end, mapping, event.value)
            if plain and event.value == "<<":
                merges.append(self.node(value_event, mapping, "<<", key_position, depth + 1))
                continue
            key = b.key(mapping, key_positions, event.value, plain, key_position)
            value, value_position = self.node(value_event, mapping, key, key_position, depth + 1)
            if key is not None:
                mapping[key] = value
                key_positions[key] = key_position
                value_positions[key] = value_position
        for merged, merged_position in merges:
            b.merge(mapping, key_positions, value_positions, merged, merged_position)
        b.end_map(mapping, key_positions, value_positions)
        return mapping

    def sequence(self, depth: int) -> list[Any]:
        nxt = self.next
        items, item_positions = self.b.new_seq()
        while True:
            event = nxt()
            if type(event) not in _NODE_EVENTS:
                break  # SequenceEndEvent
            value, position = self.node(event, items, len(items), None, depth + 1)
            items.append(value)
            item_positions.append(position)
        self.b.end_seq(items, item_positions)
        return items


def _flow_too_deep(text: str, end: int) -> int | None:
    """Offset of the first `[` or `{` before `end` that opens more than `MAX_NESTING` flow levels.

    Quoted scalars and comments are skipped; block levels are not counted, so this only ever finds
    nesting that is too deep on flow levels alone.
    """
    depth = 0
    index = 0
    while index < end:
        char = text[index]
        if char in "[{":
            depth += 1
            if depth > MAX_NESTING:
                return index
        elif char in "]}":
            depth = max(depth - 1, 0)
        elif char == "'":
            close = text.find("'", index + 1)
            while close != -1 and text.startswith("''", close):
                close = text.find("'", close + 2)
            index = end if close == -1 else close
        elif char == '"':
            close = index + 1
            while close < end and text[close] != '"':
                close += 2 if text[close] == "\\" else 1
            index = close
        elif char == "#" and (index == 0 or text[index - 1] in " \t\n"):
            newline = text.find("\n", index)
            index = end if newline == -1 else newline
        index += 1
    return None


def _syntax_problem(text: str, exc: YAMLError) -> SourceProblem:
    """A located message for malformed YAML, naming tabs in indentation for what they are."""
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None and any(char in text for char in _UNUSUAL_BREAKS):
        line, column = unpack(_LineTable(text).position(mark.index))
    elif mark is not None:
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
