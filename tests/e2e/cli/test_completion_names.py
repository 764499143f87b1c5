"""`spd completion SHELL` and what the script it prints completes: the spec's processor names after
`--target` and in `spd session start SPEC`, read offline from the spec given earlier on the line.

bash evaluates the script `spd completion bash` prints (printed once for the module) as a user's shell
would, and asks the installed `spd` at each Tab."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from spdrun import SPD_SCRIPT, bash_complete, script_env, target_face, write_targets_spec


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _spd_completion spd"),
        ("zsh", "#compdef spd"),
        ("fish", "complete --no-files --command spd"),
    ],
)
def test_completion_prints_the_script(shell: str, marker: str) -> None:
    r = subprocess.run(
        [str(SPD_SCRIPT), "completion", shell], env=script_env(), capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert marker in r.stdout
    assert r.stderr == ""
    # The script the command prints is the one click's variable prints, so either way of installing works.
    same = subprocess.run(
        [str(SPD_SCRIPT)],
        env=script_env(_SPD_COMPLETE=f"{shell}_source"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (same.returncode, same.stderr) == (0, ""), same.stderr
    assert same.stdout == r.stdout


def test_completion_of_an_unknown_shell_is_a_usage_error() -> None:
    r = subprocess.run(
        [str(SPD_SCRIPT), "completion", "tcsh"], env=script_env(), capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 64
    assert "'tcsh' is not one of 'bash', 'zsh', 'fish'" in r.stderr


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    """A spec with two targets, one processor name in both (`porch`), so names and targets both complete."""
    targets = {
        "lab": {"account_id": "111122223333", "regions": ["us-east-1"], "profile": "lab"},
        "prod": {"account_id": "444455556666", "regions": ["us-east-1"], "profile": "prod"},
    }
    processors = [
        target_face("porch", "111122223333", "lab"),
        target_face("porch", "444455556666", "prod"),
        target_face("porch-2", "444455556666", "prod"),
        target_face("garage", "444455556666", "prod"),
    ]
    return write_targets_spec(tmp_path / "spec.yaml", targets, processors)


@pytest.mark.parametrize("command", ["plan", "apply"])
def test_target_completes_the_specs_processor_names(spec: Path, command: str) -> None:
    assert bash_complete("spd", command, str(spec), "--target", "")[0] == ["garage", "porch", "porch-2"]
    assert bash_complete("spd", command, str(spec), "--target", "por")[0] == ["porch", "porch-2"]
    assert bash_complete("spd", command, str(spec), "--target", "x", "--target", "g")[0] == ["garage"]


def test_session_start_completes_the_processor_then_the_target(spec: Path) -> None:
    assert bash_complete("spd", "session", "start", str(spec), "")[0] == ["garage", "porch", "porch-2"]
    assert bash_complete("spd", "session", "start", str(spec), "ga")[0] == ["garage"]
    assert bash_complete("spd", "session", "start", str(spec), "porch", "--target", "")[0] == ["lab", "prod"]


def test_history_processor_completes_the_specs_names(spec: Path) -> None:
    assert bash_complete("spd", "history", str(spec), "--processor", "p")[0] == ["porch", "porch-2"]


@pytest.mark.parametrize(
    "content",
    [None, "version: 1\nstack: [unclosed\n", "version: 1\nstack: s\nprocessors:\n  - nmae: x\n"],
    ids=["missing", "not-yaml", "invalid"],
)
def test_a_bad_spec_completes_nothing_silently(tmp_path: Path, content: str | None) -> None:
    spec = tmp_path / "spec.yaml"
    if content is not None:
        spec.write_text(content)
    offered, err = bash_complete("spd", "plan", str(spec), "--target", "")
    assert (offered, err) == ([], "")
    offered, err = bash_complete("spd", "session", "start", str(spec), "")
    assert (offered, err) == ([], "")


def test_options_still_complete_after_a_flag(spec: Path) -> None:
    assert bash_complete("spd", "plan", str(spec), "--local", "--local-")[0] == ["--local-state"]
    assert bash_complete("spd", "plan", "--local")[0] == ["--local", "--local-state"]
