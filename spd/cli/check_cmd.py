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

from spd.checks import preflight
from spd.cli import preflight_run
from spd.cli.app import SPEC_ARGUMENT, connection_options, output_option
from spd.cli.documents import check_json
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.cli.reconcile_cmd import _load, _settings
from spd.connect import open_gateway
from spd.errors import Diagnostic


@documented(
    examples=[
        ("spd check config/", "against AWS (the standard credential chain)"),
        ("spd check --local config/", "against the embedded emulator's sandbox"),
        ("spd check config/ --output json", "the findings as one JSON document"),
    ],
    exit_codes={
        0: "every reference exists and is usable (denied look-ups are warnings)",
        1: "a reference is missing or unusable, or the service could not be reached",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
    },
)
@click.command("check")
@SPEC_ARGUMENT
@output_option()
@connection_options
def check_command(spec: Path, output: str, **conn: Any) -> int:
    """Check that the resources the spec's processors reference exist and are usable (read-only).

    Video and data streams, face collections, roles (and that Rekognition may assume them), SNS topics,
    S3 buckets and KMS keys. A missing or unusable resource is an error (exit 1); a look-up that was
    denied is a warning naming the permission it needed.

    With --output json, stdout is one object: stack, references (how many were looked up), findings
    ([{file, line, column, path, severity, message}]) and summary ({errors, warnings}); nothing else
    is printed on stdout.
    """
    settings = _settings(**conn)
    desired = _load(spec)

    async def go() -> list[Diagnostic]:
        async with open_gateway(settings, desired) as gateway:
            return await preflight_run.look_up(gateway, desired, settings)

    found = asyncio.run(go())
    count = len(preflight.references(desired))
    if output == "json":
        click.echo(check_json(desired.stack, count, found), nl=False)
        return int(preflight.exit_code(found))
    errors = preflight_run.report(found)
    warnings = len(found) - errors
    click.echo(
        f"checked {_count(count, 'reference')}: {_count(errors, 'error')}, {_count(warnings, 'warning')}"
    )
    return int(preflight.exit_code(found))


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"
