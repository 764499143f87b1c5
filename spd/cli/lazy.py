"""A click group that imports a command's module only when that command runs.

Each command pulls in its own stack: `plan` and `apply` the AWS client (botocore, aiobotocore,
aiohttp), `run` the daemon's (structlog, apscheduler, prometheus_client), `emulator` moto and werkzeug.
Importing them all before parsing the command line cost `spd --help` and `spd validate` half a second
or more. The group keeps a table of `module:attribute` targets instead, with each command's help
text, so that listing the commands (help, shell completion) imports none of them.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:
    from click.shell_completion import CompletionItem


@dataclass(frozen=True, slots=True)
class LazyCommand:
    """Where a command lives (`package.module:attribute`) and the first paragraph of its help."""

    target: str
    help: str


WHOLE = sys.maxsize
"""The limit given to `get_short_help_str` so that a listed summary is the whole first sentence: click
cuts it at 45 characters (or the terminal's width) with "...", which hid the end of most of them."""


class SpdGroup(click.Group):
    """A click group as spd lists and resolves commands: each summary whole, a mistyped name answered
    with the nearest command names (click does it for options, but only for commands already loaded)."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand as exc:
            raise click.exceptions.NoSuchCommand(
                exc.command_name, possibilities=self.list_commands(ctx), ctx=ctx
            ) from None

    def _listed(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command as help and completion show it."""
        return self.get_command(ctx, name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click.Group.format_commands, with `_listed` in place of `get_command` and whole summaries
        # (write_dl wraps them in the second column).
        commands = [
            (name, command)
            for name in self.list_commands(ctx)
            if (command := self._listed(ctx, name)) is not None and not command.hidden
        ]
        if commands:
            with formatter.section("Commands"):
                formatter.write_dl([(name, command.get_short_help_str(WHOLE)) for name, command in commands])

    def shell_complete(self, ctx: click.Context, incomplete: str) -> list[CompletionItem]:
        # click.Group.shell_complete, with `_listed` in place of `get_command` and whole summaries.
        from click.shell_completion import CompletionItem

        results = [
            CompletionItem(name, help=command.get_short_help_str(WHOLE))
            for name in self.list_commands(ctx)
            if name.startswith(incomplete)
            and (command := self._listed(ctx, name)) is not None
            and not command.hidden
        ]
        results.extend(click.Command.shell_complete(self, ctx, incomplete))
        return results


class LazyGroup(SpdGroup):
    """A group whose commands are imported on first use, by name, from a table of `LazyCommand`s."""

    def __init__(self, *args: Any, lazy_commands: Mapping[str, LazyCommand] | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy_commands:
            self.add_command(self._import(cmd_name), cmd_name)
        return super().get_command(ctx, cmd_name)

    def _import(self, name: str) -> click.Command:
        module_name, _, attribute = self.lazy_commands[name].target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.lazy_commands[name].target} is not a click command")
        return command

    def _listed(self, ctx: click.Context, name: str) -> click.Command | None:
        """The command as help and completion show it: the real one if loaded, else a stand-in with its help."""
        if name not in self.commands and name in self.lazy_commands:
            return click.Command(name, help=self.lazy_commands[name].help)
        return super().get_command(ctx, name)
