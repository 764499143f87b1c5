"""Helpers shared by the spec tests: a valid spec, writing and loading spec text, dumping data as YAML."""

from __future__ import annotations

import copy
import io
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from spd.errors import Diagnostic, SpecError
from spd.spec import LoadedSpec, load_spec

KVS = "arn:aws:kinesisvideo:us-east-1:111122223333:stream/{}/1700000000000"
KDS = "arn:aws:kinesis:us-east-1:111122223333:stream/{}"
SNS = "arn:aws:sns:us-east-1:111122223333:HomeEvents"
ROLE = "arn:aws:iam::111122223333:role/SpdRekognition"
KMS = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"

VALID_DATA: dict[str, Any] = {
    "version": 1,
    "stack": "lobby-cams",
    "defaults": {"region": "us-east-1", "role_arn": ROLE, "tags": {"team": "vision"}},
    "processors": [
        {
            "name": "lobby-faces",
            "input": {"kinesis_video_stream_arn": KVS.format("lobby")},
            "face_search": {"collection_id": "staff", "face_match_threshold": 85},
            "output": {"kinesis_data_stream_arn": KDS.format("lobby-faces")},
            "protect": True,
            "tags": {"site": "hq"},
        },
        {
            "name": "porch-labels",
            "input": {"kinesis_video_stream_arn": KVS.format("porch")},
            "connected_home": {"labels": ["PERSON", "PACKAGE"], "min_confidence": 60},
            "output": {"s3_bucket": "spd-porch-results", "s3_key_prefix": "porch/"},
            "notification_channel": {"sns_topic_arn": SNS},
            "kms_key_id": KMS,
            "regions_of_interest": [
                {"bounding_box": {"left": 0.1, "top": 0.1, "width": 0.5, "height": 0.5}},
                {"polygon": [{"x": 0.1, "y": 0.6}, {"x": 0.9, "y": 0.6}, {"x": 0.5, "y": 0.95}]},
            ],
            "data_sharing": False,
        },
    ],
}


def valid_data() -> dict[str, Any]:
    return copy.deepcopy(VALID_DATA)


def dump_yaml(data: Any, *, flow: bool | None = None) -> str:
    yaml = YAML(typ="safe", pure=True)
    yaml.default_flow_style = flow
    yaml.width = 4096
    stream = io.StringIO()
    yaml.dump(data, stream)
    return stream.getvalue()


def write(directory: Path, text: str | bytes, name: str = "spec.yaml") -> Path:
    path = directory / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_text(directory: Path, text: str, environ: Mapping[str, str] | None = None) -> LoadedSpec:
    return load_spec(write(directory, text), environ=environ or {})


def diagnostics_of(
    directory: Path, text: str | bytes, environ: Mapping[str, str] | None = None
) -> list[Diagnostic]:
    """The diagnostics of a spec that must fail to load."""
    with pytest.raises(SpecError) as caught:
        load_spec(write(directory, text), environ=environ or {})
    return list(caught.value.diagnostics)


def errors_of(
    directory: Path, text: str | bytes, environ: Mapping[str, str] | None = None
) -> list[Diagnostic]:
    return [d for d in diagnostics_of(directory, text, environ) if d.severity == "error"]


def set_in(data: Any, path: tuple[Any, ...], value: Any) -> None:
    for step in path[:-1]:
        data = data[step]
    data[path[-1]] = value


def del_in(data: Any, path: tuple[Any, ...]) -> None:
    for step in path[:-1]:
        data = data[step]
    del data[path[-1]]


# --- Documents in the everyday block-and-flow subset, for differential tests against the reference ---

from hypothesis import strategies as st  # noqa: E402

from spd.spec.positions import unpack  # noqa: E402
from spd.spec.yaml_tree import SourceProblem, TreeBuilder  # noqa: E402

# Fixed vocabularies keep generation cheap; they still cover every lexical case the readers treat apart.
PLAIN_WORDS = st.sampled_from(
    [
        "a",
        "staff",
        "lobby-faces",
        "us-east-1",
        "porch/",
        "x.y_z",
        "arn:aws:sns:us-east-1:111122223333:T",
        "a b",
        "two  spaces",
        "a:b",
        "a#b",
        "snake_case",
        "Zoë",
        "名前",
        "(x)",
        "~x",
        "+1x",
        "-1x",
        ".hidden",
        "0.1.2",
        "1:2",
        "noon",
        "yesterday",
        "/abs/path",
        "a=b",
        "a@b",
    ]
)
# Plain scalars that are only plain outside flow collections ({} [] , are flow indicators there).
BLOCK_ONLY_WORDS = st.sampled_from(["a,b", "a]", "a}", "${V:-d}", "x{y}", "a] b", "k,z"])
SPECIAL_WORDS = st.sampled_from(
    [
        "yes",
        "no",
        "On",
        "null",
        "~",
        "true",
        "False",
        "12",
        "-3",
        "0x1f",
        "0o17",
        "1.5",
        "-.5",
        "1e3",
        ".inf",
        "$$x",
    ]
)
KEYS = st.sampled_from(
    ["a", "b", "name", "input", "x", "y", "spd:stack", "a.b", "a-b", "k_1", "1", "no", "true", "a:b:c", "a/b"]
)
QUOTABLE = st.text(st.sampled_from(list("ab #:,[]{}-?&*!|>%@`$~ é名")), max_size=8)


