"""Shell completion of the names a spec declares: processors after `--target` and `spd session start
SPEC`, targets after `spd session start --target`.

The spec is the one given earlier on the command line (click has parsed it into `ctx.params["spec"]`
by the time the name is completed). It is read offline, as `spd validate` reads it, without a call to
AWS; a missing or invalid spec completes nothing and prints nothing, since a completion that writes
errors garbles the user's prompt.

click parses the words before the cursor to find the spec, and a line that ends with the option being
completed (`spd plan SPEC --target <Tab>`) does not parse (the option lacks its value), which loses the
spec. `register` has each shell ask as for `--target=<Tab>` instead, which parses: see `_OptionValue`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from click.shell_completion import (
    BashComplete,
    CompletionItem,
    FishComplete,
    ShellComplete,
    ZshComplete,
    add_completion_class,
)

from spd.model import DesiredState


def _spec(ctx: click.Context) -> DesiredState | None:
    spec = ctx.params.get("spec")
    if spec is None:
        return None
    from spd.spec import load_spec

    try:
        return load_spec(Path(spec)).desired
    except Exception:  # any spec that does not load completes nothing, silently
        return None


def _names(pick: Callable[[DesiredState], list[str]]) -> Callable[..., list[CompletionItem]]:
    def complete(ctx: click.Context, _param: click.Parameter, incomplete: str) -> list[CompletionItem]:
        desired = _spec(ctx)
        if desired is None:
            return []
        return [CompletionItem(name) for name in sorted(set(pick(desired))) if name.startswith(incomplete)]

    return complete


complete_processors = _names(lambda desired: [p.name for p in desired.processors])
"""The spec's processor names that start with what was typed."""

complete_targets = _names(lambda desired: [t.name for t in desired.targets])
"""The spec's target names that start with what was typed."""


class _OptionValue(ShellComplete):
    """Completion that retries `... --option <Tab>` as `... --option=<Tab>` when it found nothing."""

    def get_completions(self, args: list[str], incomplete: str) -> list[CompletionItem]:
        found = super().get_completions(list(args), incomplete)
        if found or not args or "--" in args or not args[-1].startswith("--") or "=" in args[-1]:
            return found
        return super().get_completions(args[:-1], f"{args[-1]}={incomplete}")


class _Bash(_OptionValue, BashComplete):
    """click's bash completion, with the option-value retry."""


class _Zsh(_OptionValue, ZshComplete):
    """click's zsh completion, with the option-value retry."""


class _Fish(_OptionValue, FishComplete):
    """click's fish completion, with the option-value retry."""


def register() -> None:
    """Put spd's completion of option values in place of click's, for the three shells."""
    shell: Any
    for shell in (_Bash, _Zsh, _Fish):
        add_completion_class(shell)
