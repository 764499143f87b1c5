"""A large spec file is validated in parts (`spd.spec.loader.VALIDATED_AT_ONCE` processors each), each
converted to the desired state at once, and parsed with its repeated keys and values stored once: the
same problems, at the same places, and the same desired state as when the whole file is validated in one
call, for much less memory at the peak of a load.
"""

from __future__ import annotations

import gc
import tracemalloc
from pathlib import Path

import pytest

from spd.errors import SpecError
from spd.spec import load_spec, loader
from spd.spec.yaml_source import read_document
from spec_support import write

ACCOUNT = "111122223333"
PROCESSORS = 2500


def processor(i: int) -> str:
    return f"""\
- name: cam-{i:05d}
  input:
    kinesis_video_stream_arn: arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/cam-{i:05d}/1700000000000
  face_search:
    collection_id: staff
    face_match_threshold: 85
  output:
    kinesis_data_stream_arn: arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/cam-{i:05d}-out
  tags:
    camera: cam-{i:05d}
"""


def fleet(count: int, *, stack: str = "big", broken: dict[int, str] | None = None) -> str:
    """A spec of `count` face-search processors; `broken` replaces some processors' text."""
    head = f"""\
version: 1
stack: {stack}
defaults:
  region: us-east-1
  role_arn: arn:aws:iam::{ACCOUNT}:role/SpdRekognition
  tags: {{team: vision}}
processors:
"""
    broken = broken or {}
    return head + "".join(broken.get(i, processor(i)) for i in range(count))


def load_both(spec: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[object, object]:
    """What loading `spec` gives (the desired state, or the SpecError's diagnostics) in parts, then in
    one call."""
    results = []
    for at_once in (loader.VALIDATED_AT_ONCE, 10**9):
        monkeypatch.setattr(loader, "VALIDATED_AT_ONCE", at_once)
        try:
            results.append(load_spec(spec, environ={}).desired)
        except SpecError as exc:
            results.append(exc.diagnostics)
    return results[0], results[1]


def test_parts_give_the_same_desired_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = write(tmp_path, fleet(PROCESSORS))
    in_parts, at_once = load_both(spec, monkeypatch)
    assert in_parts == at_once
    assert len(in_parts.processors) == PROCESSORS  # type: ignore[attr-defined]


def test_problems_past_the_first_part_are_located_in_the_whole_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    late = processor(2345).replace("face_match_threshold: 85", "face_match_threshold: high")
    unknown = processor(1200) + "  colour: red\n"
    duplicate = processor(2400).replace("cam-02400/1700000000000", "cam-00007/1700000000000")
    text = fleet(PROCESSORS, stack="bad stack!", broken={2345: late, 1200: unknown, 2400: duplicate})
    spec = write(tmp_path, text)
    in_parts, at_once = load_both(spec, monkeypatch)
    assert in_parts == at_once
    paths = [d.path for d in in_parts]  # type: ignore[attr-defined]
    assert "processors[2345].face_search.face_match_threshold" in paths
    assert "processors[1200].colour" in paths
    assert "processors[2400].input.kinesis_video_stream_arn" in paths
    assert paths.count("stack") == 1
    threshold = next(d for d in in_parts if d.path.endswith("face_match_threshold"))  # type: ignore[attr-defined]
    assert text.splitlines()[threshold.line - 1].strip() == "face_match_threshold: high"


def test_repeated_keys_and_values_are_one_object_each() -> None:
    data = read_document(fleet(3), "f.yaml", {}).data
    first, second = data["processors"][0], data["processors"][1]
    assert [id(k) for k in first] == [id(k) for k in second]
    assert first["face_search"]["collection_id"] is second["face_search"]["collection_id"]


def test_load_peak_is_well_below_three_times_what_the_desired_state_keeps(tmp_path: Path) -> None:
    """With every file's models alive until the end, per-container position tables and a string per
    occurrence, a load peaked at 2.97 times its result here; 2.35 since."""
    load_spec(write(tmp_path, fleet(2), "warm.yaml"), environ={})  # modules imported, models built
    spec = write(tmp_path, fleet(3000))
    gc.collect()
    tracemalloc.start()
    try:
        loaded = load_spec(spec, environ={})
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(loaded.desired.processors) == 3000
    assert peak <= 2.6 * kept, f"peak {peak / 2**20:.1f} MiB for {kept / 2**20:.1f} MiB kept"
