"""`spd session start` (one session, no daemon) and `spd sessions` (the ledger, read).

Arguments, rendering and exit codes only: the start goes through `spd.sessions.start.SessionStarter`,
the same path as the daemon's triggers, and is recorded in the same ledger that `spd sessions` reads:
`sessions.db` in the state directory, or the shared store's table when `store.table` is set (then every
host's daemons and commands share it; `spd.connect.open_ledger` decides).

Exit codes of `spd session start`: 0 when a session was started, and 0 too when it was coalesced
(one is already open: the trigger's purpose is met, and a camera script run under `set -e` must not
fail on it; the output says which); 1 when the trigger was refused.
"""

from __future__ import annotations

import asyncio
import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from spd.cli.app import SPEC_ARGUMENT, connection_options, output_option
from spd.cli.complete import complete_processors, complete_targets
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.cli.lazy import SpdGroup
from spd.cli.reconcile_cmd import _load, _settings
from spd.cli.since import SINCE_HELP, parse_since
from spd.connect import open_gateway, open_ledger, store_gateway
from spd.errors import ExitCode
from spd.model import ProcessorId
from spd.reconcile.mutation_gate import OPEN
from spd.sessions.ledger_port import STARTING, SessionRecord
from spd.sessions.start import Outcome, SessionOutcome, SessionStarter
from spd.sessions.trigger import TriggerSource


@documented(
    examples=[("spd session start config/ porch", "one session of processor porch, now")],
    exit_codes={0: "see `spd session start --help`", USAGE[0]: USAGE[1]},
)
@click.group("session", cls=SpdGroup)
def session_group() -> None:
    """Run a connected-home session now: `spd session start SPEC NAME`."""


@documented(
    examples=[
        ("spd session start config/ porch", "from now, for the spec's duration"),
        ("spd session start config/ porch --duration 30", "30 seconds"),
        ("spd session start config/ porch --fragment-number 42", "from a fragment"),
        ("spd session start --local config/ porch --output json", "the outcome as JSON"),
    ],
    exit_codes={
        0: "started, or coalesced (a session is already open)",
        1: "refused (unknown processor, budget spent, ...)",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
    },
)
@session_group.command("start")
@SPEC_ARGUMENT
@click.argument("name", shell_complete=complete_processors)
@click.option("--region", default=None, help="The processor's region, when its name is used in several.")
@click.option(
    "--target",
    default=None,
    shell_complete=complete_targets,
    help="The processor's target, when its name is used in several targets.",
)
@click.option(
    "--producer-timestamp-ms",
    type=int,
    default=None,
    metavar="N",
    help="Start at the fragment the producer stamped at N (Unix time in milliseconds).",
)
@click.option("--fragment-number", default=None, metavar="F", help="Start at this fragment (digits).")
@click.option(
    "--duration", type=int, default=None, metavar="S", help="Session length, 1-120 s (default: the spec's)."
)
@output_option("json: the outcome as one JSON object on stdout.")
@connection_options
def start_command(
    spec: Path,
    name: str,
    region: str | None,
    target: str | None,
    producer_timestamp_ms: int | None,
    fragment_number: str | None,
    duration: int | None,
    output: str,
    **conn: Any,
) -> int:
    """Start one session of a connected-home processor, as a trigger would; record it in the ledger.

    Without a selector the session starts at the current time. Exit 0 when started or coalesced (a
    session is already open), 1 when refused.
    """
    settings = _settings(**conn)
    desired = _load(spec)
    body: dict[str, Any] = {"processor": name}
    for key, value in (
        ("region", region),
        ("target", target),
        ("producer_timestamp_ms", producer_timestamp_ms),
        ("fragment_number", fragment_number),
        ("max_duration_seconds", duration),
    ):
        if value is not None:
            body[key] = value

    async def go() -> SessionOutcome:
        async with open_gateway(settings, desired) as gateway:
            ledger = open_ledger(
                settings, gateway, stack=desired.stack, spec_regions=desired.regions, environ=os.environ
            )
            try:
                # No lease: a one-shot command always may (as `spd apply` does).
                starter = SessionStarter(gateway=gateway, stack=desired.stack, ledger=ledger, gate=OPEN)
                return await starter.trigger(body, desired, source=TriggerSource.CLI)
            finally:
                await ledger.close()

    outcome = asyncio.run(go())
    if output == "json":
        click.echo(json.dumps(outcome.document(), indent=2))
    else:
        click.echo(_outcome_text(outcome), err=outcome.outcome is Outcome.REFUSED)
    return int(ExitCode.FAILURE if outcome.outcome is Outcome.REFUSED else ExitCode.OK)


