"""Invalid settings, from the environment or a settings file, exit 78 with the culprit named."""

from __future__ import annotations

from pathlib import Path

import pytest

from spdrun import run_spd

CONFIG = str(Path(__file__).resolve().parents[3] / "config")


def test_invalid_environment_setting_names_the_variable(tmp_path):
    r = run_spd(["validate", CONFIG])
    assert r.returncode == 0
    r = run_spd(
        ["plan", CONFIG, "--local", "--local-state", str(tmp_path / "e.json")], env={"SPD_INTERVAL": "-1"}
    )
    assert r.returncode == 78
    assert "environment: SPD_INTERVAL: Input should be greater than 0" in r.stderr
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize(
    ("text", "env", "expected", "absent"),
    [
        pytest.param(
            "intervall: 3\nrate_limits: {DescribeStreamProcessr: 3}\n",
            {},
            [
                "{settings}:1:1: intervall: unknown setting; did you mean 'interval'?",
                "unknown operation 'DescribeStreamProcessr'",
            ],
            [],
            id="misspelt-setting-gets-a-suggestion",
        ),
        pytest.param(
            "# comment\nintervall: 3\ninterval: -1\nprune: yes\n",
            {},
            [
                "{settings}:2:1: intervall: unknown setting; did you mean 'interval'?",
                "{settings}:3:11: interval: Input should be greater than 0",
                "{settings}:4:8: prune: got `yes`, which YAML 1.1 reads as a boolean",
            ],
            [],
            id="every-error-located",
        ),
        pytest.param(
            "interval: 3\ninterval: 4\n",
            {},
            ["{settings}:2:1: interval: duplicate key 'interval' (first defined at line 1)"],
            [],
            id="yaml-error-located",
        ),
        pytest.param(
            "interval: 5m\ngrace_period: 5 minutes\nha:\n  lease_seconds: 1h30\n",
            {"SPD_POLL_INTERVAL": "2 s"},
            [
                "environment: SPD_POLL_INTERVAL: expected seconds or a duration such as 90s, 5m",
                "{settings}:2:15: grace_period: expected seconds or a duration",
                "{settings}:4:18: ha.lease_seconds: expected seconds or a duration",
            ],
            # `interval: 5m` is a duration: nothing is said about it.
            [" interval:"],
            id="seconds-that-are-no-duration-located",
        ),
    ],
)
def test_settings_file_errors_exit_78_located(
    tmp_path: Path, text: str, env: dict[str, str], expected: list[str], absent: list[str]
) -> None:
    """Each error of a settings file (or a variable) is one line naming its file, line and column."""
    settings = tmp_path / "settings.yaml"
    settings.write_text(text)
    r = run_spd(
        ["plan", CONFIG, "--settings", str(settings), "--local", "--local-state", str(tmp_path / "e.json")],
        env=env,
    )
    assert r.returncode == 78, r.stderr
    for line in expected:
        assert line.format(settings=settings) in r.stderr, (line, r.stderr)
    for unwanted in absent:
        assert unwanted not in r.stderr, (unwanted, r.stderr)
    assert "Traceback" not in r.stderr


def test_unknown_environment_variable_is_a_warning_with_a_suggestion(tmp_path):
    r = run_spd(
        ["plan", CONFIG, "--local", "--local-state", str(tmp_path / "e.json")],
        env={"SPD_INTERVALL": "3", "SPD_RATE_LIMITS__ListStreamProcessors": "7", "SPD_FROBNICATE": "1"},
    )
    assert r.returncode == 0, r.stderr
    assert (
        "environment: SPD_INTERVALL: warning: unknown setting, ignored; did you mean SPD_INTERVAL?"
        in r.stderr
    )
    assert "environment: SPD_FROBNICATE: warning: unknown setting, ignored" in r.stderr
    assert "SPD_RATE_LIMITS" not in r.stderr
    assert "SPD_POLL_INTERVAL" not in r.stderr


def test_example_settings_file_names_the_units_spec_directory():
    unit = (Path(CONFIG).parent / "systemd" / "spd.service").read_text()
    example = (Path(CONFIG) / "settings" / "spd-settings.yaml").read_text()
    from spd.config.settings import Settings, load_settings

    assert "Environment=SPD_SPEC=/etc/spd/spec.d\n" in unit
    assert Settings.model_fields["spec"].default == Path("/etc/spd/spec.d")
    assert load_settings(Path(CONFIG) / "settings" / "spd-settings.yaml", environ={}).spec == Path(
        "/etc/spd/spec.d"
    )
    assert "spec: /etc/spd/spec.d " in example
