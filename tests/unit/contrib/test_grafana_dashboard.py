"""contrib/grafana/spd-dashboard.json: valid JSON that Grafana can import, and every panel queries series
a daemon really exports (the names registered by spd.daemon.metrics) with label values spd really uses.
Nothing is started: the names come from the registry the daemon builds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from promql import exported_series, matchers, metric_names
from spd import events
from spd.daemon.metrics import ABSENT
from spd.daemon.passes import FULL, SWEEP
from spd.model import Status

DASHBOARD = Path(__file__).resolve().parents[3] / "contrib" / "grafana" / "spd-dashboard.json"

EVENTS = {value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
LABEL_VALUES = {
    "status": {str(s) for s in Status} | {ABSENT},
    "kind": {FULL, SWEEP},
    "event": EVENTS,
    "outcome": {"ok", "failed", "throttled", "error"},
}


@pytest.fixture(scope="module")
def dashboard() -> dict[str, Any]:
    return json.loads(DASHBOARD.read_text(encoding="utf-8"))


def _panels(dashboard: dict[str, Any]) -> list[dict[str, Any]]:
    panels = []
    for panel in dashboard["panels"]:
        panels += [panel, *panel.get("panels", [])]  # rows may nest panels
    return [p for p in panels if p.get("type") != "row"]


def test_the_dashboard_is_an_importable_grafana_dashboard(dashboard: dict[str, Any]) -> None:
    assert dashboard["uid"]
    assert dashboard["title"]
    assert isinstance(dashboard["schemaVersion"], int)
    panels = _panels(dashboard)
    assert len(panels) >= 10
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    variables = {v["name"] for v in dashboard["templating"]["list"]}
    assert variables == {"datasource", "instance"}
    for panel in panels:
        assert panel["targets"], panel["title"]
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"]["uid"] == "${datasource}"


def test_every_panel_queries_series_the_daemon_exports(dashboard: dict[str, Any]) -> None:
    exported = exported_series()
    used: set[str] = set()
    for panel in _panels(dashboard):
        for target in panel["targets"]:
            names = metric_names(target["expr"])
            assert names, f"{panel['title']}: no metric in {target['expr']!r}"
            assert names <= exported, f"{panel['title']}: {sorted(names - exported)} not exported"
            used |= names
    variable = next(v for v in dashboard["templating"]["list"] if v["name"] == "instance")
    query = re.fullmatch(r"label_values\((\w+), instance\)", variable["query"]["query"])
    assert query
    assert query.group(1) in exported
    # Every spd metric the daemon exports (docs/reference/metrics.md) is on the dashboard.
    spd_metrics = {n for n in exported if n.startswith("spd_") and not n.endswith("_created")}
    families = {re.sub(r"_(bucket|sum|count)$", "", n) for n in spd_metrics}
    assert families <= {re.sub(r"_(bucket|sum|count)$", "", n) for n in used}


def test_every_label_value_the_panels_match_is_one_spd_uses(dashboard: dict[str, Any]) -> None:
    for panel in _panels(dashboard):
        for target in panel["targets"]:
            for label, op, value in matchers(target["expr"]):
                if label not in LABEL_VALUES or "$" in value:
                    continue
                values = value.split("|") if op in ("=~", "!~") else [value]
                assert set(values) <= LABEL_VALUES[label], f"{panel['title']}: {label}{op}{value!r}"
