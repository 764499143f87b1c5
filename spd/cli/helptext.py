"""The "Examples:" and "Exit codes:" sections every command's `--help` ends with, written one way.

Each command lists its own examples and exit codes next to its declaration; this module lays them out
as click paragraphs kept verbatim (the `\\b` marker stops click from re-wrapping them into one line).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import click

C = TypeVar("C", bound=click.Command)

NO_REWRAP = "\b"
"""click prints a paragraph that starts with this line as written."""

USAGE = (64, "usage error: an unknown option, a missing argument, conflicting options")
CONFIG = (78, "invalid spec or settings (each problem located at file:line:col)")


def _block(title: str, lines: Sequence[str]) -> str:
    return "\n".join([NO_REWRAP, f"{title}:", *(f"  {line}" for line in lines)])


def sections(examples: Sequence[tuple[str, str]], exit_codes: Mapping[int, str]) -> str:
    """Both sections as help text: each example a command line and what it does, each code its meaning."""
    width = max(len(command) for command, _ in examples)
    shown = [f"{command.ljust(width)}  # {what}" if what else command for command, what in examples]
    codes = [f"{code:<3} {meaning}" for code, meaning in sorted(exit_codes.items())]
    return _block("Examples", shown) + "\n\n" + _block("Exit codes", codes)


def documented(
    examples: Sequence[tuple[str, str]], exit_codes: Mapping[int, str] | Sequence[tuple[int, str]]
) -> Callable[[C], C]:
    """Append the two sections to a click command's help (put it above `@click.command`)."""
    codes = dict(exit_codes)

    def add(command: C) -> C:
        command.help = f"{inspect.cleandoc(command.help or '')}\n\n{sections(examples, codes)}"
        return command

    return add
