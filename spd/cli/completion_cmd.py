"""`spd completion bash|zsh|fish`: print the shell's completion script for spd.

The script is click's own (`_SPD_COMPLETE=<shell>_source spd` prints the same): sourced, it has the shell
ask `spd` again at each Tab, which answers from the command table (`spd.cli.lazy`) and, for processor
names, from the spec on the command line (`spd.cli.complete`).
"""

from __future__ import annotations

import click
from click.shell_completion import get_completion_class

from spd.cli.app import COMPLETE_VAR
from spd.cli.complete import register
from spd.cli.helptext import USAGE, documented

SHELLS = ("bash", "zsh", "fish")


@documented(
    examples=[
        ('eval "$(spd completion bash)"', "in ~/.bashrc"),
        ('eval "$(spd completion zsh)"', "in ~/.zshrc"),
        ("spd completion fish > ~/.config/fish/completions/spd.fish", ""),
    ],
    exit_codes={0: "printed", USAGE[0]: USAGE[1] + ", a shell spd has no script for"},
)
@click.command("completion")
@click.argument("shell", type=click.Choice(SHELLS))
@click.pass_context
def completion_command(ctx: click.Context, shell: str) -> None:
    """Print the shell completion script for bash, zsh or fish.

    Completes commands, options, and processor names (after --target, and in `spd session start SPEC`)
    read from the spec given earlier on the line.
    """
    register()
    root = ctx.find_root()
    completion = get_completion_class(shell)
    assert completion is not None  # every name of SHELLS is one of click's
    script = completion(root.command, {}, root.info_name or "spd", COMPLETE_VAR).source()
    click.echo(script, nl=False)
