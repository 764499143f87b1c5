"""The reference the spec's YAML reader is tested against: an independent parser (ruamel.yaml's pure
Python one) driving the same `TreeBuilder`, so data, every position and every problem can be compared.

This was spd's reader for the YAML outside its old fast subset; it stays here as a test oracle only.
"""

from __future__ import annotations

from collections.abc import Iterator
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

from spd.spec.positions import PathElem, pack
from spd.spec.yaml_tree import TreeBuilder

_CORE_TAG_PREFIX = "tag:yaml.org,2002:"
_STR_TAG = _CORE_TAG_PREFIX + "str"
_MAX_DEPTH = 64


class _TooDeep(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line = line
        self.column = column


def _mark(event: Any) -> int:
    mark = event.start_mark
    return pack(mark.line + 1, mark.column + 1)


def _explicit_tag(event: Any) -> str | None:
    tag = getattr(event, "ctag", None)
    if tag is None:
        return None
    text = str(tag)
    return None if text == "!" else text


class RuamelReader:
    """Builds data from ruamel's parse events: aliases share their anchor's value, `<<` merges."""

    def __init__(self, builder: TreeBuilder) -> None:
        self.b = builder
        self.anchors: dict[str, tuple[Any, int]] = {}
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
        if depth > _MAX_DEPTH:
            raise _TooDeep(event.start_mark.line + 1, event.start_mark.column + 1)
        if isinstance(event, AliasEvent):
            found = self.anchors.get(event.anchor)
            if found is None:
                line, column = event.start_mark.line + 1, event.start_mark.column + 1
                self.b.problem(line, column, f"alias *{event.anchor} refers to no anchor", parent, slot)
                return None, position
            return found
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
            b.merge(mapping, key_positions, value_positions, merged, merged_position)
        b.end_map(mapping, key_positions, value_positions)
        return mapping

    def sequence(self, depth: int) -> list[Any]:
        items, item_positions = self.b.new_seq()
        while True:
            event = next(self.events)
            if not isinstance(event, ScalarEvent | MappingStartEvent | SequenceStartEvent | AliasEvent):
                break  # SequenceEndEvent
            value, position = self.node(event, items, len(items), None, depth + 1)
            items.append(value)
            item_positions.append(position)
        self.b.end_seq(items, item_positions)
        return items