@st.composite
def scalar_text(draw: st.DrawFn, block: bool = False) -> str:
    kind = draw(st.integers(0, 4 if block else 3))
    if kind == 0:
        return draw(PLAIN_WORDS)
    if kind == 1:
        return draw(SPECIAL_WORDS)
    if kind == 4:
        return draw(BLOCK_ONLY_WORDS)
    text = draw(QUOTABLE)
    return f'"{text}"' if kind == 2 else f"'{text}'"


def flow_value() -> st.SearchStrategy[str]:
    def join(parts: list[str], opening: str, closing: str, draw: st.DrawFn) -> str:
        sep = draw(st.sampled_from([", ", ",  ", " , "]))
        inner = sep.join(parts)
        pad = draw(st.sampled_from(["", " "]))
        trailing = draw(st.sampled_from(["", ","])) if parts else ""
        return f"{opening}{pad}{inner}{trailing}{pad}{closing}"

    @st.composite
    def flow_map(draw: st.DrawFn, values: st.SearchStrategy[str]) -> str:
        keys = draw(st.lists(KEYS, max_size=4))
        colon = draw(st.sampled_from([": ", ":  ", " : "]))
        return join([f"{k}{colon}{draw(values)}" for k in keys], "{", "}", draw)

    @st.composite
    def flow_seq(draw: st.DrawFn, values: st.SearchStrategy[str]) -> str:
        return join(draw(st.lists(values, max_size=4)), "[", "]", draw)

    collections = st.recursive(scalar_text(), lambda inner: flow_map(inner) | flow_seq(inner), max_leaves=6)
    return scalar_text(block=True) | collections


@st.composite
def block_node(draw: st.DrawFn, depth: int, indent: int, kind: str) -> list[str]:
    """Lines of a block mapping or sequence at `indent`, with comments and blank lines sprinkled in."""
    lines: list[str] = []
    pad = " " * indent
    step = draw(st.integers(1, 4))
    for index in range(draw(st.integers(1, 4))):
        if index and draw(st.integers(0, 4)) == 0:
            lines.append(draw(st.sampled_from(["", "# note", pad + "# indented note", "   "])))
        comment = draw(st.sampled_from(["", "", "  # c", " #c: x"]))
        child = draw(st.sampled_from(["scalar", "scalar", "map", "seq"])) if depth < 3 else "scalar"
        if kind == "map":
            key = draw(KEYS)
            if child == "scalar":
                lines.append(f"{pad}{key}:{draw(st.sampled_from([' ', '  ']))}{draw(flow_value())}{comment}")
                continue
            lines.append(f"{pad}{key}:{comment}")
            # A sequence under a key may sit at the key's own indentation.
            same = child == "seq" and draw(st.booleans())
            lines.extend(draw(block_node(depth + 1, indent if same else indent + step, child)))
        elif child == "scalar":
            lines.append(f"{pad}- {draw(flow_value())}{comment}")
        elif draw(st.booleans()):
            # Compact: the child's first line shares the dash line.
            spaces = draw(st.integers(1, 3))
            nested = draw(block_node(depth + 1, indent + 1 + spaces, child))
            lines.append(f"{pad}-{' ' * spaces}{nested[0].lstrip(' ')}")
            lines.extend(nested[1:])
        else:
            lines.append(f"{pad}-{comment}")
            lines.extend(draw(block_node(depth + 1, indent + step, child)))
    return lines


@st.composite
def subset_document(draw: st.DrawFn) -> str:
    """A YAML text in the everyday subset operators write (block mappings and lists, flow collections)."""
    lines = draw(block_node(0, draw(st.integers(0, 2)), "map"))
    if draw(st.booleans()):
        lines.insert(0, draw(st.sampled_from(["---", "--- # start", "# header"])))
    return "\n".join(lines) + draw(st.sampled_from(["", "\n", "\n\n"]))


def read_with(reader: str, text: str) -> tuple[Any, list[Any], list[SourceProblem]]:
    """Data, every position and the problems one reader finds in `text`: "spd" (libyaml, the spec's
    reader) or "reference" (ruamel's pure-Python parser, an independent oracle)."""
    from ruamel_reference import RuamelReader
    from spd.spec.yaml_source import _EventReader

    builder = TreeBuilder({})
    data = _EventReader(builder, text).read() if reader == "spd" else RuamelReader(builder).read(text)
    return data, all_positions(data, builder), builder.problems(data)


def all_positions(data: Any, builder: TreeBuilder) -> list[Any]:
    positions = builder.positions
    found: list[Any] = [("root", unpack(positions.root))]

    def walk(node: Any, path: tuple[Any, ...]) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                located = positions.key_and_value(node, key)
                assert located is not None, (path, key)
                found.append((*path, key, unpack(located[0]), unpack(located[1])))
                walk(value, (*path, key))
        elif isinstance(node, list):
            for index, value in enumerate(node):
                item = positions.item(node, index)
                assert item is not None, (path, index)
                found.append((*path, index, unpack(item)))
                walk(value, (*path, index))

    walk(data, ())
    return found
