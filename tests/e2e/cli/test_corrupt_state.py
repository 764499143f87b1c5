"""Damaged or misnamed local state, and empty or unusual settings, as real commands meet them: one located
line and the right exit code, never a traceback."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from spd.events import Event
from spd.events.history import History
from spd.sessions.ledger import Ledger, ledger_path
from spd.sessions.ledger_port import TriggerRow
from spdrun import home, run_spd, write_spec

ROWS = 3000


def damage(path: Path) -> None:
    """Scribble over every page after the first two: the header and schema still read, the rows do not."""
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * 4096, "enough rows for pages beyond the schema"
    for offset in range(2 * 4096, len(data), 7):
        data[offset] = 0x55
    path.write_bytes(bytes(data))


def one_error_line(stderr: str, path: Path) -> str:
    assert "Traceback" not in stderr, stderr
    [line] = stderr.strip().splitlines()
    assert str(path) in line
    return line


def test_history_on_a_damaged_file_is_one_located_line(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    history = History(path)
    now = datetime.now(UTC)
    for index in range(ROWS):
        history.record(Event("processor_created", {"processor": f"cam{index}"}), stack="test-stack", at=now)
    history.close()  # the last connection checkpoints: every row is in the main file
    damage(path)
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])

    result = run_spd(["history", str(spec)], env={"SPD_HISTORY_FILE": str(path)})

    assert result.returncode == 78
    line = one_error_line(result.stderr, path)
    assert line == (
        f"error: {path}: damaged spd history database (database disk image is malformed); move it aside "
        "(spd starts a new one) or restore a copy"
    )


def test_sessions_on_a_damaged_ledger_is_one_located_line(tmp_path: Path) -> None:
    state = tmp_path / "state"
    now = datetime.now(UTC)
    with Ledger.open(state) as ledger:
        for index in range(ROWS):
            ledger.record_trigger(
                TriggerRow(
                    at=now,
                    processor="porch",
                    region="us-east-1",
                    trigger="cli",
                    outcome="refused",
                    reason=f"r{index}",
                )
            )
    path = ledger_path(state)
    damage(path)
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])

    result = run_spd(["sessions", str(spec)], env={"SPD_STATE_DIR": str(state)})

    assert result.returncode == 78
    line = one_error_line(result.stderr, path)
    assert line.startswith(f"error: {path}: damaged spd session ledger database (")


def test_a_directory_as_history_file_is_a_located_settings_error(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    folder = tmp_path / "history"
    folder.mkdir()
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"metrics_address: ''\nhistory_file: {folder}\n")

    from_env = run_spd(
        ["run", "--spec", str(spec), "--endpoint-url", "http://127.0.0.1:9"],
        env={"SPD_HISTORY_FILE": str(folder), "SPD_METRICS_ADDRESS": ""},
    )
    from_file = run_spd(
        ["run", "--spec", str(spec), "--endpoint-url", "http://127.0.0.1:9", "--settings", str(settings)]
    )

    for result in (from_env, from_file):
        assert result.returncode == 78, result.stderr
        assert "Traceback" not in result.stderr
    message = (
        f"{str(folder)!r} is a directory; history_file names a file, e.g. {str(folder / 'history.db')!r}"
    )
    assert f"environment: SPD_HISTORY_FILE: {message}" in from_env.stderr
    assert f"{settings}:2:15: history_file: {message}" in from_file.stderr


@pytest.mark.parametrize(
    ("variable", "command"),
    [("SPD_API_TOKEN_FILE", "history"), ("SPD_HISTORY_FILE", "history"), ("SPD_STATE_DIR", "sessions")],
)
def test_an_empty_path_variable_means_unset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, variable: str, command: str
) -> None:
    """`VAR=` in an environment file is "not set" (the default), not the path "." (the current directory)."""
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    workdir = tmp_path / "cwd"
    workdir.mkdir()
    monkeypatch.chdir(workdir)  # "." would be this directory
    xdg = tmp_path / "xdg"

    result = run_spd([command, str(spec), "--output", "json"], env={"XDG_STATE_HOME": str(xdg), variable: ""})

    assert result.returncode == 0, result.stderr
    assert list(workdir.iterdir()) == [], "nothing is kept in the current directory"
    if command == "sessions":
        assert (xdg / "spd" / "sessions.db").exists()


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_missing_parents_of_the_state_directory_are_private_under_umask_000(
    tmp_path: Path, umask_000: None
) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    os.chmod(tmp_path / "spec.yaml", 0o644)  # written under umask 000; a world-writable spec is refused
    state = tmp_path / "a" / "b" / "state"

    result = run_spd(["sessions", str(spec)], env={"SPD_STATE_DIR": str(state)})

    assert result.returncode == 0, result.stderr
    for directory in (tmp_path / "a", tmp_path / "a" / "b", state):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
    assert stat.S_IMODE(ledger_path(state).stat().st_mode) == 0o600
