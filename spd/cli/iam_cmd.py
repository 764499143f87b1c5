"""`spd iam-policy SPEC --for daemon|service-role`: print the least-privilege IAM policy for a spec.

Offline, like `validate`: the spec is loaded with `spd.spec.load_spec` (a `SpecError` propagates to
`spd.cli.app.main`, which prints located diagnostics and exits 78) and `spd.checks.iam_policy` builds the
policy. Nothing is read from AWS. The daemon's settings (`--settings FILE`, `$SPD_SETTINGS_FILE`,
`SPD_*` variables, as `spd run` reads them) add what its configured queues, lease table and event
sinks need; a settings error exits 78 like a spec error.
"""

from __future__ import annotations

import os
from pathlib import Path

import click

from spd.checks.iam_policy import AUDIENCES, Audience, iam_policy, render
from spd.cli.app import settings_option
from spd.cli.helptext import CONFIG, USAGE, documented
from spd.config.settings import load_settings
from spd.spec import load_spec


@documented(
    examples=[
        ("spd iam-policy config/ --for daemon", "for whoever runs spd"),
        ("spd iam-policy config/ --for service-role", "for the role Rekognition assumes"),
        ("spd iam-policy config/ --for daemon --settings /etc/spd/settings.yaml", "with its queues"),
    ],
    exit_codes={0: "printed", USAGE[0]: USAGE[1], CONFIG[0]: CONFIG[1]},
)
@click.command("iam-policy")
@click.argument("spec", type=click.Path(readable=False))
@click.option(
    "--for",
    "audience",
    type=click.Choice(AUDIENCES),
    required=True,
    help="daemon: whoever runs spd; service-role: the role Rekognition assumes.",
)
@settings_option(
    "The daemon's YAML settings file (also $SPD_SETTINGS_FILE); SPD_* environment variables win."
)
def iam_policy_command(spec: str, audience: str, settings_file: Path | None) -> None:
    """Print a least-privilege IAM policy (JSON) for the spec's processors.

    `--for daemon` grants what plan, apply, run and the preflight checks need on exactly the spec's
    processors and references; `--for service-role` grants what Rekognition needs through the spec's
    roles. With the daemon's settings, `--for daemon` also grants what its configured watch, session and
    results queues, lease table and event sinks need. The same input always prints the same bytes.
    """
    settings = load_settings(settings_file)
    desired = load_spec(Path(spec)).desired
    chosen: Audience = "daemon" if audience == "daemon" else "service-role"
    click.echo(render(iam_policy(desired, chosen, settings, environ=os.environ)), nl=False)
