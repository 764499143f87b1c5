"""Every `spd` command, its usage, help and options, read from the click commands themselves."""

from __future__ import annotations

import click

from spd.cli.app import cli
from spd.docs.markdown import cell, code, prose, table


def _options(command: click.Command, ctx: click.Context) -> str:
    rows = []
    for param in command.get_params(ctx):
        if isinstance(param, click.Argument):
            continue
        record = param.get_help_record(ctx)
        if record is None:
            continue
        names, help_text = record
        rows.append((code(names), cell(help_text)))
    return table(("option", "meaning"), rows) if rows else ""


def _help(command: click.Command) -> str:
    """The help text as paragraphs (click's `\\b` marks a block kept as written)."""
    text = command.help or command.short_help or ""
    paragraphs = []
    for block in text.strip().split("\n\n"):
        if block.startswith("\b\n"):
            lines = block.removeprefix("\b\n").splitlines()
            paragraphs.append("\n".join(f"    {line}" for line in lines))
        else:
            paragraphs.append(prose(" ".join(block.split())))
    return "\n\n".join(paragraphs)


def walk(group: click.Group = cli, prefix: str = "spd") -> list[tuple[str, click.Command, click.Context]]:
    """(full name, command, context) of every command, depth first, in name order."""
    found = []
    parent = click.Context(group, info_name=prefix)
    for name in group.list_commands(parent):
        command = group.get_command(parent, name)
        if command is None or command.hidden:
            continue
        full = f"{prefix} {name}"
        ctx = click.Context(command, info_name=full, parent=None)
        found.append((full, command, ctx))
        if isinstance(command, click.Group):
            found += walk(command, full)
    return found


def commands() -> str:
    parts = []
    for full, command, ctx in [("spd", cli, click.Context(cli, info_name="spd")), *walk()]:
        usage = " ".join(command.collect_usage_pieces(ctx))
        parts.append(
            f"## `{full}`\n\n```text\n{full} {usage}\n```\n\n{_help(command)}\n\n{_options(command, ctx)}"
        )
    return "\n".join(parts)
