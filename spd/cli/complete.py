"""Shell completion of the names a spec declares: processors after `--target` and `spd session start
SPEC`, targets after `spd session start --target`.

The spec is the one given earlier on the command line (click has parsed it into `ctx.params["spec"]`
by the time the name is completed). It is read offline, as `spd validate` reads it, without a call to
AWS; a missing or invalid spec completes nothing and prints nothing, since a completion that writes
errors garbles the user's prompt.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import click
from click.shell_completion import CompletionItem

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
