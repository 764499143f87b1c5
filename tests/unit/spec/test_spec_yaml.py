"""Reading YAML: the spec's reader (libyaml) agrees with an independent one; YAML features and traps.

Whatever the spec's reader accepts it must read exactly as the reference reader (ruamel's pure-Python
parser, tests/support/ruamel_reference.py) does: data, every key and value position, and the problems
found. Generated documents stay in the everyday subset; mutated ones may fall anywhere, where the two
parsers may disagree only by one refusing what the other reads (YAML 1.1 and 1.2 differ at the edges).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from ruamel.yaml.error import YAMLError as ReferenceError_
from yaml import YAMLError

from spd.spec.expand import expand
from spd.spec.scalars import Yaml11Bool, resolve_plain
from spd.spec.yaml_source import read_document
from spec_support import diagnostics_of, errors_of, load_text, read_with, subset_document

ROOT = Path(__file__).resolve().parents[3]
# SPD_FUZZ_EXAMPLES raises the count for a long hunt by hand; the default keeps the suite quick.
_EXAMPLES = int(os.environ.get("SPD_FUZZ_EXAMPLES", "150"))


@settings(max_examples=_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(subset_document())
@example("a: 1\nb:\n- x\n- y: 2\n  z: [1, {q: r}]\n")
@example("k:\n  -\n    - a\n    - b\n  - c  # comment\n")
@example("---\nx: 'it is'  # c\ny: \"a # b\"\nz: a#b\n")
def test_the_reader_reads_the_everyday_subset_like_the_reference(text: str) -> None:
    assert read_with("spd", text) == read_with("reference", text)


_EDITS = st.sampled_from(list(" -:#'\"{}[],\n\t&*!|>%@?~`\\x1.\u00e9\u2028\r"))


@settings(max_examples=_EXAMPLES * 4 // 3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    subset_document(),
    st.lists(st.tuples(st.integers(0, 10_000), _EDITS, st.booleans()), min_size=1, max_size=3),
)
def test_what_both_readers_accept_they_read_alike(text: str, edits: list[tuple[int, str, bool]]) -> None:
    for offset, char, replace in edits:
        at = offset % (len(text) + 1)
        text = text[:at] + char + text[at + 1 if replace else at :]
    try:
        ours = read_with("spd", text)
        reference = read_with("reference", text)
    except (YAMLError, ReferenceError_):
        return
    if ("&" in text or "*" in text) and (ours[2] or reference[2]):
        # Anchor names differ between YAML 1.1 (libyaml: letters, digits, '-', '_') and 1.2 (ruamel: any
        # non-space), so `&a: x` is an anchor on a key to one and an anchor named "a:" to the other.
        return
    assert ours == reference


@pytest.mark.parametrize("name", ["lobby.yaml", "porch.yaml"])
def test_the_example_config_is_read_like_the_reference(name: str) -> None:
    text = (ROOT / "config" / name).read_text()
    assert read_with("spd", text) == read_with("reference", text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("~", None),
        ("null", None),
        ("true", True),
        ("FALSE", False),
        ("12", 12),
        ("-3", -3),
        ("0o17", 15),
        ("0x1f", 31),
        ("1.5", 1.5),
        ("1e3", 1000.0),
        ("-.inf", float("-inf")),
        ("no", Yaml11Bool("no", False)),
        ("On", Yaml11Bool("On", True)),
        ("noon", "noon"),
        ("012", 12),  # YAML 1.2: decimal, not octal
        ("1_000", "1_000"),  # YAML 1.2: a string
        ("2024-01-01", "2024-01-01"),  # no timestamps: a string
        ("y", "y"),
    ],
)
def test_plain_scalars_resolve_like_yaml_1_2(text: str, value: object) -> None:
    assert resolve_plain(text) == value


def test_quoting_or_str_tag_makes_yaml_1_1_booleans_strings(tmp_path: Path) -> None:
    for form in ("'no'", '"no"', "!!str no"):
        text = (Path(__file__).parent / "corpus" / "yaml11_no_as_string.yaml").read_text()
        loaded = load_text(tmp_path, text.replace("collection_id: no", f"collection_id: {form}"))
        assert loaded.desired.processors[0].config.settings.collection_id == "no"  # type: ignore[union-attr]


def test_anchors_aliases_and_merge_keys(tmp_path: Path) -> None:
    text = """\
