"""Imports every command module so that each registers itself on the `spd` group."""

# Each module below adds its commands to `spd.cli.app.cli` when imported.
from spd.cli import emulator_cmd, reconcile_cmd, run_cmd, validate_cmd  # noqa: F401