def _outcome_text(outcome: SessionOutcome) -> str:
    place = "/".join(w for w in (outcome.target, outcome.region) if w)
    where = f"{outcome.processor} ({place})" if place else outcome.processor or "trigger"
    if outcome.outcome is Outcome.STARTED:
        return (
            f"started {where}: session {outcome.session_id}, {outcome.requested_seconds} s from "
            f"{outcome.selector}"
        )
    if outcome.outcome is Outcome.COALESCED:
        return f"coalesced {where}: {outcome.reason}; no new session"
    return f"refused {where}: {outcome.reason}"


@documented(
    examples=[
        ("spd sessions config/", "the last 24 hours"),
        ("spd sessions config/ --since 7d --output json", "a week, as JSON"),
    ],
    exit_codes={
        0: "listed, even when there is nothing to list",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
    },
)
@click.command("sessions")
@SPEC_ARGUMENT
@click.option("--since", default="24h", show_default=True, metavar="WHEN", help=SINCE_HELP)
@output_option('json: {"sessions": [{at, processor, region, target, trigger, outcome, ...}]} on stdout.')
@connection_options
def sessions_command(spec: Path, since: str, output: str, **conn: Any) -> int:
    """List the spec's sessions from the ledger: trigger, outcome, requested and processed seconds, labels.

    The ledger is local (in the state directory) and records the sessions of `--local` runs too, or
    the shared store's table (`store.table`), which every host's daemons and commands write; only the
    table is read from AWS, nothing from Rekognition.
    """
    cutoff = parse_since(since, datetime.now(UTC))
    settings = _settings(**conn)
    desired = _load(spec)
    names = {p.name for p in desired.processors}

    async def read() -> list[SessionRecord]:
        async with store_gateway(settings, desired) as gateway:
            ledger = open_ledger(
                settings, gateway, stack=desired.stack, spec_regions=desired.regions, environ=os.environ
            )
            try:
                return await ledger.sessions(since=cutoff, processors=names)
            finally:
                await ledger.close()

    records = asyncio.run(read())
    if output == "json":
        click.echo(json.dumps({"sessions": [_record_json(r) for r in records]}, indent=2))
    else:
        click.echo(_records_text(records), nl=False)
    return int(ExitCode.OK)


def _record_json(record: SessionRecord) -> dict[str, Any]:
    return {
        "at": record.at.isoformat().replace("+00:00", "Z"),
        "processor": record.processor,
        "region": record.region,
        "target": record.target or None,
        "trigger": record.trigger,
        "outcome": record.outcome,
        "session_id": record.session_id,
        "requested_seconds": record.requested_seconds,
        "processed_seconds": record.processed_seconds,
        "labels": list(record.labels),
        "reason": record.reason,
    }


_HEADER = (
    "TIME (UTC)",
    "PROCESSOR",
    "TRIGGER",
    "OUTCOME",
    "REQUESTED",
    "PROCESSED",
    "LABELS",
    "SESSION / REASON",
)


def _records_text(records: list[SessionRecord]) -> str:
    if not records:
        return "no sessions in the ledger for this period\n"
    rows = [_HEADER]
    for r in records:
        rows.append(
            (
                r.at.strftime("%Y-%m-%d %H:%M:%S"),
                str(ProcessorId(r.region, r.processor, r.target)) if r.target else r.processor or "-",
                r.trigger,
                r.outcome,
                "-" if r.requested_seconds is None else f"{r.requested_seconds}s",
                "-" if r.processed_seconds is None else f"{r.processed_seconds:g}s",
                ",".join(r.labels) or "-",
                r.session_id or r.reason or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(_HEADER) - 1)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  " + row[-1]
        for row in rows
    ]
    started = sum(1 for r in records if r.outcome == Outcome.STARTED.value)
    processed = sum(r.processed_seconds or 0 for r in records)
    summary = f"{len(records)} triggers, {started} sessions started, {processed:g} s of video processed"
    intents = sum(1 for r in records if r.outcome == STARTING)
    if intents:
        summary += f", {intents} with no outcome recorded (starting: counted against the budget)"
    lines.append(summary)
    return "\n".join(lines) + "\n"
