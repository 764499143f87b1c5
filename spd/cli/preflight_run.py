"""The preflight run shared by `spd check`, `spd plan` and `spd apply`: look up, report, decide.

`spd check` is the preflight on its own; `plan` and `apply` run it first, inside the gateway they
already opened, so a spec naming a missing stream, collection or role stops before any stream-processor
call (read or write) instead of failing half-way through an apply.
"""

from __future__ import annotations

import click

from spd.aws.gateway import Gateway
from spd.aws.references import check
from spd.config.settings import Settings
from spd.errors import Diagnostic
from spd.model import DesiredState

PREFLIGHT_OPTION = click.option(
    "--preflight/--no-preflight",
    "run_preflight",
    default=None,
    help="Look up the resources the spec references before planning (default: the `preflight` setting).",
)


def wanted(option: bool | None, settings: Settings) -> bool:
    """Whether `plan`/`apply` run the preflight: the flag if given, else the setting (with `--local`
    too: the sandbox holds what the spec references, `spd.emulator.embedded`)."""
    if option is not None:
        return option
    return settings.preflight


async def look_up(gateway: Gateway, desired: DesiredState, settings: Settings) -> list[Diagnostic]:
    """Every reference of the spec looked up (read-only) and turned into located findings."""
    return list(await check(gateway, desired, concurrency=settings.concurrency))


def report(found: list[Diagnostic]) -> int:
    """Print the findings to stderr; the number of errors (warnings do not stop a run)."""
    for finding in found:
        click.echo(str(finding), err=True)
    return sum(1 for f in found if f.severity == "error")


async def passes(gateway: Gateway, desired: DesiredState, settings: Settings) -> bool:
    """Run the preflight for `plan`/`apply`: findings printed, False when any is an error."""
    errors = report(await look_up(gateway, desired, settings))
    if errors:
        noun = "error" if errors == 1 else "errors"
        click.echo(
            f"preflight: {errors} {noun} in the resources the spec references; nothing was planned or "
            "changed (fix them, or pass --no-preflight)",
            err=True,
        )
    return not errors
