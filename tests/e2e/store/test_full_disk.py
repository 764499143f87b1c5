"""A full disk is a temporary failure (exit 75, EX_TEMPFAIL, retried by systemd), not a broken
configuration (78, never retried), and a start that fails on it leaves no empty state file behind.

The disk is a real one: a 64 KiB tmpfs mounted for the test and filled up (root only; skipped, saying
why, where mounting is not permitted).
"""

from __future__ import annotations

import configparser
import errno
import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from spd.errors import ExitCode
from spd.events.history import History
from spdrun import home, run_spd, write_spec

UNIT = Path(__file__).parents[3] / "systemd" / "spd.service"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 64 KiB tmpfs at tmp_path/disk, unmounted afterwards."""
    disk = tmp_path / "disk"
    disk.mkdir(mode=0o700)
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs to fill up (needs root and mount rights): {mounted.stderr.strip()}"
        )
    try:
        yield disk
    finally:
        subprocess.run(["umount", str(disk)], check=True)


def fill(disk: Path) -> None:
    """Write until the file system refuses with ENOSPC."""
    with (disk / "filler").open("wb", buffering=0) as out:
        block = b"\0" * 4096
        failed: OSError | None = None
        while failed is None:
            try:
                out.write(block)
            except OSError as exc:
                failed = exc
    assert failed.errno == errno.ENOSPC
    assert os.statvfs(disk).f_bavail == 0


def test_spd_run_on_a_full_disk_exits_75_and_leaves_no_empty_history_file(
    tmp_path: Path, small_disk: Path
) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    fill(small_disk)
    history = small_disk / "history.db"

    result = run_spd(
        ["run", "--local", "--local-state", str(tmp_path / "emulator.db"), "--spec", str(spec)],
        env={"SPD_HISTORY_FILE": str(history), "SPD_METRICS_ADDRESS": ""},
    )

    assert result.returncode == 75, result.stderr
    assert f"error: {history}: disk full: cannot write spd history" in result.stderr
    assert "Traceback" not in result.stderr
    assert sorted(p.name for p in small_disk.iterdir()) == ["filler"], "no empty history file left"


def test_spd_history_on_a_full_disk_exits_75(tmp_path: Path, small_disk: Path) -> None:
    """An existing history cannot be read without room for SQLite's shared-memory index: retry later."""
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    history = small_disk / "history.db"
    History(history).close()
    fill(small_disk)

    result = run_spd(["history", str(spec)], env={"SPD_HISTORY_FILE": str(history)})

    assert result.returncode == 75, result.stderr
    assert f"error: {history}: disk full: " in result.stderr
    assert "Traceback" not in result.stderr
    assert history.stat().st_size > 0, "the existing history is left as it was"


def error_with_code(message: str, code: int) -> sqlite3.OperationalError:
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = code
    return exc


def test_sqlite_errors_are_told_apart_by_code_not_by_message(tmp_path: Path) -> None:
    from spd.store.sqlite_store import StoreError, StoreTemporaryError, sqlite_error

    path = tmp_path / "x.db"
    full = sqlite_error(path, "spd history", error_with_code("some words", 13))  # SQLITE_FULL
    assert isinstance(full, StoreTemporaryError)
    assert full.exit_code == ExitCode.TEMPFAIL
    assert int(full.exit_code) == 75
    assert str(full).startswith(f"{path}: disk full: ")
    shm = sqlite_error(path, "spd history", error_with_code("disk I/O error", 4874))  # SQLITE_IOERR_SHMSIZE
    assert shm.exit_code == 75
    # A message that reads like a full disk, with the code of a damaged file: a configuration error.
    damaged = sqlite_error(path, "spd history", error_with_code("database or disk is full", 11))
    assert type(damaged) is StoreError
    assert damaged.exit_code == ExitCode.CONFIG
    # Cannot open, with room on the disk (a permission, a read-only file system): not temporary.
    cannot_open = sqlite_error(path, "spd history", error_with_code("unable to open database file", 14))
    assert cannot_open.exit_code == ExitCode.CONFIG


def test_the_unit_retries_exit_75_and_stops_on_78() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(UNIT)
    service = unit["Service"]
    assert service["Restart"] == "on-failure"  # every non-zero exit status restarts...
    prevented = service["RestartPreventExitStatus"].split()
    assert "78" in prevented  # ...but a broken configuration
    assert "75" not in prevented  # a full disk is retried


def test_the_embedded_emulators_state_on_a_full_disk_exits_75(tmp_path: Path, small_disk: Path) -> None:
    """The emulator's state file goes through the same store: its full disk is temporary too."""
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    fill(small_disk)
    state = small_disk / "emulator.db"

    result = run_spd(["plan", "--local", "--local-state", str(state), str(spec)])

    assert result.returncode == 75, result.stderr
    assert "disk full" in result.stderr
    assert "Traceback" not in result.stderr


def test_the_unit_keeps_its_state_in_a_private_state_directory() -> None:
    """Under DynamicUser the home directory is not writable: the ledger and history need /var/lib/spd."""
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.read(UNIT)
    service = unit["Service"]
    assert service["StateDirectory"] == "spd"
    assert "Environment=SPD_STATE_DIR=%S/spd" in UNIT.read_text().splitlines()
