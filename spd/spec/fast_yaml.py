"""A fast reader for the plain block-style YAML that spec files are nearly always written in.

Called by `yaml_source.read_document` before the full YAML reader. A general YAML parser written in
Python spends most of a large fleet's load time building tokens, events and nodes; this reader walks the
lines once and builds the data directly. It accepts a strict subset - block mappings and sequences,
one-line flow collections, plain scalars, and quoted scalars without escapes - and raises `Declined` the
moment it meets anything else (anchors, tags, block scalars, multi-line scalars, escapes, tabs, odd
indentation, syntax errors...). The full reader then reads the whole file, so the subset only decides
speed, never meaning: on every text it accepts it must build exactly what the full reader builds, data
and positions alike (tests/spec check this on generated documents).
"""

from __future__ import annotations

import re
from typing import Any

from spd.spec.nesting import MAX_NESTING
from spd.spec.positions import COLUMN_BITS, PathElem
from spd.spec.scalars import is_plain_string, resolve_plain
from spd.spec.yaml_tree import TreeBuilder


class Declined(Exception):
    """The text uses YAML outside this reader's subset; the full reader must handle it."""


# Anything outside printable ASCII, newline and the plainly printable Unicode ranges (tabs, CR, BOM,
# control and line-separator characters) sends the file to the full reader.
_UNUSUAL = re.compile(
    r"[^\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_MAX_LINE = (1 << COLUMN_BITS) - 1
"""Longer lines would not fit a packed position; the full reader takes such files."""

_KEY_CHARS = r"A-Za-z0-9_.\-/@=+"
# Block keys; each consumes the spaces after its colon.
_PLAIN_KEY = re.compile(rf"([A-Za-z0-9_][{_KEY_CHARS}]*(?::[{_KEY_CHARS}]+)*) *:(?: +|\Z)")
_DQ_KEY = re.compile(r'"([^"\\]*)" *:(?: +|\Z)')
_SQ_KEY = re.compile(r"'([^']*)' *:(?: +|\Z)")
_FIRST = r"(?:[A-Za-z0-9_./~+$(\u00a0-\U0010ffff]|-(?=[0-9.]))"
_BLOCK_BODY = r"(?:[^ :#]|:(?=[^ ])|(?<! )#| +(?=[^ #]))*"
_FLOW_BODY = r"(?:[^ :#,\[\]{}]|:(?=[^ ,\[\]{}])|(?<! )#| +(?=[^ #,\[\]{}:]))*"
_TRAIL = r"(?: +(?:#.*)?)?\Z"
# A whole block value: the scalar, then nothing but an optional comment.
_PLAIN_VALUE = re.compile(f"({_FIRST}{_BLOCK_BODY}){_TRAIL}")
_DQ_VALUE = re.compile(rf'"([^"\\]*)"{_TRAIL}')
_SQ_VALUE = re.compile(rf"'([^']*)'(?!'){_TRAIL}")
_TRAILING = re.compile(_TRAIL)
# One token of a flow collection, after optional spaces: 1 punctuation, 2 a ': ' separator,
# 3 double-quoted, 4 single-quoted, 5 plain.
_FLOW_TOKEN = re.compile(
    rf""" *(?:([{{}}\[\],])|(:)(?= )|"([^"\\]*)"|'([^']*)'(?!')|({_FIRST}{_FLOW_BODY}))"""
)
_PUNCT, _COLON, _DQ, _SQ, _PLAIN = 1, 2, 3, 4, 5


def read_fast(text: str, builder: TreeBuilder) -> Any:
    """The document's data (None when it holds no content), or `Declined`."""
    if _UNUSUAL.search(text):
        raise Declined
    linenos: list[int] = []
    indents: list[int] = []
    contents: list[str] = []
    for number, raw in enumerate(text.split("\n"), 1):
        content = raw.lstrip(" ")
        if not content or content[0] == "#":
            continue
        if len(raw) >= _MAX_LINE:
            raise Declined
        indent = len(raw) - len(content)
        if indent == 0:
            head = content[:3]
            if (head == "---" or head == "...") and (len(content) == 3 or content[3] == " "):
                if not contents and head == "---" and _TRAILING.match(content, 3):
                    continue
                raise Declined
            if content[0] == "%":
                raise Declined
        linenos.append(number)
        indents.append(indent)
        contents.append(content)
    if not contents:
        return None
    reader = _Reader(builder, linenos, indents, contents)
    data, position = reader.node(indents[0], 0)
    if reader.i < len(contents):
        raise Declined
    builder.positions.root = position
    return data


def _is_item(content: str) -> bool:
    return content[0] == "-" and (len(content) == 1 or content[1] == " ")


def _key_match(content: str, start: int) -> re.Match[str] | None:
    first = content[start]
    if first == '"':
        return _DQ_KEY.match(content, start)
    if first == "'":
        return _SQ_KEY.match(content, start)
    return _PLAIN_KEY.match(content, start)


class _Reader:
    """Recursive descent over the lines; `depth` is the number of collections around a node.

    A collection beyond `MAX_NESTING` is declined, so the recursion stays shallow and the full reader
    reports the file (located) without recursing at all.
    """

    __slots__ = ("b", "contents", "i", "indents", "linenos", "n")

    def __init__(self, builder: TreeBuilder, linenos: list[int], indents: list[int], contents: list[str]):
        self.b = builder
        self.linenos = linenos
        self.indents = indents
        self.contents = contents
        self.i = 0
        self.n = len(contents)

    def node(self, indent: int, depth: int) -> tuple[Any, int]:
        if _is_item(self.contents[self.i]):
            return self.sequence(indent, depth)
        return self.mapping(indent, depth)

    def mapping(self, indent: int, depth: int) -> tuple[Any, int]:
        if depth >= MAX_NESTING:
            raise Declined
        b = self.b
        contents, indents, linenos, n = self.contents, self.indents, self.linenos, self.n
        mapping, key_positions, value_positions = b.new_map()
        position = (linenos[self.i] << COLUMN_BITS) | (indent + 1)
        plain_key = _PLAIN_KEY.match
        while self.i < n and indents[self.i] == indent:
            content = contents[self.i]
            line = linenos[self.i]
            plain = content[0] != '"' and content[0] != "'"
            match = plain_key(content) if plain else _key_match(content, 0)
            if match is None:
                raise Declined
            key_position = (line << COLUMN_BITS) | (indent + 1)
            text = match[1]
            key: str | None
            if plain and text not in mapping and is_plain_string(text):
                key = text
            else:
                key = b.key(mapping, key_positions, text, plain, key_position)
            j = match.end()
            value: Any
            if j == len(content) or content[j] == "#":
                self.i += 1
                if self.i < n and indents[self.i] > indent:
                    value, value_position = self.node(indents[self.i], depth + 1)
                elif self.i < n and indents[self.i] == indent and _is_item(contents[self.i]):
                    value, value_position = self.sequence(indent, depth + 1)
                else:
                    value, value_position = None, key_position
            else:
                value, value_position = self.inline(content, j, indent, line, mapping, key, depth + 1)
                self.i += 1
                # A deeper line now would continue a multi-line scalar (or be an error).
                if self.i < n and indents[self.i] > indent:
                    raise Declined
            if key is not None:
                mapping[key] = value
                key_positions[key] = key_position
                value_positions[key] = value_position
        if self.i < n and indents[self.i] > indent:
            raise Declined
        return mapping, position

    def sequence(self, indent: int, depth: int) -> tuple[Any, int]:
        if depth >= MAX_NESTING:
            raise Declined
        contents, indents, linenos, n = self.contents, self.indents, self.linenos, self.n
        items, item_positions = self.b.new_seq()
        position = (linenos[self.i] << COLUMN_BITS) | (indent + 1)
        while self.i < n and indents[self.i] == indent:
            content = contents[self.i]
            if not _is_item(content):
                break
            j = 1
            length = len(content)
            while j < length and content[j] == " ":
                j += 1
            value: Any
            if j == length or content[j] == "#":
                # A dash alone: the item is the block below it (an empty item is left to the full reader).
                self.i += 1
                if self.i < n and indents[self.i] > indent:
                    value, value_position = self.node(indents[self.i], depth + 1)
                else:
                    raise Declined
            elif _is_item(content[j:]) or _key_match(content, j) is not None:
                # A compact nested collection: read the rest of the line as a line of its own.
                contents[self.i] = content[j:]
                indents[self.i] = indent + j
                value, value_position = self.node(indent + j, depth + 1)
            else:
                value, value_position = self.inline(
                    content, j, indent, linenos[self.i], items, len(items), depth + 1
                )
                self.i += 1
                if self.i < n and indents[self.i] > indent:
                    raise Declined
            items.append(value)
            item_positions.append(value_position)
        if self.i < n and indents[self.i] > indent:
            raise Declined
        return items, position

    def inline(
        self, s: str, j: int, base: int, line: int, parent: object, slot: PathElem | None, depth: int
    ) -> tuple[Any, int]:
        """A value that starts at s[j] and ends on this line; only a comment may follow it."""
        position = (line << COLUMN_BITS) | (base + j + 1)
        first = s[j]
        value: Any
        if first == "{" or first == "[":
            value, end = self.flow(s, j, base, line, parent, slot, depth)
            if not _TRAILING.match(s, end):
                raise Declined
            return value, position
        if first == '"' or first == "'":
            match = (_DQ_VALUE if first == '"' else _SQ_VALUE).match(s, j)
            if match is None:
                raise Declined
            text = match[1]
            value = text if "$" not in text else self.b.scalar(text, False, position, parent, slot)
            return value, position
        match = _PLAIN_VALUE.match(s, j)
        if match is None:
            raise Declined
        text = match[1]
        value = resolve_plain(text) if "$" not in text else self.b.scalar(text, True, position, parent, slot)
        return value, position

    def flow(
        self, s: str, j: int, base: int, line: int, parent: object, slot: PathElem | None, depth: int
    ) -> tuple[Any, int]:
        """A flow mapping or sequence that opens at s[j] and closes on the same line; returns its end."""
        if depth >= MAX_NESTING:
            raise Declined
        b = self.b
        scan = _FLOW_TOKEN.match
        row = line << COLUMN_BITS
        column = base + 1
        if s[j] == "{":
            mapping, key_positions, value_positions = b.new_map()
            token = scan(s, j + 1)
            if token is None:
                raise Declined
            if token.lastindex == _PUNCT and token[_PUNCT] == "}":
                return mapping, token.end()
            while True:
                group = token.lastindex
                if group == _PLAIN:
                    text = token[_PLAIN]
                    plain = True
                elif group in (_DQ, _SQ):
                    text = token[group]
                    plain = False
                else:
                    raise Declined
                # A quoted scalar's position is its opening quote, one before the group.
                key_position = row | (column + token.start(group) - (not plain))
                key: str | None
                if plain and text not in mapping and is_plain_string(text):
                    key = text
                else:
                    key = b.key(mapping, key_positions, text, plain, key_position)
                token = scan(s, token.end())
                if token is None or token.lastindex != _COLON:
                    raise Declined
                token = scan(s, token.end())
                if token is None:
                    raise Declined
                value, value_position, end = self.flow_item(token, s, base, line, mapping, key, depth)
                if key is not None:
                    mapping[key] = value
                    key_positions[key] = key_position
                    value_positions[key] = value_position
                token = scan(s, end)
                if token is None or token.lastindex != _PUNCT:
                    raise Declined
                punct = token[_PUNCT]
                if punct == "}":
                    return mapping, token.end()
                if punct != ",":
                    raise Declined
                token = scan(s, token.end())
                if token is None:
                    raise Declined
                if token.lastindex == _PUNCT and token[_PUNCT] == "}":
                    return mapping, token.end()
        items, item_positions = b.new_seq()
        token = scan(s, j + 1)
        if token is None:
            raise Declined
        if token.lastindex == _PUNCT and token[_PUNCT] == "]":
            return items, token.end()
        while True:
            value, value_position, end = self.flow_item(token, s, base, line, items, len(items), depth)
            items.append(value)
            item_positions.append(value_position)
            token = scan(s, end)
            if token is None or token.lastindex != _PUNCT:
                raise Declined
            punct = token[_PUNCT]
            if punct == "]":
                return items, token.end()
            if punct != ",":
                raise Declined
            token = scan(s, token.end())
            if token is None:
                raise Declined
            if token.lastindex == _PUNCT and token[_PUNCT] == "]":
                return items, token.end()

    def flow_item(
        self,
        token: re.Match[str],
        s: str,
        base: int,
        line: int,
        parent: object,
        slot: PathElem | None,
        depth: int,
    ) -> tuple[Any, int, int]:
        """The value that `token` starts: (value, packed position, end offset)."""
        group = token.lastindex or 0  # every alternative of the token pattern has a group
        start = token.start(group)
        if group in (_DQ, _SQ):
            start -= 1  # the opening quote
        position = (line << COLUMN_BITS) | (base + start + 1)
        if group == _PLAIN:
            text = token[_PLAIN]
            value = (
                resolve_plain(text) if "$" not in text else self.b.scalar(text, True, position, parent, slot)
            )
            return value, position, token.end()
        if group in (_DQ, _SQ):
            text = token[group]
            value = text if "$" not in text else self.b.scalar(text, False, position, parent, slot)
            return value, position, token.end()
        if group == _PUNCT and token[_PUNCT] in "{[":
            value, end = self.flow(s, start, base, line, parent, slot, depth + 1)
            return value, position, end
        raise Declined
