"""The `spd` click group, the options every command shares, and the mapping of errors to exit codes.

Commands live in sibling modules and only parse arguments, call one function of the core and render
its result. Every error the core raises on purpose is an `SpdError` and is printed as clean lines;
nothing reaches the user as a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from spd import __version__
from spd.cli.commands import COMMANDS
from spd.cli.dashes import single_dash_hint
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.cli.lazy import LazyGroup
from spd.config.urls import endpoint_url_problem, redact_userinfo
from spd.errors import ConfigError, ExitCode, SpdError

if TYPE_CHECKING:
    from spd.config.settings import Settings

F = TypeVar("F", bound=Callable[..., Any])

COMPLETE_VAR = "_SPD_COMPLETE"
"""The environment variable click's completion scripts set when they ask spd for completions."""

INTERRUPTED = 130
"""Exit code after Ctrl-C (SIGINT): 128 + the signal's number, as shells report it."""


@dataclass(frozen=True, slots=True)
class Connection:
    """Where the Rekognition API is: the embedded emulator, an explicit endpoint, or AWS itself."""

    local: bool = False
    local_state: Path | None = None
    endpoint_url: str | None = None
    settings_file: Path | None = None

    def overrides(self) -> dict[str, Any]:
        """Settings the command line sets explicitly; they win over the environment and the file."""
        out: dict[str, Any] = {}
        if self.local:
            out["local"] = True
        if self.local_state is not None:
            out["local_state"] = self.local_state
        if self.endpoint_url is not None:
            out["endpoint_url"] = self.endpoint_url
        return out


SPEC_ARGUMENT = click.argument("spec", type=click.Path(readable=False, path_type=Path))
"""The spec file or directory every command that reads one takes first."""

SETTINGS_HELP = "YAML settings file (also $SPD_SETTINGS_FILE); SPD_* environment variables win."


def settings_option(help: str = SETTINGS_HELP) -> Callable[[F], F]:
    """`--settings FILE` (the `settings_file` parameter); `help` says what the command reads from it."""
    return click.option(
        "--settings",
        "settings_file",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help=help,
    )


def connection_options(func: F) -> F:
    """`--local`, `--local-state`, `--endpoint-url` and `--settings`, shared by every command."""
    func = settings_option()(func)
    func = click.option(
        "--endpoint-url",
        default=None,
        metavar="URL",
        help="Rekognition endpoint (e.g. a running `spd emulator`).",
    )(func)
    func = click.option(
        "--local-state",
        type=click.Path(dir_okay=False, path_type=Path),
        default=None,
        help="State file of the embedded emulator (default under the user's state directory).",
    )(func)
    func = click.option(
        "--local",
        is_flag=True,
        default=False,
        help="Run against the embedded emulator; its state persists between runs.",
    )(func)
    return func


def output_option(
    help: str = "json: one JSON document on stdout, its shape described above.",
) -> Callable[[F], F]:
    """`--output text|json`, for the commands whose result a program may read."""
    return click.option(
        "--output", type=click.Choice(["text", "json"]), default="text", show_default=True, help=help
    )


def _colour_off(ctx: click.Context, _param: click.Parameter, no_color: bool) -> None:
    # https://no-color.org: any non-empty NO_COLOR turns colour off. Setting it on the context makes
    # every click.echo of the command strip styles; click already strips them when not on a terminal.
    if no_color or os.environ.get("NO_COLOR"):
        ctx.color = False


def colour_option(func: F) -> F:
    """`--no-color`, for commands whose output is coloured on a terminal (also `NO_COLOR`)."""
    return click.option(
        "--no-color",
        is_flag=True,
        default=False,
        expose_value=False,
        callback=_colour_off,
        help="No colour, even on a terminal (also $NO_COLOR).",
    )(func)


def warn_about_environment() -> None:
    """Print a warning for each `SPD_*` variable that sets nothing (a typo would otherwise go unseen)."""
    # Here rather than at the top: pydantic-settings is for the commands that read settings, and
    # `spd validate` or `spd --help` should not wait for it.
    from spd.config.settings import environment_warnings

    for warning in environment_warnings():
        click.echo(str(warning), err=True)


