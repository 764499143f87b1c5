"""`spd schema` as other tools use it: Python's `jsonschema` (whose regexes are Python's `re`) validates the
example spec files with it, refuses a bad document, and every pattern also means the same in `regex`.

The schema is taken from the real command's output, as an editor or a CI linter would get it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import regex
from ruamel.yaml import YAML

from spd.spec.schema import TAG_PATTERN
from spdrun import run_spd

ROOT = Path(__file__).resolve().parents[3]
EXAMPLES = sorted((ROOT / "config").glob("*.yaml"))


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = run_spd(["schema"])
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    cls = jsonschema.validators.validator_for(schema)
    assert cls is jsonschema.Draft202012Validator
    # The meta-schema check includes `format: regex` on every pattern, compiled by Python's `re`.
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def _patterns(node: Any) -> list[str]:
    if isinstance(node, list):
        return [p for item in node for p in _patterns(item)]
    if not isinstance(node, dict):
        return []
    found = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    found += list(node.get("patternProperties", {}))
    return found + [p for value in node.values() for p in _patterns(value)]


def _load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def test_the_schema_names_itself(schema: dict[str, Any]) -> None:
    assert schema["$id"] == "urn:spd:spec:1"


def _tag_pattern(schema: dict[str, Any]) -> str:
    tags = schema["$defs"]["ProcessorSpec"]["properties"]["tags"]["anyOf"][0]
    assert tags["additionalProperties"]["pattern"] == tags["propertyNames"]["pattern"]
    return str(tags["propertyNames"]["pattern"])


def test_every_pattern_compiles_with_pythons_re(schema: dict[str, Any]) -> None:
    patterns = _patterns(schema)
    assert _tag_pattern(schema) in patterns
    assert TAG_PATTERN not in patterns
    for pattern in patterns:
        re.compile(pattern)


def test_the_example_spec_files_are_valid(validator: jsonschema.Draft202012Validator) -> None:
    assert [p.name for p in EXAMPLES] == ["lobby.yaml", "porch.yaml"]
    for path in EXAMPLES:
        document = _load(path)
        assert any("tags" in p for p in [document.get("defaults", {}), *document["processors"]])
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(document)]
        assert errors == [], path


def test_a_bad_document_is_refused_where_it_is_bad(validator: jsonschema.Draft202012Validator) -> None:
    document = _load(ROOT / "config" / "lobby.yaml")
    document["defaults"]["tags"] = {"cost#centre": "ok", "site": "hq!", "note": "tab\there"}
    document["processors"][0]["name"] = "lobby faces"
    document["processors"][1]["nmae"] = "typo"
    document["processors"][2]["face_search"]["face_match_threshold"] = 101
    leaves = {
        (tuple(e.absolute_path), e.validator, e.instance if isinstance(e.instance, str) else None)
        for e in _leaves(validator.iter_errors(document))
    }
    paths = {path for path, _, _ in leaves}
    # A bad key is reported on the map (propertyNames), a bad value under its key.
    assert (("defaults", "tags"), "pattern", "cost#centre") in leaves
    assert (("defaults", "tags", "site"), "pattern", "hq!") in leaves
    assert (("defaults", "tags", "note"), "pattern", "tab\there") in leaves
    assert ("processors", 0, "name") in paths
    assert any(path == ("processors", 1) and kind == "additionalProperties" for path, kind, _ in leaves)
    assert ("processors", 2, "face_search", "face_match_threshold") in paths
    assert not any(path[:2] == ("processors", 3) for path in paths)


def _leaves(errors: Any) -> list[jsonschema.ValidationError]:
    """The innermost errors: those under an `anyOf` (optional keys are `anyOf: [..., null]`) included."""
    out = []
    for error in errors:
        out += _leaves(error.context) if error.context else [error]
    return out


def test_a_good_unicode_tag_is_accepted(validator: jsonschema.Draft202012Validator) -> None:
    document = _load(ROOT / "config" / "porch.yaml")
    document["defaults"]["tags"] = {"équipe": "maison connectée", "site:floor": "2 = top/left+@_.-"}
    assert list(validator.iter_errors(document)) == []


def test_the_published_tag_pattern_is_the_api_pattern_on_ascii_and_never_stricter(
    schema: dict[str, Any],
) -> None:
    portable, api = re.compile(_tag_pattern(schema)), regex.compile(TAG_PATTERN)
    stricter, different = [], []
    for code in range(0x110000):
        if 0xD800 <= code <= 0xDFFF:
            continue  # surrogates are not characters
        char = chr(code)
        ours, theirs = bool(portable.match(char)), bool(api.match(char))
        if theirs and not ours:
            stricter.append(hex(code))
        if code < 0xA0 and ours != theirs:
            different.append(hex(code))
    assert stricter == []
    assert different == []
