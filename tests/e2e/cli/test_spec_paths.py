"""Spec paths that cannot be read, through the real `spd` command: exit 78, located, never a hang or a skip.

Permission denied cannot be staged for root as it is (root reads any file), so when the tests run as root
the command runs without the two capabilities that let root ignore permission bits (CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH, dropped from the bounding set before exec); a file with mode 000 is then refused
to it by the kernel as to anyone else.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

import pytest

from spdrun import SPD, face, home, run_spd, spd_env, write_spec

_PR_CAPBSET_DROP = 24
_CAP_DAC_OVERRIDE = 1
_CAP_DAC_READ_SEARCH = 2


def _drop_permission_override() -> None:
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    for cap in (_CAP_DAC_OVERRIDE, _CAP_DAC_READ_SEARCH):
        if libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def run_bound_by_permissions(args: Sequence[str]) -> subprocess.CompletedProcess[str]:
    """`spd ARGS` in a process that permission bits apply to, root or not."""
    return subprocess.run(
        [*SPD, *args],
        env=spd_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        preexec_fn=_drop_permission_override if os.geteuid() == 0 else None,
    )


def unreadable(path: Path) -> Path:
    path.chmod(0o000)
    return path


def _spec_pair(directory: Path) -> tuple[Path, Path]:
    readable = write_spec(directory / "a.yaml", [face("lobby")])
    secret = unreadable(write_spec(directory / "b.yaml", [face("garage")]))
    return readable, secret


def test_an_unreadable_spec_argument_exits_78_located(tmp_path: Path) -> None:
    _, secret = _spec_pair(tmp_path)
    result = run_bound_by_permissions(["validate", str(secret)])
    assert result.returncode == 78, result.stderr
    assert result.stderr.startswith(f"{secret}:1:1: cannot read: permission denied\n"), result.stderr


def test_an_unreadable_file_in_a_spec_directory_exits_78_located(tmp_path: Path) -> None:
    _, secret = _spec_pair(tmp_path)
    result = run_bound_by_permissions(["validate", str(tmp_path)])
    assert result.returncode == 78, result.stderr
    assert result.stderr.startswith(f"{secret}:1:1: cannot read: permission denied\n"), result.stderr


@pytest.mark.parametrize("command", ["validate", "plan", "apply"])
def test_a_fifo_as_the_spec_exits_78_without_blocking(tmp_path: Path, command: str) -> None:
    fifo = tmp_path / "spec.yaml"
    os.mkfifo(fifo)
    args = [command, str(fifo)]
    if command != "validate":
        args += ["--endpoint-url", "http://127.0.0.1:9"] + ["--auto-approve"] * (command == "apply")
    # The timeout is a backstop against a hang, not a measure of speed.
    result = run_spd(args, timeout=60)
    assert result.returncode == 78, result.stderr
    assert result.stderr.startswith(f"{fifo}:1:1: not a regular file but a FIFO"), result.stderr


def test_a_dangling_file_makes_apply_prune_exit_78_and_call_nothing(tmp_path: Path, emu) -> None:
    spec = tmp_path / "spec.d"
    spec.mkdir()
    write_spec(spec / "a.yaml", [face("lobby")], references=emu)
    write_spec(spec / "b.yaml", [home("porch")], references=emu)
    applied = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"])
    assert applied.returncode == 0, applied.stderr

    (spec / "b.yaml").unlink()
    (spec / "b.yaml").symlink_to("/nonexistent/porch.yaml")
    emu.control("DELETE", "stats")
    result = run_spd(["apply", str(spec), "--prune", "--endpoint-url", emu.url, "--auto-approve"])
    assert result.returncode == 78, result.stdout + result.stderr
    assert f"{spec}/b.yaml:1:1: dangling symlink" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(emu.stats()["calls"].values()), emu.stats()
    names = {p["Name"] for p in emu.client().list_stream_processors()["StreamProcessors"]}
    assert names == {"lobby", "porch"}
