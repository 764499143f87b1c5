"""Which settings only a restart applies is said once, on the fields of `spd.config.settings.Settings`
(`json_schema_extra=RESTART`), and the daemon's reload reads it from there."""

from __future__ import annotations

import signal
from pathlib import Path

from test_session_triggers import _spec

from daemonproc import Daemon
from spd.config.settings import Settings
from spd.daemon import service

APPLIED_ON_RELOAD = {"api_token_file", "spec", "interval", "status_interval", "log_level", "prune"}
"""Read again by the running daemon (the token file per request, the spec and schedule on reload)."""


def test_the_reload_reads_the_marks_on_the_settings() -> None:
    from spd.config.settings import RESTART_REQUIRED

    marked = {
        name
        for name, field in Settings.model_fields.items()
        if (field.json_schema_extra or {}) == {"restart": True}
    }
    assert set(RESTART_REQUIRED) == marked
    assert service.RESTART_REQUIRED is RESTART_REQUIRED
    assert "state_dir" in marked  # the session ledger is opened once, at start-up
    assert {"metrics_address", "ha", "endpoint_url", "history_file"} <= marked
    assert not APPLIED_ON_RELOAD & marked


def _settings(path: Path, state_dir: Path) -> Path:
    path.write_text(f"interval: 300\nstatus_interval: 300\nstate_dir: '{state_dir}'\n")
    return path


def test_a_reload_that_moves_the_state_directory_says_a_restart_applies_it(emu, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "settings.yaml", tmp_path / "state-a")
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(_spec(emu, tmp_path)), "--settings", str(settings)],
        env={"SPD_STATE_DIR": None},
    )
    try:
        d.wait_for("reconcile_completed")
        _settings(settings, tmp_path / "state-b")
        mark = len(d.lines)
        d.signal(signal.SIGHUP)
        _, reloaded = d.wait_for("config_reloaded", after=mark)
        assert reloaded["restart_required"] == ["state_dir"]
        assert "state_dir" not in reloaded["changed_settings"]
    finally:
        d.kill()
    assert "Traceback" not in d.stderr
