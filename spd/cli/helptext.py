"""The "Examples:" and "Exit codes:" sections every command's `--help` ends with, written one way.

Each command lists its own examples and exit codes next to its declaration; this module lays them out
as click paragraphs kept verbatim (the `\\b` marker stops click from re-wrapping them into one line).
"""

from __future__ import annotations

import inspect
import textwrap
from collections.abc import Callable, Mapping, Sequence
from typing import TypeVar

import click

C = TypeVar("C", bound=click.Command)

NO_REWRAP = "\b"
"""click prints a paragraph that starts with this line as written."""

FITS = 72
"""Example and comment side by side when the widest pair is this short, else each comment above its
example; exit codes wrapped to this width: either way a line of help fits an 80-column terminal."""

USAGE = (64, "usage error: an unknown option, a missing argument, conflicting options")
TEMPFAIL = (75, "a local state file cannot be written for now (disk full, I/O error): retry")
CONFIG = (78, "invalid spec or settings (each problem located at file:line:col)")


def _block(title: str, lines: Sequence[str]) -> str:
    return "\n".join([NO_REWRAP, f"{title}:", *(f"  {line}" for line in lines)])


def sections(examples: Sequence[tuple[str, str]], exit_codes: Mapping[int, str]) -> str:
    """Both sections as help text: each example a command line and what it does, each code its meaning."""
    width = max(len(command) for command, _ in examples)
    if width + max(len(what) for _, what in examples) <= FITS:
        shown = [f"{command.ljust(width)}  # {what}" if what else command for command, what in examples]
    else:
        shown = [line for command, what in examples for line in ([f"# {what}"] if what else []) + [command]]
    codes = [
        line
        for code, meaning in sorted(exit_codes.items())
        for line in textwrap.wrap(f"{code:<3} {meaning}", FITS + 4, subsequent_indent="    ")
    ]
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
