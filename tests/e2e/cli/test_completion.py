"""Shell completion as docs/getting-started.md sets it up: the installed `spd` prints its completion script, and bash,
having sourced it, completes subcommands and options by asking `spd` again."""

from __future__ import annotations

import subprocess

import click
import pytest

from spd.cli.app import cli
from spdrun import SPD_SCRIPT, script_env


@pytest.mark.parametrize(
    ("shell", "marker"),
    [
        ("bash", "complete -o nosort -F _spd_completion spd"),
        ("zsh", "#compdef spd"),
        ("fish", "complete --no-files --command spd"),
    ],
)
def test_spd_prints_its_completion_script(shell: str, marker: str) -> None:
    result = subprocess.run(
        [str(SPD_SCRIPT)],
        env=script_env(_SPD_COMPLETE=f"{shell}_source"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert marker in result.stdout
    assert result.stderr == ""


def _bash_complete(*words: str) -> list[str]:
    """What bash offers for the last of `words` after `eval "$(_SPD_COMPLETE=bash_source spd)"`."""
    quoted = " ".join(f"'{w}'" for w in words)
    script = f"""
        set -e
        eval "$(_SPD_COMPLETE=bash_source spd)"
        COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; COMPREPLY=()
        _spd_completion spd
        printf '%s\\n' "${{COMPREPLY[@]}}"
    """
    result = subprocess.run(
        ["bash", "-c", script], env=script_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_the_subcommands() -> None:
    with click.Context(cli) as ctx:
        expected = cli.list_commands(ctx)
    assert {"apply", "plan", "status", "validate", "schema", "run", "emulator"} <= set(expected)
    assert sorted(_bash_complete("spd", "")) == sorted(expected)
    assert _bash_complete("spd", "va") == ["validate"]


def test_bash_completes_options_of_a_subcommand() -> None:
    assert sorted(_bash_complete("spd", "plan", "--local")) == ["--local", "--local-state"]
