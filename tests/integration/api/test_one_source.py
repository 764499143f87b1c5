"""Each fact about the API is stated once: patterns in the generated model, the rest in `spd.api.rules`.

Reads the source of `spd/` (not imports), so that a constant copied back into a module, even one no
test exercises, fails here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from spd.api import rules
from spd.api.constraints import full_match_pattern, portable_pattern
from spd.api.model import MODEL

SPD = Path(__file__).resolve().parents[3] / "spd"
MODEL_FILE = SPD / "api" / "model.py"
RULES_FILE = SPD / "api" / "rules.py"
SOURCES = sorted(SPD.rglob("*.py"))


def _text(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def _pattern_forms() -> dict[str, set[str]]:
    """Each patterned shape, with its pattern as the model states it and in the forms derived from it."""
    forms: dict[str, set[str]] = {}
    for shape in MODEL.shapes.values():
        if shape.pattern is not None:
            forms[shape.name] = {shape.pattern, portable_pattern(shape), full_match_pattern(shape)}
    return forms


@pytest.mark.parametrize("shape", sorted(_pattern_forms()))
def test_a_model_pattern_is_written_only_in_the_model(shape: str) -> None:
    forms = _pattern_forms()[shape]
    found = [
        f"{path.relative_to(SPD.parent)}: {form}"
        for path in SOURCES
        if path != MODEL_FILE
        for form in forms
        if form in _text(path)
    ]
    assert found == [], f"{shape}'s pattern restated; read it from spd.api.model.MODEL"


def _constants(path: Path) -> list[tuple[int, object]]:
    return [
        (node.lineno, node.value)
        for node in ast.walk(ast.parse(_text(path)))
        if isinstance(node, ast.Constant) and not isinstance(node.value, bool)
    ]


def test_the_label_names_are_written_only_in_the_rules() -> None:
    labels = set(rules.CONNECTED_HOME_LABELS) - {"ALL"}  # "ALL" is too common a word to look for
    found = [
        f"{path.relative_to(SPD.parent)}:{line}: {value!r}"
        for path in SOURCES
        if path != RULES_FILE
        for line, value in _constants(path)
        if value in labels
    ]
    assert found == []


def test_the_defaults_are_written_only_in_the_rules() -> None:
    defaults = {rules.DEFAULT_FACE_MATCH_THRESHOLD, rules.DEFAULT_MIN_CONFIDENCE}
    found = [
        f"{path.relative_to(SPD.parent)}:{line}: {value!r}"
        for path in SOURCES
        if path != RULES_FILE
        for line, value in _constants(path)
        if isinstance(value, float) and value in defaults
    ]
    assert found == [], "write rules.DEFAULT_FACE_MATCH_THRESHOLD / DEFAULT_MIN_CONFIDENCE instead"


def test_single_precision_rounding_is_written_only_in_the_rules() -> None:
    found = [
        str(path.relative_to(SPD.parent))
        for path in SOURCES
        if path != RULES_FILE and ('struct.pack("f"' in _text(path) or "def f32(" in _text(path))
    ]
    assert found == []


def test_error_statuses_and_operations_are_the_rules() -> None:
    from spd.emulator.backend import errors
    from spd.model import OPERATIONS

    assert errors.ERROR_STATUS is rules.ERROR_STATUS
    assert OPERATIONS is rules.STREAM_PROCESSOR_OPERATIONS
