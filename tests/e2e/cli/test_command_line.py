"""One command line for every `spd` command, through the real `spd` as a subprocess: the connection
options wherever the service or its local records are read, SPEC as an argument, hints for mistyped
commands and Terraform-style options, JSON documents, and help that shows what a command does whole,
with examples and exit codes."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import click
import pytest

from spd.cli.app import cli
from spd.cli.commands import COMMANDS
from spdrun import face, home, run_spd, write_spec

CONFIG = Path(__file__).resolve().parents[3] / "config"

OFFLINE = {"validate", "schema", "iam-policy", "completion", "emulator", "session", "store"}
"""Commands that read neither the service nor what spd recorded of it (`session` is the group of
`session start`, which does; `store` the group of `store copy`, which does)."""

CONNECTION = ("--local", "--local-state", "--endpoint-url", "--settings")


def _options(command: click.Command) -> set[str]:
    return {opt for p in command.params if isinstance(p, click.Option) for opt in p.opts}


def _loaded(name: str) -> click.Command:
    command = cli.get_command(click.Context(cli), name)
    assert command is not None
    return command


def _commands() -> list[tuple[str, click.Command]]:
    """Every command, `session start` included, by its name on the command line."""
    out = []
    for name in sorted(COMMANDS):
        command = _loaded(name)
        out.append((name, command))
        if isinstance(command, click.Group):
            out.extend((f"{name} {sub}", command.commands[sub]) for sub in sorted(command.commands))
    return out


# --- --local on every command that reads the service or its records ---------------------------------


def test_every_online_command_takes_the_same_connection_options() -> None:
    online = [(name, command) for name, command in _commands() if name not in OFFLINE]
    assert {name for name, _ in online} >= {"plan", "apply", "status", "check", "import", "run", "sessions"}
    assert {"session start", "store copy"} <= {name for name, _ in online}
    for name, command in online:
        assert set(CONNECTION) <= _options(command), name
    # Declared once: every command shows the same help for them.
    helps = {
        tuple(p.help for p in command.params if isinstance(p, click.Option) and p.opts[0] in CONNECTION)
        for _, command in online
    }
    assert len(helps) == 1, helps


@pytest.mark.parametrize("command", ["sessions", "history"])
def test_the_local_records_are_read_with_local(tmp_path: Path, command: str) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    state = tmp_path / "local.db"
    env = {"SPD_STATE_DIR": str(tmp_path / "state"), "SPD_HISTORY_FILE": str(tmp_path / "history.db")}
    r = run_spd([command, str(spec), "--local", "--local-state", str(state), "--output", "json"], env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) in ({"sessions": []}, [])
    both = run_spd([command, str(spec), "--local", "--endpoint-url", "http://127.0.0.1:1"], env=env)
    assert both.returncode == 64
    assert "--local and --endpoint-url are mutually exclusive" in both.stderr


# --- spd run SPEC -----------------------------------------------------------------------------------


def test_run_takes_the_spec_as_an_argument(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    r = run_spd(["run", str(missing)], timeout=60)
    assert r.returncode == 78, r.stderr
    assert str(missing) in r.stderr
    assert "Traceback" not in r.stderr
    # The same spec twice is the same spec; --spec alone still works.
    assert run_spd(["run", str(missing), "--spec", str(missing)], timeout=60).returncode == 78
    assert run_spd(["run", "--spec", str(missing)], timeout=60).returncode == 78


def test_run_with_two_different_specs_is_a_usage_error(tmp_path: Path) -> None:
    r = run_spd(["run", str(tmp_path / "a.yaml"), "--spec", str(tmp_path / "b.yaml")], timeout=60)
    assert r.returncode == 64
    assert "SPEC" in r.stderr
    assert "--spec" in r.stderr
    assert "differ" in r.stderr
    assert "Traceback" not in r.stderr


# --- hints --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("typed", "meant"), [("statu", "status"), ("aply", "apply"), ("histroy", "history")])
def test_a_mistyped_command_gets_the_nearest_one(typed: str, meant: str) -> None:
    r = run_spd([typed, "config/"])
    assert r.returncode == 64
    assert f"No such command '{typed}'" in r.stderr
    assert f"Did you mean '{meant}'?" in r.stderr


@pytest.mark.parametrize(
    ("args", "hint"),
    [
        (["plan", "config/", "-out=plan.json"], "did you mean '--out=plan.json'?"),
        (["plan", "config/", "-detailed-exitcode"], "did you mean '--detailed-exitcode'?"),
        (["apply", "config/", "-auto-approve"], "did you mean '--auto-approve'?"),
        (["status", "-detailed-exitcode", "config/"], "did you mean '--detailed-exitcode'?"),
    ],
)
def test_terraform_single_dash_options_get_the_double_dash_form(args: list[str], hint: str) -> None:
    r = run_spd(args)
    assert r.returncode == 64
    word = next(a for a in args if a.startswith("-"))
    assert f"No such option '{word}': spd's options take two dashes, not one; {hint}" in r.stderr
    assert "No such option '-o'" not in r.stderr
    assert "No such option '-d'" not in r.stderr


def test_a_single_dash_option_the_command_lacks_gets_no_false_hint() -> None:
    r = run_spd(["plan", "config/", "-auto-approve"])
    assert r.returncode == 64
    assert "No such option '-auto-approve': spd's options take two dashes, not one" in r.stderr
    assert "did you mean" not in r.stderr


def test_session_start_of_a_mistyped_processor_names_the_nearest(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch"), home("garage")])
    args = ["session", "start", str(spec), "porhc", "--local", "--local-state", str(tmp_path / "l.db")]
    r = run_spd(args, env={"SPD_STATE_DIR": str(tmp_path / "state")})
    assert r.returncode == 1
    assert "refused porhc: no processor 'porhc' in stack 'test-stack'; did you mean 'porch'?" in r.stderr


# --- --output json ------------------------------------------------------------------------------------


def test_validate_json_of_a_valid_spec(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby"), home("porch")])
    r = run_spd(["validate", str(spec), "--output", "json"])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert doc == {
        "spec": str(spec),
        "valid": True,
        "stack": "test-stack",
        "processors": [
            {"name": "lobby", "region": "us-east-1", "target": None},
            {"name": "porch", "region": "us-east-1", "target": None},
        ],
        "diagnostics": [],
        "summary": {"errors": 0, "warnings": 0},
    }


def test_validate_json_of_an_invalid_spec(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("version: 1\nstack: s\nprocessors:\n  - nmae: lobby\n")
    r = run_spd(["validate", str(spec), "--output", "json"])
    assert r.returncode == 78
    doc = json.loads(r.stdout)
    assert (doc["valid"], doc["stack"], doc["processors"]) == (False, None, [])
    assert doc["summary"]["errors"] == len(doc["diagnostics"]) > 0
    typo = next(d for d in doc["diagnostics"] if d["path"] == "processors[0].nmae")
    assert typo == {
        "file": str(spec),
        "line": 4,
        "column": 5,
        "path": "processors[0].nmae",
        "severity": "error",
        "message": "unknown key 'nmae'; did you mean 'name'?",
    }


def test_check_json_lists_the_findings_located(tmp_path: Path, emu: Any) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")])
    r = run_spd(["check", str(spec), "--endpoint-url", emu.url, "--output", "json"])
    assert r.returncode == 1, r.stderr
    doc = json.loads(r.stdout)
    assert doc["stack"] == "test-stack"
    assert doc["references"] >= 3
    assert doc["summary"]["errors"] >= 1
    stream = next(f for f in doc["findings"] if "kinesis_video_stream_arn" in f["path"])
    assert (stream["file"], stream["severity"]) == (str(spec), "error")
    assert stream["line"] > 0


def test_check_json_of_the_local_sandbox_has_no_findings(tmp_path: Path) -> None:
    r = run_spd(
        ["check", str(CONFIG), "--local", "--local-state", str(tmp_path / "l.db"), "--output", "json"]
    )
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["findings"], doc["summary"]) == ([], {"errors": 0, "warnings": 0})


def test_import_json_to_stdout_and_to_files(tmp_path: Path, emu: Any) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby"), face("dock")])
    applied = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"])
    assert applied.returncode == 0, applied.stderr
    base = ["import", "--region", "us-east-1", "--endpoint-url", emu.url, "--output", "json"]

    r = run_spd(base)
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["stack"], doc["regions"], doc["written"]) == ("imported", ["us-east-1"], [])
    assert sorted(p["name"] for p in doc["processors"]) == ["dock", "lobby"]
    assert "name: lobby" in doc["spec"]
    written = tmp_path / "imported.yaml"
    written.write_text(doc["spec"])
    assert run_spd(["validate", str(written)]).returncode == 0

    out = tmp_path / "out"
    out.mkdir()
    r = run_spd([*base, "--out", str(out)])
    assert r.returncode == 0, r.stderr
    doc = json.loads(r.stdout)
    assert (doc["written"], doc["spec"]) == ([str(out / "us-east-1.yaml")], None)


# --- help -----------------------------------------------------------------------------------------------


def test_spd_help_shows_every_summary_whole() -> None:
    r = run_spd(["--help"])
    assert r.returncode == 0, r.stderr
    listing = r.stdout.partition("Commands:")[2]
    entries = re.split(r"\n  (?=\S)", "\n" + listing.rstrip())[1:]
    shown = {entry.split()[0]: " ".join(entry.split()[1:]) for entry in entries}
    assert shown == {name: command.help for name, command in COMMANDS.items()}
    assert "..." not in listing
    assert "\n  Examples:\n    spd " in r.stdout
    assert "\n  Exit codes:\n    0 " in r.stdout


@pytest.mark.parametrize("name", [n for n, _ in _commands() if n != "emulator"])
def test_every_command_help_has_examples_and_exit_codes(name: str) -> None:
    r = run_spd([*name.split(), "--help"])
    assert r.returncode == 0, r.stderr
    examples = r.stdout.partition("\n  Examples:\n")[2].partition("\n\n")[0]
    codes = r.stdout.partition("\n  Exit codes:\n")[2].partition("\n\n")[0]
    assert any(line.strip().startswith("spd ") or "spd " in line for line in examples.splitlines()), r.stdout
    assert re.search(r"^    0 ", codes, re.MULTILINE), r.stdout
    assert re.search(r"^    64 ", codes, re.MULTILINE), r.stdout
    # Kept as written (click's no-rewrap marker): one example per line, not run together.
    assert all(len(line) <= 80 for line in r.stdout.splitlines()), r.stdout
