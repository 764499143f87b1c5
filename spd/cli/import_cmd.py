"""`spd import`: read the processors that exist and write the spec that describes them.

Listed in `spd.cli.commands`. Reading is `spd.reconcile.observe.observe` (ListStreamProcessors pages, then
Describe + ListTagsForResource per processor, paced by the gateway as a plan is), rendering is
`spd.reconcile.importer.render_spec`; this module only checks the arguments, filters by name and writes the files.
Nothing is written when a processor could not be read or nothing matched, so a partial or empty spec
never stands in for the fleet.
"""

from __future__ import annotations

import asyncio
import fnmatch
import os
import re
import sys
from pathlib import Path
from typing import Any

import click

from spd.cli.app import connection_options, make_connection, output_option, warn_about_environment
from spd.cli.documents import import_json
from spd.cli.helptext import CONFIG, TEMPFAIL, USAGE, documented
from spd.config.settings import Settings, load_settings
from spd.connect import open_gateway
from spd.errors import ExitCode, SpdError, UsageError
from spd.model import ObservedProcessor, ObservedState
from spd.reconcile.importer import DEFAULT_STACK, render_spec, target_block
from spd.spec.schema import REGION_PATTERN

_REGION = re.compile(REGION_PATTERN)
_STACK = re.compile(r"[a-zA-Z0-9_.-]{1,128}\Z")
"""The spec's stack name (docs/reference/spec.md): checked here so a bad `--stack` writes nothing."""


class NothingToImport(SpdError):
    """No processor in the regions matched: there is no fleet to write a spec for."""


def _check_arguments(regions: tuple[str, ...], stack: str) -> None:
    problems = [
        f"--region {r!r}: not an AWS region name (like us-east-1)" for r in regions if not _REGION.match(r)
    ]
    if not _STACK.match(stack):
        problems.append(f"--stack {stack!r}: must be 1-128 characters of letters, digits, '_', '.' and '-'")
    if problems:
        raise UsageError("\n".join(problems))


def _selected(observed: ObservedState, name_glob: str | None) -> list[ObservedProcessor]:
    return [
        p
        for p in observed.processors
        if p.config is not None and (name_glob is None or fnmatch.fnmatchcase(p.name, name_glob))
    ]


def _write(path: Path, text: str) -> Path:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise SpdError(f"cannot write {path}: {exc.strerror or exc}") from None
    click.echo(f"wrote {path}", err=True)
    return path


@documented(
    examples=[
        ("spd import --region us-east-1 > spec.yaml", "every processor of the region"),
        ("spd import --region us-east-1 --region eu-west-1 --out config/", "one <region>.yaml each"),
        ("spd import --region us-east-1 --name-glob 'lobby-*' --stack lobby", "only some, as stack lobby"),
        ("spd import --local --region us-east-1 --output json", "what was imported, as JSON"),
    ],
    exit_codes={
        0: "the spec was written",
        1: "nothing matched, or a processor or file could not be read or written",
        USAGE[0]: USAGE[1],
        TEMPFAIL[0]: TEMPFAIL[1],
        CONFIG[0]: "invalid settings (each problem located at file:line:col)",
    },
)
@click.command("import")
@click.option(
    "--region",
    "regions",
    multiple=True,
    required=True,
    metavar="REGION",
    help="Read the processors of this region (repeat for more).",
)
@click.option(
    "--stack",
    default=DEFAULT_STACK,
    show_default=True,
    help="The stack the spec names (the owner tag `apply --adopt` gives the processors).",
)
@click.option(
    "--name-glob", default=None, metavar="GLOB", help="Only processors whose name matches (fnmatch)."
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    metavar="PATH",
    help="An existing directory: one <region>.yaml per region; otherwise one file. Default: stdout.",
)
@click.option(
    "--target",
    "target",
    default=None,
    metavar="NAME",
    help="Declare the account read as target NAME in the spec (account id, regions, the profile read "
    "with) and put every processor in it.",
)
@output_option()
@connection_options
def import_command(
    regions: tuple[str, ...],
    stack: str,
    name_glob: str | None,
    out: Path | None,
    target: str | None,
    output: str,
    **conn: Any,
) -> int:
    """Write a spec describing the processors that already exist in the regions.

    With --output json, stdout is one object: stack, regions, processors ([{name, region, target}],
    those imported), written (the files written with --out) and spec (the spec's YAML text when it
    was not written to a file, else null).
    """
    regions = tuple(dict.fromkeys(regions))
    _check_arguments(regions, stack)
    if target is not None and not _STACK.match(target):
        raise UsageError(
            f"--target {target!r}: must be 1-128 characters of letters, digits, '_', '.' and '-'"
        )
    connection = make_connection(**conn)
    warn_about_environment()
    settings = load_settings(connection.settings_file, **connection.overrides())

    selected = _read_selected(settings, regions, name_glob)
    targets = None
    if target is not None:
        profile = os.environ.get("AWS_PROFILE") or target
        targets = target_block(target, selected, regions, profile)
    written, text = _write_spec(out, stack, selected, regions, targets, target)
    if output == "json":
        sys.stdout.write(import_json(stack, regions, selected, written, text))
    elif text is not None:
        sys.stdout.write(text)
    return ExitCode.OK


def _read_selected(
    settings: Settings, regions: tuple[str, ...], name_glob: str | None
) -> list[ObservedProcessor]:
    """The processors of `regions` that `name_glob` selects; SpdError if any could not be read (nothing
    is written then), NothingToImport if none is selected."""

    async def read() -> ObservedState:
        from spd.reconcile.observe import observe

        async with open_gateway(settings) as gateway:
            return await observe(gateway, regions, names=None, concurrency=settings.concurrency)

    observed = asyncio.run(read())
    if observed.unreadable:
        for pid, error in observed.unreadable:
            click.echo(f"error: {pid}: could not be read: {error}", err=True)
        raise SpdError(f"{len(observed.unreadable)} processor(s) could not be read; nothing written")
    selected = _selected(observed, name_glob)
    if not selected:
        matching = f" matching {name_glob!r}" if name_glob is not None else ""
        raise NothingToImport(f"no processors{matching} in {', '.join(regions)}; nothing written")
    return selected


def _write_spec(
    out: Path | None,
    stack: str,
    selected: list[ObservedProcessor],
    regions: tuple[str, ...],
    targets: dict[str, Any] | None,
    target: str | None,
) -> tuple[list[Path], str | None]:
    """Write the spec where `--out` says: one file per region into a directory, or one file. The files
    written, and the spec's text when it was not written (stdout gets it)."""
    written: list[Path] = []
    text: str | None = None
    if out is not None and out.is_dir():
        declared = targets
        for region in regions:
            in_region = [p for p in selected if p.id.region == region]
            if in_region:
                # The target is declared once, in the first file; the others name it in their defaults.
                written.append(
                    _write(
                        out / f"{region}.yaml",
                        render_spec(stack, in_region, source=region, targets=declared, target=target),
                    )
                )
                declared = None
    else:
        text = render_spec(stack, selected, source=", ".join(regions), targets=targets)
        if out is not None:
            written.append(_write(out, text))
            text = None
    return written, text
