"""Every shell, YAML and Python example of the README and the manual is run or checked against spd.

- shell (`sh`, `console`): valid bash (`bash -n`); every `spd` command line names a real command and
  only options that command has; blocks marked `run` are run in a sandbox and their output compared;
- YAML: read by spd's own YAML reader; a spec is validated as `spd validate` would; a settings file or
  a fragment of either may only use keys that exist;
- Python: compiles; a test file (`# test_*.py` on its first line) passes under pytest with spd's plugin,
  and a block marked `emulator` runs against a real `spd emulator`.

See tests/support/doc_examples.py for the markers. The README's and the manual's set-up commands are the ones
`.ci/run` runs itself.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest

from doc_examples import ROOT, Block, all_blocks, blocks, console_commands, shell_commands
from spd.cli.app import cli
from spd.config.settings import Settings
from spd.spec import load_spec
from spd.spec.schema import ProcessorSpec, SpecDocument, TargetSpec
from spd.spec.yaml_source import read_document
from spdrun import spd_env, write_spd_command

SHELL = all_blocks("sh", "console")
YAML = all_blocks("yaml")
PYTHON = all_blocks("python")
EMULATOR_URL = "http://127.0.0.1:4566"
_VENV_BIN = str(Path(sys.executable).parent)
"""Where the test extra's console scripts (`aws`) are, whatever PATH the suite was started with."""
_OPERATORS = {"|", "||", "&&", ";", ">", ">>", "<", "2>", "&", ")", "2>&1"}


def _ids(found: list[Block]) -> list[str]:
    return [b.where for b in found]


# -- shell --------------------------------------------------------------------------------------------


def _spd_invocations(script: str) -> list[list[str]]:
    """Each `spd ...` command line of a shell script, as its words up to the next shell operator."""
    found = []
    for line in script.replace("\\\n", " ").splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars="|&;<>()")
        lexer.whitespace_split = True
        lexer.commenters = "#"
        try:
            words = list(lexer)
        except ValueError:
            continue  # an unbalanced quote spans lines (a here-document); bash -n judges the syntax
        start = True  # at a command word: line start, after an operator, after `sudo` or `X=value`
        for i, word in enumerate(words):
            if word in _OPERATORS or set(word) <= set("|&;<>()"):
                start = True
                continue
            if not start:
                continue
            if word == "sudo" or re.match(r"^\w+=", word):
                continue
            start = False
            if word == "spd" or word.endswith("/bin/spd"):
                args = []
                for token in words[i + 1 :]:
                    if token in _OPERATORS or set(token) <= set("|&;<>()"):
                        break
                    args.append(token)
                found.append(args)
    return found


def _check_spd_arguments(args: list[str]) -> None:
    """The words name a command of `spd` and only its options (values are not judged here)."""
    command: click.Command = cli
    ctx = click.Context(cli, info_name="spd")
    rest = list(args)
    while isinstance(command, click.Group) and rest and not rest[0].startswith("-"):
        sub = command.get_command(ctx, rest[0])
        assert sub is not None, f"spd has no command {rest[0]!r}: spd {' '.join(args)}"
        command, rest = sub, rest[1:]
        ctx = click.Context(command, info_name=command.name, parent=ctx)
    known = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)} | {"--help"}
    for word in rest:
        if word.startswith("-") and word != "-":
            name = word.split("=", 1)[0]
            assert name in known, f"{name} is not an option of `spd {command.name}`: spd {' '.join(args)}"


@pytest.mark.parametrize("block", SHELL, ids=_ids(SHELL))
def test_shell_examples_are_valid_bash_and_call_real_spd_options(block: Block) -> None:
    script = shell_commands(block.lang, block.text)
    result = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, f"{block.where}: {result.stderr}"
    for args in _spd_invocations(script):
        _check_spd_arguments(args)


def test_the_spd_check_catches_what_it_should() -> None:
    with pytest.raises(AssertionError, match="--nope"):
        _check_spd_arguments(["plan", "--local", "--nope", "config/"])
    with pytest.raises(AssertionError, match="no command"):
        _check_spd_arguments(["bogus"])
    _check_spd_arguments(["session", "start", "config/", "porch", "--fragment-number", "42"])
    assert _spd_invocations("x=1 && .venv/bin/spd plan --local config/ | tee log  # note\n") == [
        ["plan", "--local", "config/"]
    ]


# -- running the blocks marked `run` -------------------------------------------------------------------


def _sandbox(tmp_path: Path, page_blocks: list[Block]) -> tuple[Path, dict[str, str]]:
    """A directory with `config/`, the page's `file` blocks, and `spd` on PATH; its environment."""
    work = tmp_path / "work"
    shutil.copytree(ROOT / "config", work / "config")
    for block in page_blocks:
        if block.note.startswith("file "):
            (work / block.note.removeprefix("file ").strip()).write_text(block.text, encoding="utf-8")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    shim = bin_dir / "spd"
    write_spd_command(shim)
    env = spd_env(
        {
            "PATH": os.pathsep.join([str(bin_dir), _VENV_BIN, os.environ.get("PATH", "")]),
            "SPD_LOCAL_STATE": str(tmp_path / "emulator.db"),
            "SPD_PREFLIGHT": "true",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        }
    )
    return work, env


RUN = [b for b in SHELL if b.note == "run"]


