"""The command group loads without the emulator's heavy imports, and the shared defaults agree."""

from __future__ import annotations

import subprocess
import sys


def test_emulator_defaults_match_the_server():
    from spd.cli import emulator_cmd
    from spd.emulator import server

    assert (emulator_cmd.DEFAULT_HOST, emulator_cmd.DEFAULT_PORT) == (
        server.DEFAULT_HOST,
        server.DEFAULT_PORT,
    )


def test_loading_the_commands_does_not_import_moto():
    code = "import sys, spd.cli.commands; print('moto' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
