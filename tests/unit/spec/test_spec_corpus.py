"""The corpus of bad specs: each file under corpus/ carries its expected diagnostics as comments,

    # expect: LINE:COL KEY.PATH: MESSAGE-SUBSTRING

and must produce exactly those errors (no more: noise is a defect too). Plus a file with many problems
that must all be reported, and a directory whose files define one name twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from spd.errors import Diagnostic, SpecError
from spd.spec import load_spec

HERE = Path(__file__).parent
CORPUS = sorted((HERE / "corpus").glob("*.yaml"))
_EXPECT = re.compile(r"^# expect: (\d+):(\d+) (\S*): (.+)$", re.MULTILINE)


@dataclass(frozen=True)
class Expected:
    line: int
    column: int
    path: str
    message: str

    def matches(self, diagnostic: Diagnostic) -> bool:
        return (diagnostic.line, diagnostic.column, diagnostic.path) == (
            self.line,
            self.column,
            self.path,
        ) and self.message in diagnostic.message

    def __str__(self) -> str:
        return f"{self.line}:{self.column} {self.path}: {self.message}"


def expectations(path: Path) -> list[Expected]:
    text = path.read_bytes().decode("utf-8", errors="replace")
    return [Expected(int(m[1]), int(m[2]), m[3], m[4]) for m in _EXPECT.finditer(text)]


def load_errors(path: Path) -> list[Diagnostic]:
    with pytest.raises(SpecError) as caught:
        load_spec(path, environ={"SPD_CORPUS_SET": "set"})
    return [d for d in caught.value.diagnostics if d.severity == "error"]


def test_the_corpus_is_large_enough() -> None:
    assert len(CORPUS) >= 45
    assert all(expectations(path) for path in CORPUS), "every corpus file states what it expects"


@pytest.mark.parametrize("path", CORPUS, ids=[p.stem for p in CORPUS])
def test_corpus_file(path: Path) -> None:
    expected = expectations(path)
    errors = load_errors(path)
    shown = "\n".join(str(e) for e in errors)
    for item in expected:
        assert any(item.matches(e) for e in errors), f"missing {item}\ngot:\n{shown}"
    assert len(errors) == len(expected), f"unexpected extra errors:\n{shown}"
    assert all(e.file == str(path) for e in errors)


MULTI_ERROR = [
    (7, 24, 'defaults.tags["aws:owner"]', "reserved for AWS"),
    (9, 11, "processors[0].name", "must match"),
    (10, 5, "processors[0].nmae", "did you mean 'name'?"),
    (11, 39, "processors[0].input.kinesis_video_stream_arn", "region 'us-west-2'"),
    (12, 34, "processors[0].face_search.collection_id", "YAML 1.1 reads as boolean false"),
    (13, 100, "processors[0].output.s3_bucket", "not S3"),
    (13, 111, "processors[0].output.s3_bucket", "at least 3 characters"),
    (14, 14, "processors[0].protect", "write true"),
    (15, 22, 'processors[0].tags["spd:stack"]', "reserved for spd"),
    (15, 47, "processors[0].tags.floor", "quote it"),
    (16, 5, "processors[1]", "need a notification_channel"),
    (17, 5, "processors[1].name", "duplicate key 'name'"),
    (18, 39, "processors[1].input.kinesis_video_stream_arn", "region 'us-west-2'"),
    (18, 39, "processors[1].input.kinesis_video_stream_arn", "already feeds processor 'lobby faces'"),
    (19, 39, "processors[1].connected_home.labels[1]", "did you mean 'PERSON'?"),
    (19, 72, "processors[1].connected_home.min_confidence", "between 0 and 100"),
    (20, 25, "processors[1].output.s3_bucket", "SPD_MULTI_BUCKET is not set"),
    (21, 20, "processors[1].desired_state", "120 seconds"),
    (23, 52, "processors[1].regions_of_interest[0].bounding_box.width", "leaves the frame"),
    (24, 18, "processors[1].regions_of_interest[1].polygon", "at least 3 points"),
    (25, 9, "processors[1].regions_of_interest[2]", "exactly one of bounding_box or polygon"),
]


def test_every_problem_of_a_file_is_reported_in_order() -> None:
    path = HERE / "cases" / "multi_error.yaml"
    with pytest.raises(SpecError) as caught:
        load_spec(path, environ={})
    diagnostics = list(caught.value.diagnostics)
    errors = [d for d in diagnostics if d.severity == "error"]
    got = [(d.line, d.column, d.path) for d in errors]
    assert got == [(line, column, key) for line, column, key, _ in MULTI_ERROR]
    for diagnostic, (*_, message) in zip(errors, MULTI_ERROR, strict=True):
        assert message in diagnostic.message
    warnings = [(d.line, d.column, d.path) for d in diagnostics if d.severity == "warning"]
    assert warnings == [
        (12, 60, "processors[0].face_search.face_match_threshold"),
        (19, 47, "processors[1].connected_home.labels[2]"),
    ]
    # The exception's text is the report an operator reads: one located line per problem, sorted.
    lines = str(caught.value).splitlines()
    assert len(lines) == len(diagnostics)
    assert lines[0].startswith(f"{path}:7:24: defaults.tags")


def test_a_name_defined_in_two_files_points_at_both() -> None:
    directory = HERE / "cases" / "duplicate_across_files"
    errors = load_errors(directory)
    assert len(errors) == 1
    error = errors[0]
    assert (error.file, error.line, error.column, error.path) == (
        str(directory / "porch.yaml"),
        13,
        11,
        "processors[1].name",
    )
    assert f"already defined in us-east-1 at {directory / 'lobby.yaml'}:7:11" in error.message
