"""`spd validate SPEC` and `spd schema`: the offline commands of the spec language.

Listed in `spd.cli.commands`, which imports this module when one of its commands runs. `validate` loads the
spec with `spd.spec.load_spec`; a `SpecError` propagates to `spd.cli.app.main`, which prints every
diagnostic as `file:line:col: key.path: message` and a count on stderr and exits 78 (with `--output json`
the diagnostics are the document on stdout instead, and the exit code the same). `schema` prints the
JSON Schema of a spec file, for editors and CI linters.
"""

from __future__ import annotations

import json
from pathlib import Path

import click

from spd.cli.app import output_option
from spd.cli.documents import validate_json
from spd.cli.helptext import CONFIG, USAGE, documented
from spd.errors import ExitCode, SpecError
from spd.spec import load_spec, spec_json_schema


@documented(
    examples=[
        ("spd validate config/", "every *.yaml file of the directory"),
        ("spd validate spec.yaml --output json", "one JSON document, valid or not"),
    ],
    exit_codes={0: "valid (warnings are printed but do not fail)", USAGE[0]: USAGE[1], CONFIG[0]: CONFIG[1]},
)
@click.command("validate")
@click.argument("spec", type=click.Path(readable=False))
@output_option()
def validate_command(spec: str, output: str) -> int:
    """Check SPEC (a file, or a directory of *.yaml files) offline; print every problem found.

    With --output json, stdout is one object: spec, valid, stack (null when invalid), processors
    ([{name, region, target}]), diagnostics ([{file, line, column, path, severity, message}]) and
    summary ({errors, warnings}).
    """
    if output == "json":
        return _validate_json(Path(spec))
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
    return ExitCode.OK


def _validate_json(spec: Path) -> int:
    try:
        loaded = load_spec(spec)
    except SpecError as exc:
        click.echo(validate_json(spec, None, (), exc.diagnostics), nl=False)
        return exc.exit_code
    desired = loaded.desired
    processors = [(p.name, p.config.region, p.target) for p in desired.processors]
    click.echo(validate_json(spec, desired.stack, processors, loaded.warnings), nl=False)
    return ExitCode.OK


@documented(
    examples=[("spd schema > spd-spec.schema.json", "for an editor's YAML language server or a CI linter")],
    exit_codes={0: "printed", USAGE[0]: USAGE[1]},
)
@click.command("schema")
def schema_command() -> None:
    """Print the JSON Schema of a spec file."""
    click.echo(json.dumps(spec_json_schema(), indent=2))
