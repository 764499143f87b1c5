"""`spd iam-policy SPEC --for daemon|service-role`: print the least-privilege IAM policy for a spec.

Offline, like `validate`: the spec is loaded with `spd.spec.load_spec` (a `SpecError` propagates to
`spd.cli.app.main`, which prints located diagnostics and exits 78) and `spd.iam_policy` builds the
policy. Nothing is read from AWS.
"""

from __future__ import annotations

from pathlib import Path

import click

from spd.iam_policy import AUDIENCES, iam_policy, render
from spd.spec import load_spec


@click.command("iam-policy")
@click.argument("spec", type=click.Path(readable=False))
@click.option(
    "--for",
    "audience",
    type=click.Choice(AUDIENCES),
    required=True,
    help="daemon: whoever runs spd; service-role: the role Rekognition assumes.",
)
def iam_policy_command(spec: str, audience: str) -> None:
    """Print a least-privilege IAM policy (JSON) for the spec's processors.

    `--for daemon` grants what plan, apply, run and the preflight checks need on exactly the spec's
    processors and references; `--for service-role` grants what Rekognition needs through the spec's
    roles. The same spec always prints the same bytes.
    """
    desired = load_spec(Path(spec)).desired
    click.echo(render(iam_policy(desired, "daemon" if audience == "daemon" else "service-role")), nl=False)
