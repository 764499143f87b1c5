"""`spd history`: what drifted and what was done about it, read from the history the daemon keeps (the
history file, or the shared store's table when `store.table` is set)."""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from spd.cli.app import SPEC_ARGUMENT, connection_options, connection_settings, output_option
from spd.cli.complete import complete_processors
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.cli.since import SINCE_HELP, parse_since
from spd.config.settings import Settings, history_path
from spd.events.history import Entry
from spd.model import DesiredState
from spd.spec import load_spec


def _describe(fields: dict[str, Any]) -> str:
    shown = {k: v for k, v in fields.items() if k not in ("processor", "region", "target")}
    return " ".join(f"{k}={json.dumps(v, separators=(',', ':'))}" for k, v in shown.items())


def _line(entry: Entry) -> str:
    at = entry.at.strftime("%Y-%m-%dT%H:%M:%SZ")
    where = f"{entry.region}/{entry.processor}" if entry.processor else "-"
    target = entry.fields.get("target")
    if target and entry.processor:
        where = f"{target}/{where}"
    return f"{at}  {where}  {entry.event}  {_describe(entry.fields)}".rstrip()


@documented(
    examples=[
        ("spd history config/", "every event kept"),
        ("spd history config/ --since 1h --processor lobby-faces", "one processor's last hour"),
        ("spd history config/ --output json", "[{at, event, ...}] on stdout"),
    ],
    exit_codes={
        0: "listed, even when nothing matches",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
    },
)
@click.command("history")
@SPEC_ARGUMENT
@click.option(
    "--processor",
    default=None,
    metavar="NAME",
    shell_complete=complete_processors,
    help="Only this processor's events.",
)
@click.option("--since", default=None, metavar="WHEN", help=SINCE_HELP)
@output_option("json: the events as one JSON array on stdout.")
@connection_options
def history_command(spec: Path, processor: str | None, since: str | None, output: str, **conn: Any) -> int:
    """List the drift and action events the daemon recorded for the spec's stack, oldest first.

    The history is kept by `spd run` in an SQLite file (setting `history_file`, named in --settings)
    for `history_retention` days, `--local` runs included, or in the shared store's table
    (`store.table`) that every host's daemons write; only that table is read from AWS. Exit 0 even when
    nothing matches.
    """
    cutoff = parse_since(since, datetime.now(UTC)) if since is not None else None
    settings = connection_settings(**conn)
    desired = load_spec(spec).desired
    stack = desired.stack
    entries, where = _read(settings, desired, processor, cutoff)
    if output == "json":
        click.echo(json.dumps([e.as_json() for e in entries], indent=2))
    elif not entries:
        click.echo(f"no events recorded for stack {stack!r} ({where})", err=True)
    else:
        for entry in entries:
            click.echo(_line(entry))
    return 0


def _read(
    settings: Settings, desired: DesiredState, processor: str | None, since: datetime | None
) -> tuple[list[Entry], str]:
    """The entries, and where they were read (the file, or the table)."""
    path = history_path(settings)
    if not settings.store.table and not path.exists():
        return [], str(path)  # a history never written: nothing to open (and no file made)
    from spd.connect import open_history, store_gateway  # the AWS stack only for the shared table

    async def read() -> tuple[list[Entry], str]:
        async with store_gateway(settings, desired) as gateway:
            history = open_history(settings, gateway, spec_regions=desired.regions, environ=os.environ)
            try:
                return await history.entries(desired.stack, processor=processor, since=since), history.where
            finally:
                await history.close()

    return asyncio.run(read())
