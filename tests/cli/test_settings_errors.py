"""Invalid settings, from the environment or a settings file, exit 78 with the culprit named."""

from __future__ import annotations

from pathlib import Path

from spdrun import run_spd

CONFIG = str(Path(__file__).resolve().parents[2] / "config")


def test_invalid_environment_setting_names_the_variable(tmp_path):
    r = run_spd(["validate", CONFIG])
    assert r.returncode == 0
    r = run_spd(
        ["plan", CONFIG, "--local", "--local-state", str(tmp_path / "e.json")], env={"SPD_INTERVAL": "-1"}
    )
    assert r.returncode == 78
    assert "environment: SPD_INTERVAL: Input should be greater than 0" in r.stderr
    assert "Traceback" not in r.stderr


def test_misspelt_setting_in_file_gets_a_suggestion(tmp_path):
    settings = tmp_path / "settings.yaml"
    settings.write_text("intervall: 3\nrate_limits: {DescribeStreamProcessr: 3}\n")
    r = run_spd(
        ["plan", CONFIG, "--settings", str(settings), "--local", "--local-state", str(tmp_path / "e.json")]
    )
    assert r.returncode == 78
    assert f"{settings}: intervall: unknown setting; did you mean 'interval'?" in r.stderr
    assert "unknown operation 'DescribeStreamProcessr'" in r.stderr
