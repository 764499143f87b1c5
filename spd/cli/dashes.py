"""Terraform's single-dash options (`-out=plan.json`, `-detailed-exitcode`, `-auto-approve`) answered
with the double-dash form spd takes.

spd's options mirror Terraform's names, so its users type them Terraform's way. click reads `-out` as the
short options `-o -u -t` and says "No such option '-o'", which names neither what was typed nor the fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import click

from spd.spec.suggest import did_you_mean

_SINGLE_DASH = re.compile(r"-(?P<name>[A-Za-z][A-Za-z0-9-]+)(?P<value>=.*)?\Z", re.DOTALL)


def _long_options(command: click.Command) -> list[str]:
    return [
        opt
        for param in command.params
        if isinstance(param, click.Option)
        for opt in (*param.opts, *param.secondary_opts)
        if opt.startswith("--")
    ]


def single_dash_hint(exc: click.exceptions.NoSuchOption, args: Sequence[str]) -> click.UsageError | None:
    """The usage error to show instead of `exc` when it came from a long option written with one dash:
    the first such word of `args` whose first letter is the option click could not find. None otherwise."""
    if exc.ctx is None:
        return None
    for word in args:
        if word == "--":
            break
        found = _SINGLE_DASH.match(word)
        if found is None or word[:2] != exc.option_name:
            continue
        double = f"--{found['name']}"
        known = _long_options(exc.ctx.command)
        value = found["value"] or ""
        hint = f"; did you mean '{double}{value}'?" if double in known else did_you_mean(double, known)
        return click.UsageError(
            f"No such option {word!r}: spd's options take two dashes, not one{hint}", ctx=exc.ctx
        )
    return None
