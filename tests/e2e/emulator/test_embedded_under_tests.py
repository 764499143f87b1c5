"""Under pytest the embedded emulator refuses to default to the user's own state file.

`spd ... --local` keeps its fleet in `~/.local/state/spd/emulator.db`; a test that runs it (in-process
or as a subprocess, which inherits pytest's `PYTEST_CURRENT_TEST`) must name its own file instead of
silently reading or changing that fleet.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from spd.emulator.backend.service import EmulatorStateError
from spd.emulator.embedded import embedded_emulator

CONFIG = Path(__file__).resolve().parents[3] / "config"


def _home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_STATE_HOME", raising=False)
    return home


def test_embedded_emulator_without_a_state_file_is_refused_in_a_test(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home = _home(monkeypatch, tmp_path)
    with pytest.raises(EmulatorStateError, match="under pytest") as info, embedded_emulator():
        pass
    assert str(home / ".local" / "state" / "spd" / "emulator.db") in str(info.value)
    assert not home.exists()


def test_spd_local_run_by_a_test_needs_local_state(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    home = _home(monkeypatch, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "spd", "plan", "--local", str(CONFIG)],
        capture_output=True,
        text=True,
        env=dict(os.environ),
        timeout=60,
    )
    assert result.returncode == 78, result.stderr
    assert "--local-state" in result.stderr
    assert "Traceback" not in result.stderr
    assert not home.exists()


def test_an_explicit_state_file_works_in_a_test(tmp_path: Path) -> None:
    with embedded_emulator(tmp_path / "mine.json") as url:
        assert url.startswith("http://127.0.0.1:")
    assert (tmp_path / "mine.json").exists()
