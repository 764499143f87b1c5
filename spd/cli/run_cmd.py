"""`spd run`: parse the options and hand over to the daemon (`spd.daemon.service.run_daemon`)."""

from __future__ import annotations

from pathlib import Path

import click

from spd.cli.app import connection_options, make_connection, warn_about_environment
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.errors import UsageError


def _the_spec(argument: Path | None, option: Path | None) -> Path | None:
    """SPEC as every command takes it, or `--spec` as `spd run` always took it; both only if they agree."""
    if argument is not None and option is not None and argument != option:
        raise UsageError(f"SPEC {str(argument)!r} and --spec {str(option)!r} differ: give one of them")
    return argument if argument is not None else option


@documented(
    examples=[
        ("spd run config/", "against AWS, until SIGTERM"),
        ("spd run --local config/", "against the embedded emulator"),
        ("spd run --settings /etc/spd/settings.yaml", "the spec named by the settings"),
    ],
    exit_codes={
        0: "stopped by SIGTERM or SIGINT",
        1: "could not start (e.g. metrics_address already in use)",
        USAGE[0]: USAGE[1] + ", SPEC and --spec that differ",
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1] + " at start-up",
    },
)
@click.command("run")
@click.argument(
    "spec_argument", metavar="[SPEC]", required=False, type=click.Path(readable=False, path_type=Path)
)
@connection_options
@click.option(
    "--spec",
    "spec",
    type=click.Path(readable=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Spec file or directory, as SPEC (overrides the `spec` setting / $SPD_SPEC).",
)
def run_command(
    spec_argument: Path | None,
    local: bool,
    local_state: Path | None,
    endpoint_url: str | None,
    settings_file: Path | None,
    spec: Path | None,
) -> int:
    """Run the daemon: keep the live fleet equal to the spec until SIGTERM.

    SPEC (or --spec) is the spec file or directory; without either, the `spec` setting ($SPD_SPEC).
    Settings come from SPD_* environment variables over the optional settings file; SIGHUP reloads both
    and the spec. Logs are JSON lines on stdout; /healthz and /metrics listen on $SPD_METRICS_ADDRESS.
    """
    from spd.daemon.service import run_daemon

    chosen = _the_spec(spec_argument, spec)
    connection = make_connection(local, local_state, endpoint_url, settings_file)
    warn_about_environment()
    overrides = connection.overrides()
    if chosen is not None:
        overrides["spec"] = chosen
    return run_daemon(connection.settings_file, overrides)
