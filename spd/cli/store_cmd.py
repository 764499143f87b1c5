"""`spd store copy`: this host's SQLite ledger and history, copied once into the shared store's table.

The copying is `spd.aws.store_copy`'s; here the arguments, the progress lines (stderr) and the summary
(stdout). Exit 0 when everything was copied or already there; a missing setting, a table that cannot be
used or a damaged SQLite file is one line and a non-zero exit (`spd.cli.app.main` prints `SpdError`s).
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from spd.cli.app import SPEC_ARGUMENT, connection_options
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.cli.lazy import SpdGroup
from spd.cli.reconcile_cmd import _load, _settings
from spd.errors import ExitCode, SpdError


@documented(
    examples=[("spd store copy config/", "copy this host's ledger and history into store.table")],
    exit_codes={0: "see `spd store copy --help`", USAGE[0]: USAGE[1]},
)
@click.group("store", cls=SpdGroup)
def store_group() -> None:
    """The shared store (store.table): `spd store copy SPEC` fills it from this host's SQLite files."""


@documented(
    examples=[
        ("spd store copy config/", "sessions, notifications and history into store.table"),
        ("SPD_STORE_TABLE=spd-store spd store copy config/", "the table named in the environment"),
    ],
    exit_codes={
        0: "copied (or already there: a second run copies nothing)",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
    },
)
@store_group.command("copy")
@SPEC_ARGUMENT
@connection_options
def copy_command(spec: Path, **conn: Any) -> int:
    """Copy this host's session ledger and history (the SQLite files) into the shared store's table.

    Run once per host when moving to `store.table`; running it again copies nothing twice (every item's
    key comes from its source row). Copied sessions count against their day's budget. The sessions are
    recorded under the spec's stack.
    """
    settings = _settings(**conn)
    if not settings.store.table:
        missing = SpdError("store.table is not set (SPD_STORE_TABLE): there is no shared store to copy into")
        missing.exit_code = ExitCode.CONFIG
        raise missing
    desired = _load(spec)
    from spd.aws.store_copy import StoreCopy
    from spd.config.settings import history_path, state_directory
    from spd.connect import open_gateway, store_table
    from spd.events.history import History
    from spd.sessions.ledger import Ledger, ledger_path

    def progress(what: str, done: int, total: int) -> None:
        click.echo(f"{what}: {done}/{total}", err=True)

    async def copy() -> StoreCopy:
        async with open_gateway(settings, desired) as gateway:
            table = store_table(settings, gateway, desired.regions, os.environ)
            copying = StoreCopy(
                table, desired.stack, retention_days=settings.history_retention, progress=progress
            )
            await table.ready()  # a table that cannot be used says so even when there is nothing to copy
            if ledger_path(state_directory(settings)).exists():
                with Ledger.open(state_directory(settings)) as ledger:
                    await copying.ledger(ledger)
            if history_path(settings).exists():
                history = History(history_path(settings))
                try:
                    await copying.history(history)
                finally:
                    history.close()
            return copying

    done = asyncio.run(copy())
    for what, copied in done.tally.copied.items():
        click.echo(f"{what}: {copied} copied, {done.tally.present[what]} already there")
    click.echo(f"into store table {settings.store.table!r} (stack {desired.stack!r})")
    return int(ExitCode.OK)
