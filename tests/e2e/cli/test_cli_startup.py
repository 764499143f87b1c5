"""Start-up: `spd --help`, `spd validate` and `spd schema` run without the AWS, daemon or emulator stacks.

Each runs as a real subprocess (`python -m spd ...`, through `spd.__main__` and the lazy group) that
reports which of the heavy packages ended up in `sys.modules`; the answer must be none. Wall-clock
figures are in tests/bench/bench_startup.py, not here.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

from spd.cli.app import cli
from spd.cli.commands import COMMANDS
from spdrun import spd_env

ROOT = Path(__file__).resolve().parents[3]
HEAVY = (
    "botocore",
    "aiobotocore",
    "aiohttp",
    "boto3",
    "structlog",
    "apscheduler",
    "prometheus_client",
    "moto",
    "werkzeug",
)

# Runs `python -m spd ARGS...` in this interpreter and prints the heavy packages it imported.
PROBE = f"""
import atexit, json, runpy, sys
heavy = {HEAVY!r}
def report():
    found = sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy))
    sys.__stderr__.write("IMPORTED " + json.dumps(found) + "\\n")
atexit.register(report)
sys.argv = ["spd", *sys.argv[1:]]
runpy.run_module("spd", run_name="__main__", alter_sys=True)
"""


def _imported_by(*args: str) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *args],
        cwd=ROOT,
        env=spd_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if line.startswith("IMPORTED "))
    return list(json.loads(line.removeprefix("IMPORTED ")))


@pytest.mark.parametrize(
    "args", [["validate", "config/"], ["--help"], ["schema"]], ids=["validate", "help", "schema"]
)
def test_offline_commands_import_no_heavy_stack(args: list[str]) -> None:
    assert _imported_by(*args) == []


def test_the_probe_sees_a_command_that_needs_the_aws_stack() -> None:
    # `plan --help` loads the plan command, whose module imports the gateway: the probe must notice.
    assert {"aiobotocore", "botocore"} <= set(_imported_by("plan", "--help"))


@pytest.mark.parametrize("name", sorted(COMMANDS))
@pytest.mark.parametrize("limit", [20, 45, 94])
def test_listed_help_matches_the_command(name: str, limit: int) -> None:
    """The table's help is what the loaded command itself shows, at any width."""
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    assert command.name == name
    stand_in = click.Command(name, help=COMMANDS[name].help)
    assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


def test_every_command_is_listed_and_runs_its_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "spd", "--help"], env=spd_env(), capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    listed = result.stdout.partition("Commands:")[2]
    # A summary too long for one line continues on lines indented further than the names.
    names = [line.split()[0] for line in listed.splitlines() if line.startswith("  ") and line[2] != " "]
    assert sorted(names) == sorted(COMMANDS)


def test_emulator_defaults_match_the_server() -> None:
    from spd.emulator import command
    from spd.emulator.http import server

    assert (command.DEFAULT_HOST, command.DEFAULT_PORT) == (server.DEFAULT_HOST, server.DEFAULT_PORT)


def test_python_m_spd_emulator_imports_no_cli() -> None:
    code = (
        "import sys, spd.emulator.__main__; print(sorted(m for m in sys.modules if m.startswith('spd.cli')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