version: 1
stack: s
defaults: {region: us-east-1, role_arn: "arn:aws:iam::111122223333:role/r"}
processors:
  - &base
    name: cam-1
    input: {kinesis_video_stream_arn: "arn:aws:kinesisvideo:us-east-1:111122223333:stream/c1/1"}
    face_search: &faces {collection_id: staff, face_match_threshold: 95}
    output: {kinesis_data_stream_arn: "arn:aws:kinesis:us-east-1:111122223333:stream/o1"}
  - <<: *base
    name: cam-2
    input: {kinesis_video_stream_arn: "arn:aws:kinesisvideo:us-east-1:111122223333:stream/c2/1"}
    output: {kinesis_data_stream_arn: "arn:aws:kinesis:us-east-1:111122223333:stream/o2"}
  - name: cam-3
    input: {kinesis_video_stream_arn: "arn:aws:kinesisvideo:us-east-1:111122223333:stream/c3/1"}
    face_search: *faces
    output: {kinesis_data_stream_arn: "arn:aws:kinesis:us-east-1:111122223333:stream/o3"}
"""
    processors = load_text(tmp_path, text).desired.processors
    assert [p.name for p in processors] == ["cam-1", "cam-2", "cam-3"]
    assert processors[0].config.settings == processors[1].config.settings == processors[2].config.settings
    assert processors[1].config.kinesis_video_stream_arn.endswith("c2/1")
    # A problem inside merged content is located where it is written.
    errors = errors_of(tmp_path, text.replace("face_match_threshold: 95", "face_match_threshold: 101"))
    assert {(e.line, e.path) for e in errors} == {
        (8, "processors[0].face_search.face_match_threshold"),
        (8, "processors[1].face_search.face_match_threshold"),
        (8, "processors[2].face_search.face_match_threshold"),
    }


def test_crlf_line_endings_and_a_byte_order_mark(tmp_path: Path) -> None:
    text = (Path(__file__).parents[3] / "config" / "lobby.yaml").read_text()
    loaded = load_text(tmp_path, "\ufeff" + text.replace("\n", "\r\n"))
    assert len(loaded.desired.processors) == 3
    assert loaded.desired.processors[0].source is not None
    assert loaded.desired.processors[0].source.line == 13


def test_a_tab_is_reported_at_the_tab(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "version: 1\nstack: s\nprocessors:\n  - name: a\n \t input: {}\n")
    assert [(e.line, e.column) for e in errors] == [(5, 2)]
    assert "tab character in indentation" in errors[0].message


def test_a_tab_elsewhere_is_named_too(tmp_path: Path) -> None:
    text = (Path(__file__).parents[3] / "config" / "lobby.yaml").read_text()
    [error] = errors_of(tmp_path, text.replace("stack: lobby-cams", "stack:\tlobby-cams"))
    assert (error.line, error.column) == (4, 7)
    assert "tab character" in error.message


def test_duplicate_keys_are_reported_at_every_repetition(tmp_path: Path) -> None:
    errors = errors_of(tmp_path, "version: 1\nstack: a\nstack: b\nstack: c\nprocessors: []\n")
    assert [(e.line, e.column, e.path) for e in errors] == [(3, 1, "stack"), (4, 1, "stack")]
    assert all("first defined at line 2" in e.message for e in errors)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("${CAMS_COLLECTION}", "staff"),
        ("cam-${CAMS_SITE}", "cam-hq"),
        ("${CAMS_UNSET:-fallback}", "fallback"),
        ("${CAMS_EMPTY:-fallback}", "fallback"),  # as in the shell, :- also replaces an empty value
        ("x${CAMS_EMPTY}y", "xy"),
    ],
)
def test_environment_expansion(tmp_path: Path, value: str, expected: str) -> None:
    environ = {"CAMS_COLLECTION": "staff", "CAMS_SITE": "hq", "CAMS_EMPTY": ""}
    text = _one_processor_spec().replace("TAGVALUE", f'"{value}"')
    loaded = load_text(tmp_path, text, environ)
    assert loaded.desired.processors[0].tag_dict["expanded"] == expected


@pytest.mark.parametrize(
    ("text", "expanded", "problems"),
    [
        ("a$$b", "a$b", 0),
        ("cost$5", "cost$5", 0),
        ("$", "$", 0),
        ("${A}${A:-x}", "11", 0),
        ("${B:-}", "", 0),
        ("${B}", "${B}", 1),
        ("${1A}", "${1A}", 1),
        ("${A", "${A", 1),
    ],
)
def test_expand(text: str, expanded: str, problems: int) -> None:
    result, found = expand(text, {"A": "1"})
    assert (result, len(found)) == (expanded, problems)


def test_a_variable_in_a_flow_collection_needs_quotes_and_the_error_says_so(tmp_path: Path) -> None:
    text = _one_processor_spec().replace("expanded: TAGVALUE", "expanded: {k: ${X}}")
    [error] = errors_of(tmp_path, text, {"X": "1"})
    assert "quote" in error.message
    assert "${VAR}" in error.message


def test_expansion_in_a_plain_value_is_then_read_as_yaml(tmp_path: Path) -> None:
    text = _one_processor_spec().replace("threshold: 90", "threshold: ${CAMS_THRESHOLD:-85}")
    settings_ = load_text(tmp_path, text, {}).desired.processors[0].config.settings
    assert settings_.face_match_threshold == 85.0  # type: ignore[union-attr]
    # ...while a quoted one stays a string, which a threshold cannot be.
    quoted = _one_processor_spec().replace("threshold: 90", 'threshold: "${CAMS_THRESHOLD:-85}"')
    [error] = errors_of(tmp_path, quoted, {})
    assert "expected a number, got string '85'" in error.message


def test_every_unset_variable_is_reported_once_at_its_value(tmp_path: Path) -> None:
    text = _one_processor_spec().replace("TAGVALUE", '"${CAMS_A}-${CAMS_B}"').replace("staff", "${CAMS_C}")
    errors = errors_of(tmp_path, text, {})
    assert sorted(e.message.split(" is not set")[0] for e in errors) == [
        "environment variable CAMS_A",
        "environment variable CAMS_B",
        "environment variable CAMS_C",
    ]
    assert {e.path for e in errors} == {
        "processors[0].tags.expanded",
        "processors[0].face_search.collection_id",
    }


def test_a_malformed_reference_is_an_error(tmp_path: Path) -> None:
    [error] = errors_of(tmp_path, _one_processor_spec().replace("TAGVALUE", '"${NOT CLOSED"'), {})
    assert "malformed variable reference" in error.message


def test_keys_are_never_expanded(tmp_path: Path) -> None:
    text = _one_processor_spec().replace("expanded: TAGVALUE", "${KEY}: x")
    [error] = errors_of(tmp_path, text, {"KEY": "k"})
    assert error.path == 'processors[0].tags["${KEY}"]'


def test_unparseable_and_odd_files_never_raise_anything_but_spec_error(tmp_path: Path) -> None:
    for text in [
        "{",
        "a: [",
        "- - -",
        "? [a]\n: b\n",
        "a: !foo\n  x: 1",
        "&a [*a]",
        "%YAML 1.1\n---\na: 1\n",
    ]:
        diagnostics = diagnostics_of(tmp_path, text)
        assert diagnostics
        assert all(d.line >= 1 and d.column >= 1 for d in diagnostics)


def test_deep_nesting_is_refused_not_crashed_on(tmp_path: Path) -> None:
    [error] = errors_of(tmp_path, "version: 1\nx: " + "[" * 5000 + "]" * 5000 + "\n")
    assert "nesting" in error.message or "invalid YAML" in error.message


def test_a_document_position_survives_reading() -> None:
    source = read_document("a:\n  b: [1, {c: d}]\n", "f.yaml", {})
    assert source.positions.locate(source.data, ("a", "b", 1, "c")) == (2, 14)
    assert source.positions.locate(source.data, ("a", "b", 1, "c"), "key") == (2, 11)
    assert source.positions.locate(source.data, ("a", "missing", 3)) == (2, 3)


def _one_processor_spec() -> str:
    return """\
version: 1
stack: s
processors:
  - name: cam
    region: us-east-1
    role_arn: arn:aws:iam::111122223333:role/r
    input: {kinesis_video_stream_arn: "arn:aws:kinesisvideo:us-east-1:111122223333:stream/c/1"}
    face_search:
      collection_id: staff
      face_match_threshold: 90
    output: {kinesis_data_stream_arn: "arn:aws:kinesis:us-east-1:111122223333:stream/o"}
    tags:
      expanded: TAGVALUE
"""
