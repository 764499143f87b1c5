"""`spd check SPEC`: look up every resource the spec's processors reference, read-only, and report.

The spec is loaded as for `plan`; `spd.cli.preflight_run` (shared with `plan` and `apply`, which run the
same preflight first) looks the references up and turns the answers into findings at the spec line of
each reference. Nothing is created, changed or started.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click

from spd import preflight
from spd.cli import preflight_run
from spd.cli.app import SPEC_ARGUMENT, connection_options
from spd.cli.reconcile_cmd import _load, _settings
from spd.connect import open_gateway
from spd.errors import Diagnostic


@click.command("check")
@SPEC_ARGUMENT
@connection_options
def check_command(spec: Path, **conn: Any) -> int:
    """Check that the resources the spec's processors reference exist and are usable (read-only).

    Video and data streams, face collections, roles (and that Rekognition may assume them), SNS topics,
    S3 buckets and KMS keys. A missing or unusable resource is an error (exit 1); a look-up that was
    denied is a warning naming the permission it needed.
    """
    settings = _settings(**conn)
    desired = _load(spec)

    async def go() -> list[Diagnostic]:
        async with open_gateway(settings, desired) as gateway:
            return await preflight_run.look_up(gateway, desired, settings)

    found = asyncio.run(go())
    errors = preflight_run.report(found)
    warnings = len(found) - errors
    count = len(preflight.references(desired))
    click.echo(
        f"checked {_count(count, 'reference')}: {_count(errors, 'error')}, {_count(warnings, 'warning')}"
    )
    return int(preflight.exit_code(found))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
