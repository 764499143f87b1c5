"""No input nests deep enough to crash anything: beyond `MAX_NESTING` levels it is a located error.

Every YAML style is covered (block mappings and sequences, compact `- - -` sequences, flow `[[...]]` and
`{a: {a: ...}}`, block leading into flow, aliases wrapping aliases), in both readers, through
`load_spec` and through the real `spd validate`; `${...}` expansion and the settings file are covered too.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from spd.errors import SpecError
from spd.spec import load_spec
from spd.spec.nesting import MAX_NESTING, TOO_DEEP_MESSAGE
from spdrun import SPD, spd_env
from spec_support import write


def nested(block: str, flow: str) -> tuple[str, tuple[int, int]]:
    """A document of len(block) block levels then len(flow) flow levels ('m' mapping, 's' sequence).

    Returns the text and the line and column where collection number MAX_NESTING + 1 starts (where the
    error belongs when the document is too deep).
    """
    lines: list[str] = []
    starts: list[tuple[int, int]] = []
    value = "1"
    openers = []
    for kind in flow:
        openers.append("{a: " if kind == "m" else "[")
    closers = ["}" if kind == "m" else "]" for kind in reversed(flow)]
    inline = "".join(openers) + value + "".join(closers)
    for level, kind in enumerate(block):
        indent = "  " * level
        starts.append((level + 1, len(indent) + 1))
        head = "a:" if kind == "m" else "-"
        last = level == len(block) - 1
        lines.append(f"{indent}{head} {inline}" if last else f"{indent}{head}")
    if not block:
        lines.append(inline)
    prefix = len(lines[-1]) - len(inline)
    offset = 0
    for opener in openers:
        starts.append((len(lines), prefix + offset + 1))
        offset += len(opener)
    text = "\n".join(lines) + "\n"
    where = starts[MAX_NESTING] if len(starts) > MAX_NESTING else (0, 0)
    return text, where


def load_errors(tmp_path: Path, text: str) -> list[str]:
    path = write(tmp_path, text)
    with pytest.raises(SpecError) as caught:
        load_spec(path, environ={})
    return [str(d) for d in caught.value.diagnostics if d.severity == "error"]


@st.composite
def kinds(draw: st.DrawFn) -> str:
    """'m'/'s' levels; the length is drawn first so deep documents are as likely as shallow ones."""
    size = draw(st.integers(0, 200))
    return "".join(draw(st.lists(st.sampled_from("ms"), min_size=size, max_size=size)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(block=kinds(), flow=kinds())
@example(block="m" * 65, flow="")
@example(block="", flow="s" * 65)
def test_any_nesting_loads_or_is_refused_at_the_level_past_the_limit(
    tmp_path: Path, block: str, flow: str
) -> None:
    text, (line, column) = nested(block, flow)
    errors = load_errors(tmp_path, text)  # never a RecursionError
    too_deep = [e for e in errors if TOO_DEEP_MESSAGE in e]
    if len(block) + len(flow) > MAX_NESTING:
        assert too_deep == [f"{tmp_path / 'spec.yaml'}:{line}:{column}: {TOO_DEEP_MESSAGE}"], errors
        assert errors == too_deep
    else:
        assert not too_deep


def test_exactly_the_limit_is_read(tmp_path: Path) -> None:
    for block, flow in [("m" * MAX_NESTING, ""), ("", "s" * MAX_NESTING), ("ms" * 16, "sm" * 16)]:
        text, _ = nested(block, flow)
        assert not [e for e in load_errors(tmp_path, text) if "nesting" in e]


def _alias_chain(links: int) -> str:
    """Each anchor wraps an alias of the previous one: shallow text, data `links + 1` levels deep."""
    lines = ["a0: &a0 [x]"] + [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, links)]
    return "\n".join(lines) + "\n"


def test_an_alias_chain_cannot_build_deep_data(tmp_path: Path) -> None:
    links = MAX_NESTING + 5
    errors = load_errors(tmp_path, _alias_chain(links))
    # a{N} sits in the top mapping (level 1) and holds N + 1 levels: a63 is the first to pass 64.
    line = MAX_NESTING
    assert errors == [
        f"{tmp_path / 'spec.yaml'}:{line}:{len(f'a{line - 1}: &a{line - 1} [') + 1}: {TOO_DEEP_MESSAGE}"
    ]


def test_a_deep_alias_below_the_limit_is_read(tmp_path: Path) -> None:
    errors = load_errors(tmp_path, _alias_chain(MAX_NESTING - 1))
    assert not [e for e in errors if "nesting" in e]


def test_nested_variable_references_expand_without_recursing(tmp_path: Path) -> None:
    depth = 20_000
    text = 'version: "' + "${NOPE:-" * depth + "x" + "}" * depth + '"\n'
    errors = load_errors(tmp_path, text)
    assert any("version: version must be an integer, not string '${NOPE:-${NOPE:-" in e for e in errors)


DEEP = 500
STYLES = {
    "block-mapping": nested("m" * DEEP, "")[0],
    "block-sequence": nested("s" * DEEP, "")[0],
    "compact-sequence": "- " * DEEP + "x\n",
    "flow-sequence": nested("", "s" * DEEP)[0],
    "flow-mapping": nested("", "m" * DEEP)[0],
    "flow-mapping-in-a-spec": "version: 1\nstack: s\nprocessors:\n  - tags: "
    + "{a: " * DEEP
    + "1"
    + "}" * DEEP,
    "block-into-flow": nested("ms" * 20, "sm" * DEEP)[0],
    "flow-100k": "x: " + "[" * 100_000 + "]" * 100_000 + "\n",
    "alias-chain": _alias_chain(DEEP),
    "nested-variables": 'stack: "' + "${A:-" * DEEP + "}" * DEEP + '"\n',
}


@pytest.mark.parametrize("style", sorted(STYLES))
def test_spd_validate_refuses_deep_nesting_with_exit_78(tmp_path: Path, style: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(STYLES[style])
    result = subprocess.run(
        [*SPD, "validate", str(spec)], env=spd_env(), capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 78, result.stderr
    assert "Traceback" not in result.stderr
    assert "RecursionError" not in result.stderr
    assert result.stderr.startswith(f"{spec}:"), result.stderr
    if style != "nested-variables":
        assert f"nesting deeper than {MAX_NESTING} levels" in result.stderr


def test_a_deeply_nested_settings_file_exits_78(tmp_path: Path) -> None:
    settings_file = tmp_path / "settings.yaml"
    settings_file.write_text(nested("m" * DEEP, "")[0])
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nstack: s\nprocessors: []\n")
    result = subprocess.run(
        [
            *SPD,
            "plan",
            str(spec),
            "--settings",
            str(settings_file),
            "--local",
            "--local-state",
            str(tmp_path / "e"),
        ],
        env=spd_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 78, result.stderr
    assert "Traceback" not in result.stderr
    line = MAX_NESTING + 1
    assert result.stderr.startswith(f"{settings_file}:{line}:{2 * MAX_NESTING + 1}: nesting deeper"), (
        result.stderr
    )
