"""The `spd` command line; see `spd.cli.app` for the group and `spd.cli.commands` for the commands."""

from spd.cli.app import main

__all__ = ["main"]
