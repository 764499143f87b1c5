"""The JSON documents of `spd validate`, `spd check` and `spd import` (`--output json`).

One document per command and run, on stdout, shaped like those of `plan` and `status`
(`spd.cli.render`): the stack, the processors as `{name, region, target}` (target null without
targets), and a `summary`. Problems are diagnostics as located objects, not lines to parse. Kept apart
from `spd.cli.render` because `validate` runs without the AWS stack that rendering a plan imports.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from spd.errors import Diagnostic
from spd.model import ObservedProcessor


def dumps(doc: dict[str, Any]) -> str:
    """A document as printed: indented, one trailing newline."""
    return json.dumps(doc, indent=2) + "\n"


def diagnostic_json(d: Diagnostic) -> dict[str, Any]:
    """A located problem; `line` and `column` are 0 when it has no position (an environment variable)."""
    return {
        "file": d.file,
        "line": d.line,
        "column": d.column,
        "path": d.path,
        "severity": d.severity,
        "message": d.message,
    }


def _summary(diagnostics: Sequence[Diagnostic]) -> dict[str, int]:
    errors = sum(1 for d in diagnostics if d.severity == "error")
    return {"errors": errors, "warnings": len(diagnostics) - errors}


def validate_json(
    spec: Path,
    stack: str | None,
    processors: Iterable[tuple[str, str, str]],
    diagnostics: Sequence[Diagnostic],
) -> str:
    """`spd validate --output json`: `valid`, the stack and processors (null and empty when invalid),
    every diagnostic (warnings of a valid spec, errors and warnings of an invalid one)."""
    summary = _summary(diagnostics)
    return dumps(
        {
            "spec": str(spec),
            "valid": summary["errors"] == 0,
            "stack": stack,
            "processors": [
                {"name": name, "region": region, "target": target or None}
                for name, region, target in processors
            ],
            "diagnostics": [diagnostic_json(d) for d in diagnostics],
            "summary": summary,
        }
    )


def check_json(stack: str, references: int, findings: Sequence[Diagnostic]) -> str:
    """`spd check --output json`: how many references were looked up and every finding, located."""
    return dumps(
        {
            "stack": stack,
            "references": references,
            "findings": [diagnostic_json(d) for d in findings],
            "summary": _summary(findings),
        }
    )


def import_json(
    stack: str,
    regions: Sequence[str],
    processors: Sequence[ObservedProcessor],
    written: Sequence[Path],
    spec: str | None,
) -> str:
    """`spd import --output json`: the processors imported, the files written (`--out`), and the spec's
    text when it was not written to a file (null otherwise)."""
    return dumps(
        {
            "stack": stack,
            "regions": list(regions),
            "processors": [
                {"name": p.name, "region": p.id.region, "target": p.id.target or None} for p in processors
            ],
            "written": [str(path) for path in written],
            "spec": spec,
        }
    )
