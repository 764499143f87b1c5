"""Whatever is thrown at `load_spec`, it returns a `LoadedSpec` or raises a `SpecError` whose diagnostics
are all located: never another exception, never a traceback for the operator."""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from spd.errors import SpecError
from spd.spec import LoadedSpec, load_spec
from spec_support import dump_yaml, valid_data

ROOT = Path(__file__).resolve().parents[3]
# SPD_FUZZ_EXAMPLES raises the count for a long hunt by hand; the default keeps the suite quick.
FUZZ = settings(
    max_examples=int(os.environ.get("SPD_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)

SPEC_KEYS = [
    "version", "stack", "defaults", "processors", "name", "region", "role_arn", "input", "face_search",
    "connected_home", "output", "notification_channel", "kms_key_id", "regions_of_interest", "data_sharing",
    "desired_state", "protect", "tags", "kinesis_video_stream_arn", "kinesis_data_stream_arn", "s3_bucket",
    "s3_key_prefix", "sns_topic_arn", "collection_id", "face_match_threshold", "labels", "min_confidence",
    "bounding_box", "polygon", "left", "top", "width", "height", "x", "y", "aws:x", "spd:stack", "nmae",
]  # fmt: skip

SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(["PERSON", "running", "stopped", "us-east-1", "no", "${X}", "${X:-1}", "a" * 300, ""])
)
DOCUMENTS = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(SPEC_KEYS) | st.text(max_size=6), inner, max_size=5)
    ),
    max_leaves=20,
)
YAMLISH = st.lists(
    st.sampled_from([*list("ab01 :-{}[],#'\"\n\t&*!|>%@?~`$.\\\ré\x00"), "\n  ", "\n- ", "version: 1\n"]),
    max_size=60,
).map("".join)


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "spec.yaml"


def check(path: Path, content: str | bytes) -> LoadedSpec | SpecError:
    if isinstance(content, str):
        path.write_text(content, encoding="utf-8", errors="surrogatepass")
    else:
        path.write_bytes(content)
    outcome: LoadedSpec | SpecError
    try:
        outcome = load_spec(path, environ={"X": "1"})
    except SpecError as exc:
        outcome = exc
    if isinstance(outcome, SpecError):
        assert any(d.severity == "error" for d in outcome.diagnostics)
        for diagnostic in outcome.diagnostics:
            assert diagnostic.file == str(path)
            assert diagnostic.line >= 1
            assert diagnostic.column >= 1
            assert diagnostic.message
            assert diagnostic.severity in ("error", "warning")
    return outcome


@FUZZ
@given(YAMLISH)
def test_random_text(spec_path: Path, text: str) -> None:
    check(spec_path, text)


@FUZZ
@given(st.binary(max_size=64))
def test_random_bytes(spec_path: Path, data: bytes) -> None:
    check(spec_path, data)


@FUZZ
@given(DOCUMENTS, st.sampled_from([None, False, True]))
def test_random_documents(spec_path: Path, document: Any, flow: bool | None) -> None:
    check(spec_path, dump_yaml(document, flow=flow))


def _containers(node: Any) -> list[Any]:
    if isinstance(node, dict):
        children: Any = node.values()
    elif isinstance(node, list):
        children = node
    else:
        return []
    return [node, *(c for child in children for c in _containers(child))]


@st.composite
def mutated_spec(draw: st.DrawFn) -> dict[str, Any]:
    """The valid spec with a few random edits: values replaced, keys dropped or added."""
    data = valid_data()
    for _ in range(draw(st.integers(1, 4))):
        containers = _containers(data)
        target = draw(st.sampled_from(containers))
        if isinstance(target, dict):
            if target and draw(st.booleans()):
                key = draw(st.sampled_from(sorted(target)))
                if draw(st.booleans()):
                    del target[key]
                else:
                    target[key] = draw(DOCUMENTS)
            else:
                target[draw(st.sampled_from(SPEC_KEYS))] = draw(DOCUMENTS)
        elif target:
            index = draw(st.integers(0, len(target) - 1))
            choice = draw(st.integers(0, 2))
            if choice == 0:
                target[index] = draw(DOCUMENTS)
            elif choice == 1:
                target.append(copy.deepcopy(target[index]))
            else:
                del target[index]
    return data


@FUZZ
@given(mutated_spec(), st.sampled_from([None, False]))
def test_mutations_of_a_valid_spec(spec_path: Path, data: dict[str, Any], flow: bool | None) -> None:
    outcome = check(spec_path, dump_yaml(data, flow=flow))
    if isinstance(outcome, LoadedSpec):
        assert len(outcome.desired.processors) == len(data["processors"])


@FUZZ
@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.sampled_from(list(" -:#'\"{}[],\n\t&*!|>x9$")), st.booleans()),
        min_size=1,
        max_size=4,
    )
)
def test_text_edits_of_the_example_config(spec_path: Path, edits: list[tuple[int, str, bool]]) -> None:
    text = (ROOT / "config" / "porch.yaml").read_text()
    for offset, char, replace in edits:
        at = offset % (len(text) + 1)
        text = text[:at] + char + text[at + 1 if replace else at :]
    check(spec_path, text)