def make_connection(
    local: bool, local_state: Path | None, endpoint_url: str | None, settings_file: Path | None
) -> Connection:
    if local and endpoint_url:
        raise click.UsageError("--local and --endpoint-url are mutually exclusive")
    if endpoint_url is not None:
        problem = endpoint_url_problem(endpoint_url)
        if problem is not None:
            raise click.UsageError(f"--endpoint-url {problem}")
    return Connection(
        local=local, local_state=local_state, endpoint_url=endpoint_url, settings_file=settings_file
    )


def connection_settings(
    local: bool, local_state: Path | None, endpoint_url: str | None, settings_file: Path | None, **extra: Any
) -> Settings:
    """The settings of a command with `connection_options`: the file and `SPD_*` variables, under what
    the command line sets (`extra`: a command's own overrides, such as `prune`; None means not given)."""
    from spd.config.settings import load_settings

    conn = make_connection(local, local_state, endpoint_url, settings_file)
    warn_about_environment()
    overrides = {**{k: v for k, v in extra.items() if v is not None}, **conn.overrides()}
    return load_settings(conn.settings_file, **overrides)


@documented(
    examples=[
        ("spd validate config/", "offline: every problem, located"),
        ("spd plan --local config/", "what would change (embedded emulator)"),
        ("spd apply --local config/", "make it so, after asking"),
        ("spd status config/", "against AWS: every processor's state"),
        ("spd COMMAND --help", "each command's options, examples, exit codes"),
    ],
    exit_codes={
        0: "success",
        1: "runtime failure (the service, a failed step, a refused trigger)",
        2: "with --detailed-exitcode: changes or drift",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: CONFIG[1],
        130: "interrupted (Ctrl-C)",
    },
)
@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.version_option(__version__, prog_name="spd")
def cli() -> None:
    """Keep Amazon Rekognition Video stream processors exactly as declared in a YAML spec."""


def report_config_error(err: ConfigError) -> None:
    for diagnostic in err.diagnostics:
        click.echo(redact_userinfo(str(diagnostic)), err=True)
    errors = sum(1 for d in err.diagnostics if d.severity == "error")
    click.echo(f"{errors} error(s)", err=True)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: run the group and turn every outcome into an exit code."""
    args = sys.argv[1:] if argv is None else argv
    if COMPLETE_VAR in os.environ:
        # The shell asks for completions (`spd completion SHELL` wrote the script that does).
        from spd.cli.complete import register

        register()
    try:
        rv = cli.main(args=args, prog_name="spd", standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.ctx.get_help() if exc.ctx else str(exc), err=True)
        sys.exit(ExitCode.USAGE)
    except click.exceptions.NoSuchOption as exc:
        (single_dash_hint(exc, args) or exc).show()
        sys.exit(ExitCode.USAGE)
    except click.UsageError as exc:
        exc.show()
        sys.exit(ExitCode.USAGE)
    except click.exceptions.Abort as exc:
        # click turns Ctrl-C (KeyboardInterrupt) into Abort; it is still an interruption: exit 130,
        # with what the command said the interruption left behind.
        if isinstance(exc.__cause__, KeyboardInterrupt):
            click.echo(str(exc.__cause__) or "interrupted", err=True)
            sys.exit(INTERRUPTED)
        click.echo("aborted", err=True)
        sys.exit(ExitCode.FAILURE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(ExitCode.FAILURE)
    except ConfigError as exc:
        report_config_error(exc)
        sys.exit(exc.exit_code)
    except SpdError as exc:
        # An endpoint URL may carry a password, and botocore's messages quote the URL verbatim.
        click.echo(f"error: {redact_userinfo(str(exc))}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt as exc:
        click.echo(str(exc) or "interrupted", err=True)
        sys.exit(INTERRUPTED)
    sys.exit(rv if isinstance(rv, int) else ExitCode.OK)
