"""The region spd falls back to is decided once (`spd.config.fallback_region`), from the environment the caller
injects, and every place that needs one asks it: the lease table, the SQS readers, the event-bus sink
and the daemon's IAM policy."""

from __future__ import annotations

import ast
import asyncio
from pathlib import Path
from typing import Any

import pytest

from builders import state
from spd.checks.iam_policy import daemon_policy
from spd.config.settings import HaSettings, Settings
from spd.config.sink_settings import EventSinkSettings
from spd.daemon.leader import lease_region
from spd.daemon.sinks import EventBridgePublisher

SPD = Path(__file__).resolve().parents[3] / "spd"
QUEUE = "http://127.0.0.1:9324/000000000000/watch"


def test_the_rule_regions_then_the_environment_then_us_east_1() -> None:
    from spd.config.fallback_region import fallback_region

    assert fallback_region({"AWS_REGION": "eu-west-1"}, ["us-west-2", "ap-south-1"]) == "ap-south-1"
    assert fallback_region({"AWS_REGION": "eu-west-1", "AWS_DEFAULT_REGION": "eu-north-1"}) == "eu-west-1"
    assert fallback_region({"AWS_DEFAULT_REGION": "eu-north-1"}) == "eu-north-1"
    assert fallback_region({"AWS_REGION": ""}) == "us-east-1"
    assert fallback_region({}) == "us-east-1"


@pytest.fixture
def process_says_elsewhere(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process environment disagrees with the injected one: only the injected one may count."""
    monkeypatch.setenv("AWS_REGION", "sa-east-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "sa-east-1")


def test_the_lease_table_region_comes_from_the_injected_environment(process_says_elsewhere: None) -> None:
    ha = HaSettings(table="leases")
    assert lease_region(ha, [], {"AWS_DEFAULT_REGION": "eu-west-1"}) == "eu-west-1"
    assert lease_region(ha, [], {}) == "us-east-1"
    assert lease_region(ha, ["us-west-2", "eu-central-1"], {"AWS_REGION": "eu-west-1"}) == "eu-central-1"
    assert (
        lease_region(HaSettings(table="leases", region="ca-central-1"), ["us-west-2"], {}) == "ca-central-1"
    )


def test_the_daemon_policy_grants_queues_in_the_fallback_region(process_says_elsewhere: None) -> None:
    settings = Settings(watch_queue_url=QUEUE)
    empty = state()
    policy = daemon_policy(empty, settings, environ={"AWS_REGION": "eu-west-1"})
    queues = next(s for s in policy["Statement"] if s["Sid"] == "ReadQueues")["Resource"]
    assert queues
    assert all(":eu-west-1:" in arn for arn in queues), queues


class _Events:
    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    async def put_events(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(kwargs)
        return {"FailedEntryCount": 0}


class _Gateway:
    def __init__(self) -> None:
        self.regions: list[str] = []
        self.client = _Events()

    async def service_client(self, service: str, region: str) -> _Events:
        self.regions.append(region)
        return self.client


def test_an_event_about_no_processor_goes_to_the_fallback_region_bus() -> None:
    from spd.config.fallback_region import fallback_region

    gateway = _Gateway()
    entry = EventSinkSettings(type="eventbridge", bus="spd-events")
    publisher = EventBridgePublisher(gateway, entry, "bus", fallback_region({"AWS_REGION": "eu-west-1"}))  # type: ignore[arg-type]
    asyncio.run(publisher.deliver({"type": "io.spd.reload", "data": {}}, b"{}"))
    asyncio.run(publisher.deliver({"type": "io.spd.drift", "data": {"region": "us-west-2"}}, b"{}"))
    assert gateway.regions == ["eu-west-1", "us-west-2"]


def _string_constants(path: Path) -> set[str]:
    return {
        n.value
        for n in ast.walk(ast.parse(path.read_text()))
        if isinstance(n, ast.Constant) and isinstance(n.value, str)
    }


def test_no_other_module_keeps_its_own_fallback() -> None:
    """A second copy (a "us-east-1" default, a read of AWS_REGION) outside `spd.config.fallback_region` fails
    this. The emulator is AWS's stand-in, whose own defaults are the service's, not spd's."""
    words = {"us-east-1", "AWS_REGION", "AWS_DEFAULT_REGION"}
    found = {
        str(path.relative_to(SPD)): sorted(words & _string_constants(path))
        for path in SPD.rglob("*.py")
        if "emulator" not in path.parts and path.name != "fallback_region.py"
    }
    assert {k: v for k, v in found.items() if v} == {}
