"""`spd validate` and `spd schema` run as the installed command, each in a process of its own (forked from
tests/support/forkserver.py when it can be)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

from spd import __version__
from spdrun import run_installed

ROOT = Path(__file__).resolve().parents[3]
CORPUS = ROOT / "tests" / "unit" / "spec" / "corpus"


def spd(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPD_")}
    return run_installed(args, env=env, cwd=cwd)


def test_a_valid_spec_directory_exits_0() -> None:
    result = spd("validate", "config/")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "config/: 6 processors in stack lobby-cams are valid\n"
    assert result.stderr == ""


def test_a_valid_file_exits_0() -> None:
    result = spd("validate", "config/lobby.yaml")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "config/lobby.yaml: 3 processors in stack lobby-cams are valid\n"


def test_warnings_are_printed_but_do_not_fail(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        (ROOT / "config" / "lobby.yaml")
        .read_text()
        .replace("face_match_threshold: 90", "face_match_threshold: 70")
    )
    result = spd("validate", str(spec))
    assert result.returncode == 0
    assert (
        f"{spec}:9:51: defaults.face_search.face_match_threshold" not in result.stderr
    )  # warned per processor
    assert (
        "processors[0].face_search.face_match_threshold: warning: AWS stores thresholds below 80"
        in result.stderr
    )
    assert result.stderr.rstrip().endswith("2 warnings")
    assert "are valid" in result.stdout


def test_an_invalid_spec_exits_78_with_located_messages() -> None:
    path = "tests/unit/spec/corpus/polygon_two_points.yaml"
    result = spd("validate", path)
    assert result.returncode == 78
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        f"{path}:16:18: processors[1].regions_of_interest[0].polygon: needs at least 3 points (got 2)",
        "1 error(s)",
    ]


def test_every_error_is_printed_and_counted() -> None:
    result = spd("validate", "tests/unit/spec/cases/multi_error.yaml")
    assert result.returncode == 78
    lines = result.stderr.splitlines()
    assert lines[-1] == "21 error(s)"
    assert len(lines) == 21 + 2 + 1  # errors, warnings, the count
    assert "Traceback" not in result.stderr


def test_malformed_yaml_is_a_located_error_not_a_traceback() -> None:
    for name in (
        "malformed_unclosed_flow.yaml",
        "tab_in_indentation.yaml",
        "invalid_utf8.yaml",
        "empty_file.yaml",
    ):
        result = spd("validate", str(CORPUS / name))
        assert result.returncode == 78, name
        assert result.stderr.startswith(f"{CORPUS / name}:"), result.stderr
        assert "Traceback" not in result.stderr


def test_a_missing_path_exits_78() -> None:
    result = spd("validate", "no/such/spec.yaml")
    assert result.returncode == 78
    assert "no/such/spec.yaml:1:1: no such file or directory" in result.stderr


def test_usage_errors_exit_64() -> None:
    assert spd("validate").returncode == 64
    assert spd("validate", "--no-such-option", "config/").returncode == 64
    assert spd("validate", "a", "b").returncode == 64


def test_schema_prints_the_json_schema() -> None:
    result = spd("schema")
    assert result.returncode == 0
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"version", "stack", "targets", "defaults", "processors"}


def test_version() -> None:
    result = spd("--version")
    assert result.returncode == 0
    assert __version__ in result.stdout
