"""No function or method in spd/ is longer than `LIMIT` lines.

A function that long does several things; split into named helpers, each says what it does and can be
read on one screen. Measured from the `def` line to the last line of the body (decorators excluded).
Only generated code is exempt: its form is its generator's.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PACKAGE = ROOT / "spd"
LIMIT = 60
GENERATED = frozenset({"spd/api/model.py"})
"""Written by `python -m spd.api.generate` (its first line says so), never by hand."""


def function_lengths(source: str) -> list[tuple[str, int, int]]:
    """(qualified name, first line, length in lines) of every function and method in `source`."""
    found: list[tuple[str, int, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                assert child.end_lineno is not None
                found.append((name, child.lineno, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def too_long(limit: int = LIMIT) -> list[str]:
    """`path:line name (n lines)` for every function of spd/ over `limit` lines, longest first."""
    over: list[tuple[int, str]] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative in GENERATED:
            continue
        for name, line, length in function_lengths(path.read_text(encoding="utf-8")):
            if length > limit:
                over.append((length, f"{relative}:{line} {name} ({length} lines)"))
    return [text for _, text in sorted(over, reverse=True)]


def test_no_function_in_spd_is_longer_than_the_limit() -> None:
    over = too_long()
    assert not over, f"functions over {LIMIT} lines (split them into named helpers):\n" + "\n".join(over)


def test_the_generated_files_say_so() -> None:
    """An exemption only for files the generator wrote: were one written by hand, it would be held."""
    for relative in GENERATED:
        first = (ROOT / relative).read_text(encoding="utf-8").splitlines()[0]
        assert "Generated" in first, relative
        assert "do not edit" in first, relative


def _function(lines: int, *, decorated: bool = False) -> str:
    body = "".join(f"    x{i} = {i}\n" for i in range(lines - 1))
    return ("@staticmethod\n" if decorated else "") + "def f():\n" + body


@pytest.mark.parametrize(("lines", "decorated"), [(60, False), (60, True), (61, False)])
def test_the_length_runs_from_def_to_the_last_line(lines: int, decorated: bool) -> None:
    [(name, line, length)] = function_lengths(_function(lines, decorated=decorated))
    assert (name, length) == ("f", lines)
    assert line == (2 if decorated else 1)


def test_methods_and_nested_functions_are_measured() -> None:
    source = "class C:\n    def m(self):\n        def inner():\n            return 1\n        return inner\n"
    assert function_lengths(source) == [("C.m", 2, 4), ("C.m.inner", 3, 2)]
