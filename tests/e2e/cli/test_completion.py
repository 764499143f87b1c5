"""Shell completion as docs/getting-started.md sets it up: the installed `spd` prints its completion script, and bash,
having sourced it, completes subcommands and options by asking `spd` again. The script itself, by
`spd completion SHELL` and by click's `_SPD_COMPLETE` variable alike, is tested in test_completion_names.py."""

from __future__ import annotations

import click

from spd.cli.app import cli
from spdrun import bash_complete


def test_bash_completes_the_subcommands() -> None:
    with click.Context(cli) as ctx:
        expected = cli.list_commands(ctx)
    assert {"apply", "plan", "status", "validate", "schema", "run", "emulator"} <= set(expected)
    assert sorted(bash_complete("spd", "")[0]) == sorted(expected)
    assert bash_complete("spd", "va")[0] == ["validate"]


def test_bash_completes_options_of_a_subcommand() -> None:
    assert sorted(bash_complete("spd", "plan", "--local")[0]) == ["--local", "--local-state"]
