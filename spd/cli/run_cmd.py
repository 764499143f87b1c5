"""`spd run`: parse the options and hand over to the daemon (`spd.daemon.service.run_daemon`)."""

from __future__ import annotations

from pathlib import Path

import click

from spd.cli.app import connection_options, make_connection, warn_about_environment


@click.command("run")
@connection_options
@click.option(
    "--spec",
    "spec",
    type=click.Path(readable=False, path_type=Path),
    default=None,
    metavar="PATH",
    help="Spec file or directory (overrides the `spec` setting / $SPD_SPEC).",
)
def run_command(
    local: bool,
    local_state: Path | None,
    endpoint_url: str | None,
    settings_file: Path | None,
    spec: Path | None,
) -> int:
    """Run the daemon: keep the live fleet equal to the spec until SIGTERM.

    Settings come from SPD_* environment variables over the optional settings file; SIGHUP reloads both
    and the spec. Logs are JSON lines on stdout; /healthz and /metrics listen on $SPD_METRICS_ADDRESS.
    """
    from spd.daemon.service import run_daemon

    connection = make_connection(local, local_state, endpoint_url, settings_file)
    warn_about_environment()
    overrides = connection.overrides()
    if spec is not None:
        overrides["spec"] = spec
    return run_daemon(connection.settings_file, overrides)
