"""Imports every command module so that each registers itself on the `spd` group."""

# Each module below adds its commands to `spd.cli.app.cli` when imported.
