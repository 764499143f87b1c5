"""The `spd` command line: `spd.cli.app` holds the group, `spd.cli.commands` the table of its commands."""

from spd.cli.app import main

__all__ = ["main"]