@pytest.mark.parametrize("block", RUN, ids=_ids(RUN))
def test_run_examples_print_what_the_page_shows(block: Block, tmp_path: Path) -> None:
    work, env = _sandbox(tmp_path, blocks(block.page))
    steps = console_commands(block.text) if block.lang == "console" else [("set -e\n" + block.text, [])]
    status = 0
    for command, shown in steps:
        result = subprocess.run(
            ["bash", "-c", f"(exit {status}); {command}"],  # `$?` is the previous command's, as on the page
            cwd=work,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
        )
        status = result.returncode
        output = (result.stdout + result.stderr).strip()
        assert "Traceback" not in output, f"{block.where}: {command}\n{output}"
        if shown:
            expected = "\n".join(line for line in shown if line).strip()
            assert "\n".join(line for line in output.splitlines() if line) == expected, (
                f"{block.where}: `{command}` printed\n{output}"
            )
        else:
            # No output on the page: the command must run as documented (a refusal to apply without a
            # terminal is the one usage error a page shows on purpose).
            refused_prompt = result.returncode == 64 and "--auto-approve" in output
            assert result.returncode in (0, 1, 2) or refused_prompt, f"{block.where}: {command}\n{output}"


# -- YAML -----------------------------------------------------------------------------------------------

SPEC_KEYS = set(SpecDocument.model_fields)
PROCESSOR_KEYS = set(ProcessorSpec.model_fields)
SETTINGS_KEYS = set(Settings.model_fields)


def _yaml(block: Block) -> Any:
    document = read_document(block.text, block.where, {"SPD_EXTERNAL_ID": "example-external-id"})
    if not block.note.startswith("file "):  # a file for a run block may be wrong on purpose
        assert not document.problems, [p.message for p in document.problems]
    return document.data


@pytest.mark.parametrize("block", YAML, ids=_ids(YAML))
def test_yaml_examples_are_specs_or_settings_spd_accepts(block: Block, tmp_path: Path) -> None:
    data = _yaml(block)
    assert isinstance(data, dict), f"{block.where}: not a mapping"
    if block.note.startswith("file "):
        return  # written for a `run` block on the same page, which shows what spd says of it
    if {"version", "stack", "processors"} <= set(data) and "..." not in block.text:
        path = tmp_path / "spec.yaml"
        path.write_text(block.text, encoding="utf-8")
        load_spec(
            path, environ={"SPD_EXTERNAL_ID": "example-external-id"}
        )  # raises with located errors when the example is not a valid spec
    elif set(data) <= SPEC_KEYS:
        for item in data.get("processors") or []:
            assert set(item) <= PROCESSOR_KEYS, f"{block.where}: {sorted(set(item) - PROCESSOR_KEYS)}"
        for target in (data.get("targets") or {}).values():
            assert set(target) <= set(TargetSpec.model_fields), block.where
        assert set(data.get("defaults") or {}) <= PROCESSOR_KEYS, block.where
    else:
        assert set(data) <= SETTINGS_KEYS, (
            f"{block.where}: not spec or settings keys: {sorted(set(data) - SETTINGS_KEYS)}"
        )


# -- Python ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("block", PYTHON, ids=_ids(PYTHON))
def test_python_examples_compile(block: Block) -> None:
    compile(block.text, block.where, "exec")


TEST_FILES = [b for b in PYTHON if b.text.startswith("# test_")]


@pytest.mark.parametrize("block", TEST_FILES, ids=_ids(TEST_FILES))
def test_python_test_file_examples_pass_under_pytest(block: Block, tmp_path: Path) -> None:
    name = block.text.split()[1]
    (tmp_path / name).write_text(block.text, encoding="utf-8")
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", name],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, f"{block.where}\n{result.stdout}\n{result.stderr}"
    assert " passed" in result.stdout
    assert "failed" not in result.stdout


EMULATOR_BLOCKS = [b for b in all_blocks("python", "sh") if b.note == "emulator"]


@pytest.mark.parametrize("block", EMULATOR_BLOCKS, ids=_ids(EMULATOR_BLOCKS))
def test_emulator_examples_run_against_a_real_emulator(block: Block, emu: Any, tmp_path: Path) -> None:
    text = block.text.replace(EMULATOR_URL, emu.url)
    env = spd_env({"PATH": os.pathsep.join([_VENV_BIN, os.environ.get("PATH", "")])})  # the venv's `aws`
    if block.lang == "python":
        result = subprocess.run(
            [sys.executable, "-c", text],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )
    else:
        script = "set -e\n" + "\n".join(
            line for line in text.splitlines() if not line.startswith("spd emulator")
        )
        result = subprocess.run(
            ["bash", "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env
        )
    assert result.returncode == 0, f"{block.where}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr


# -- JSON -----------------------------------------------------------------------------------------------

JSON = [b for b in all_blocks("json") if "..." not in b.text and "…" not in b.text]


@pytest.mark.parametrize("block", JSON, ids=_ids(JSON))
def test_json_examples_parse(block: Block) -> None:
    json.loads(block.text)


def test_there_are_examples_of_each_kind_to_run() -> None:
    assert len(SHELL) >= 20
    assert len(YAML) >= 8
    assert len(TEST_FILES) == 2
    assert RUN
    assert EMULATOR_BLOCKS
