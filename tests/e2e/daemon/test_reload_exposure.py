"""A SIGHUP never leaves the listener beyond loopback without a token: `metrics_address` changes only at
a restart, so a reload that drops `api_token_file` while moving the address to loopback would keep the
public listener and drop its token. Real `spd run` against `spd emulator`.
"""

from __future__ import annotations

import signal
from pathlib import Path

from test_session_triggers import TOKEN, _post, _spec, _starts, _token_file

from daemonproc import Daemon


def _settings(path: Path, *, address: str, token: Path | None) -> Path:
    lines = ["interval: 300", "status_interval: 300", f"metrics_address: '{address}'"]
    if token is not None:
        lines.append(f"api_token_file: '{token}'")
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_reload_dropping_the_token_of_a_public_listener_is_refused(emu, tmp_path):
    emu.configure(session_time_scale=100)
    spec = _spec(emu, tmp_path)
    token = _token_file(tmp_path)
    settings = _settings(tmp_path / "settings.yaml", address="0.0.0.0:0", token=token)
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec), "--settings", str(settings)],
        # The settings file decides the address (FAST_DAEMON's variable would outrank it).
        env={"SPD_STATE_DIR": str(tmp_path / "state"), "SPD_METRICS_ADDRESS": None},
    )
    try:
        _, started = d.wait_for("daemon_started")
        assert started["metrics_address"].startswith("0.0.0.0:")
        d.wait_for("reconcile_completed")
        before = _starts(emu)
        assert _post(d, {"processor": "porch"}, token=None)[0] == 401

        # The file alone is fine (loopback, no token); with the kept public listener it is not.
        _settings(settings, address="127.0.0.1:0", token=None)
        mark = len(d.lines)
        d.signal(signal.SIGHUP)
        _, failed = d.wait_for("config_reload_failed", after=mark)
        assert failed["source"] == "settings"
        [error] = failed["errors"]
        assert "beyond loopback" in error
        assert "metrics_address changes only at a restart" in error
        assert not d.events("config_reloaded")

        code, body = _post(d, {"processor": "porch"}, token=None)
        assert code == 401, body
        assert _starts(emu) == before
        assert d.metric("spd_config_reloads_total", outcome="failed") == 1.0

        # Keeping the token while moving the address is a reload like any other (the move waits).
        _settings(settings, address="127.0.0.1:0", token=token)
        mark = len(d.lines)
        d.signal(signal.SIGHUP)
        _, reloaded = d.wait_for("config_reloaded", after=mark)
        assert reloaded["restart_required"] == ["metrics_address"]
        assert _post(d, {"processor": "porch"}, token=None)[0] == 401
        assert _post(d, {"processor": "porch"}, token=TOKEN)[0] == 201
    finally:
        d.kill()
    assert "Traceback" not in d.stderr
