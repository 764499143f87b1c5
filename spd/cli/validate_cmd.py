"""`spd validate SPEC` and `spd schema`: the offline commands of the spec language.

Listed in `spd.cli.commands`, which imports this module when one of its commands runs. `validate` loads the
spec with `spd.spec.load_spec`; a `SpecError` propagates to `spd.cli.app.main`, which prints every
diagnostic as `file:line:col: key.path: message` and a count on stderr and exits 78. `schema` prints the
JSON Schema of a spec file, for editors and CI linters.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from spd.spec import load_spec, spec_json_schema


@click.command("validate")
@click.argument("spec", type=click.Path(readable=False))
def validate_command(spec: str) -> None:
    """Check SPEC (a file, or a directory of *.yaml files) offline; print every problem found.

    Exit status 0 when valid (warnings are printed but do not fail), 78 when not.
    """
    loaded = load_spec(Path(spec))
    for warning in loaded.warnings:
        click.echo(str(warning), err=True)
    if loaded.warnings:
        count = len(loaded.warnings)
        click.echo(f"{count} warning{'s' if count != 1 else ''}", err=True)
    desired = loaded.desired
    count = len(desired.processors)
    noun, verb = ("processor", "is") if count == 1 else ("processors", "are")
    click.echo(f"{spec}: {count} {noun} in stack {desired.stack} {verb} valid")


@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a spec file."""
    click.echo(json.dumps(spec_json_schema(), indent=2))
