"""`spd emulator`: serve the local Rekognition stream-processor emulator until SIGTERM or SIGINT.

Prints `spd emulator listening on <url>` as the first line on stdout (the bound port when `--port 0`),
logs one line per call to stderr (UTC timestamp, operation, region, processor, HTTP status, error code),
and on SIGTERM/SIGINT stops serving and exits 0. With `--state FILE` every change is committed to the
SQLite file before it is answered, so even SIGKILL loses nothing acknowledged; an unusable or damaged
state file is refused with one line naming it (exit 78). References are strict by default, as on AWS (a
processor whose role, streams or collection do not exist goes to FAILED at Start; `spd.emulator.backend.references`);
`--lenient` turns the `strict_references` setting off, and `--strict` is still accepted (it only matters
for a state file that turned it off). `--timing-profile realistic` makes transitions last as long as on AWS (`spd.emulator.backend.config`).

The emulator owns its command: `python -m spd.emulator` runs it as is, and the `spd` group lists it
(`spd.cli.commands`), so both behave identically. Importing this module stays free of moto, werkzeug
and the CLI; the server is imported when the command runs.
"""

from __future__ import annotations

import signal
import sys
import threading
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

import click

from spd.emulator.extras import MissingExtraError, local_extra_required

if TYPE_CHECKING:
    from spd.emulator.backend.service import CallRecord

# Kept in step with spd.emulator.http.server; that module imports moto, which importing this command (and so
# `python -m spd.emulator --help`) would otherwise pay for.
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 4566


def _timestamp() -> str:
    """Now, as the daemon's log lines write it: ISO 8601, UTC, `Z`."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _log_call(call: CallRecord) -> None:
    # One write per line so that lines from concurrent requests do not interleave.
    sys.stderr.write(f"{_timestamp()} {call.log_line()}\n")
    sys.stderr.flush()


# The `spd` group's context settings, so that `python -m spd.emulator` (no group) takes `-h` too.
@click.command("emulator", context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--host", default=DEFAULT_HOST, show_default=True, help="Address to listen on.")
@click.option(
    "--port",
    default=DEFAULT_PORT,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="Port to listen on; 0 picks a free one (the URL is printed on stdout).",
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help=(
        "SQLite file that keeps processors and settings across restarts, committed on every change and "
        "shareable with other emulators; a JSON state of older versions is converted (kept as "
        "FILE.json-backup)."
    ),
)
@click.option(
    "--lenient",
    is_flag=True,
    default=False,
    help=(
        "Turn the strict_references setting off: Start runs a processor whatever it references. By default "
        "Start fails a processor (FAILED, with AWS's message) whose role, streams, collection, topic or "
        "bucket do not exist in this emulator, as AWS does."
    ),
)
@click.option(
    "--strict",
    is_flag=True,
    default=False,
    hidden=True,
    help="Accepted for older scripts: references are strict by default (this also turns it back on in a state file).",
)
@click.option(
    "--timing-profile",
    type=click.Choice(["fast", "realistic"]),
    default=None,
    help=(
        "How long STARTING, STOPPING, UPDATING and deletion last: fast (about a second, the default) or "
        "realistic (tens of seconds, of the order AWS takes), to check a client's timeouts."
    ),
)
@click.option("--quiet", "-q", is_flag=True, default=False, help="Do not log each call to stderr.")
def emulator_command(
    host: str,
    port: int,
    state_file: Path | None,
    lenient: bool,
    strict: bool,
    timing_profile: str | None,
    quiet: bool,
) -> None:
    """Serve the local Rekognition stream-processor emulator (plus moto's other services)."""
    try:
        with local_extra_required():
            from spd.emulator.backend.service import Emulator, EmulatorStateError
            from spd.emulator.http.server import EmulatorServer
    except MissingExtraError as exc:
        # A ClickException, so `python -m spd.emulator` (click's standalone mode) prints it cleanly too.
        raise click.ClickException(str(exc)) from None

    try:
        emulator = Emulator(state_file=state_file, on_call=None if quiet else _log_call)
        if lenient and strict:
            emulator.close()
            raise click.UsageError("--lenient and --strict contradict each other; give one")
        # Settings like any other (so also stored in the state file), not start-up-only modes.
        if lenient or strict:
            emulator.configure({"strict_references": strict})
        if timing_profile is not None:
            emulator.configure({"timing_profile": timing_profile})
    except EmulatorStateError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    try:
        server = EmulatorServer(emulator, host=host, port=port)
    except OSError as exc:
        emulator.close()
        raise click.ClickException(
            str(exc) if not exc.strerror else f"cannot listen on {host}:{port}: {exc.strerror}"
        ) from exc

    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.start()
        click.echo(f"spd emulator listening on {server.url}")
        sys.stdout.flush()
        # A bounded wait, so the main thread returns to the interpreter and runs signal handlers promptly.
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        emulator.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if not quiet:
        click.echo("spd emulator stopped", err=True)
