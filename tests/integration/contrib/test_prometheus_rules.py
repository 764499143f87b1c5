"""contrib/prometheus: the alert rules pass `promtool check rules`, their unit tests (series written in
contrib/prometheus/tests/) pass `promtool test rules`, a broken rule makes those tests fail, and every
expression reads series the daemon exports, or the two documented ones of features still to come.

promtool comes with Debian's `prometheus` package; .ci/run installs it. Outside CI a machine without it
skips these tests; in CI (`CI` set to true) a missing promtool is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from ruamel.yaml import YAML

from promql import exported_series, metric_names

ROOT = Path(__file__).resolve().parents[3]
RULES_DIR = ROOT / "contrib" / "prometheus"
RULE_FILES = sorted(RULES_DIR.glob("*alerts.yaml"))
TEST_FILES = sorted((RULES_DIR / "tests").glob("*.test.yaml"))

# Metrics of features still to come, named as their design documents them (docs/guides/monitoring.md,
# "Dashboards and alerts"); the rules that read them are written ahead of the features.
UPCOMING = {
    "spd_sessions_total": "connected-home sessions",
}
PROMETHEUS_OWN = {"up"}


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is not None:
        return found
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail("promtool is missing in CI: .ci/run installs Debian's prometheus package for it")
    pytest.skip("promtool is not installed (Debian: apt-get install prometheus)")


def _run(*args: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [_promtool(), *map(str, args)], cwd=cwd, capture_output=True, text=True, timeout=120, check=False
    )


def _load(path: Path) -> Any:
    return YAML(typ="safe", pure=True).load(path.read_text(encoding="utf-8"))


def _rules(path: Path) -> list[dict[str, Any]]:
    return [rule for group in _load(path)["groups"] for rule in group["rules"]]


def test_the_rule_files_are_the_expected_ones() -> None:
    assert [p.name for p in RULE_FILES] == ["spd-alerts.yaml", "spd-leader-alerts.yaml"]
    assert [p.name for p in TEST_FILES] == ["spd-alerts.test.yaml", "spd-leader-alerts.test.yaml"]


def test_promtool_checks_the_rules() -> None:
    result = _run("check", "rules", *RULE_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(RULE_FILES)


def test_promtool_unit_tests_of_the_rules_pass() -> None:
    result = _run("test", "rules", *TEST_FILES)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(TEST_FILES)


def test_every_alert_is_seen_firing_by_the_unit_tests() -> None:
    alerts = {rule["alert"] for path in RULE_FILES for rule in _rules(path)}
    fired = {
        check["alertname"]
        for path in TEST_FILES
        for test in _load(path)["tests"]
        for check in test.get("alert_rule_test", [])
        if check.get("exp_alerts")
    }
    assert fired == alerts


def test_a_broken_rule_fails_the_unit_tests(tmp_path: Path) -> None:
    """The unit tests can fail: SpdProcessorFailed waiting 5 minutes instead of 15 is caught."""
    copy = tmp_path / "prometheus"
    shutil.copytree(RULES_DIR, copy)
    rules = copy / "spd-alerts.yaml"
    text = rules.read_text()
    failed = text.index("alert: SpdProcessorFailed")
    wait = text.index("for: 15m", failed)
    rules.write_text(text[:wait] + "for: 5m" + text[wait + len("for: 15m") :])
    result = _run("test", "rules", "tests/spd-alerts.test.yaml", cwd=copy)
    assert result.returncode != 0
    assert "alertname: SpdProcessorFailed" in result.stdout + result.stderr


def test_every_expression_reads_series_the_daemon_exports() -> None:
    allowed = exported_series() | set(UPCOMING) | PROMETHEUS_OWN
    used: set[str] = set()
    for path in RULE_FILES:
        for rule in _rules(path):
            names = metric_names(rule["expr"])
            assert names, rule["alert"]
            assert names <= allowed, f"{rule['alert']}: {sorted(names - allowed)} not exported"
            used |= names
    assert set(UPCOMING) <= used
