"""A region of interest is written out by one function (`spd.model.region_document`): the plan's JSON,
the imported spec and the API request are the same document in two spellings, and read back equal."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from builders import face_config, observed
from spd.aws.mapping import region_from_api, region_to_api
from spd.model import BoundingBox, Point, Polygon, RegionOfInterest
from spd.reconcile.importer import processor_entry
from spd.reconcile.plan import regions_json

SPD = Path(__file__).resolve().parents[3] / "spd"
REGIONS: tuple[RegionOfInterest, ...] = (
    BoundingBox(0.125, 0.25, 0.5, 0.375),
    Polygon((Point(0.0, 0.0), Point(0.75, 0.0), Point(0.5, 0.5))),
)


def _respelt(document: Any) -> Any:
    """The spec-spelt document in the API's spelling (keys only)."""
    from spd.model import api_key

    if isinstance(document, dict):
        return {api_key(k): _respelt(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_respelt(v) for v in document]
    return document


def test_the_plan_and_the_wire_are_one_document_in_two_spellings() -> None:
    assert _respelt(regions_json(REGIONS)) == [region_to_api(r) for r in REGIONS]
    assert region_to_api(REGIONS[0]) == {
        "BoundingBox": {"Left": 0.125, "Top": 0.25, "Width": 0.5, "Height": 0.375}
    }
    assert tuple(region_from_api(region_to_api(r)) for r in REGIONS) == REGIONS


def test_the_importer_writes_what_the_plan_shows() -> None:
    processor = observed(face_config("cam", regions_of_interest=REGIONS))
    entry = processor_entry(processor, shared={}, shared_tags={})
    assert entry["regions_of_interest"] == regions_json(REGIONS)


def _constants(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)}


def test_no_second_serialiser() -> None:
    """The keys are spelt in `spd.model` only; the spec language (which reads them) and the API model
    and emulator (which are the service's side) are the other holders of these words."""
    words = {"bounding_box", "polygon", "BoundingBox", "Polygon", "Left", "Top", "Width", "Height"}
    allowed = {"model.py"}
    found = {
        str(path.relative_to(SPD)): sorted(words & _constants(path))
        for path in SPD.rglob("*.py")
        if path.parts[len(SPD.parts)] not in {"spec", "api", "emulator", "docs"}
        and str(path.relative_to(SPD)) not in allowed
    }
    assert {k: v for k, v in found.items() if v} == {}
