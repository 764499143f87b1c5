"""The control API: settings, reset, latency, TPS quotas, fault injection and statistics.

Every test here needs the emulator (`control` fixture), so a live contract run skips them all.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from spd.emulator.testing import EmulatorControlError


def _describe_missing(target: Any) -> None:
    with target.error("ResourceNotFoundException", 400):
        target.client.describe_stream_processor(Name="missing")


# -- settings -------------------------------------------------------------------------------------------


def test_config_defaults_after_reset(control: Any) -> None:
    control.reset()
    config = control.config()
    assert config["transition_seconds"] == 1.0
    assert config["name_reuse_seconds"] == 2.0
    assert config["delete_seconds"] == 0.5
    assert config["max_processors"] == 10000
    assert config["latency_ms"] == 0.0
    assert config["tps"] == {}
    assert config["page_size"] == 1000
    assert config["max_tags"] == 50
    assert config["strict_references"] is True
    assert config["timing_profile"] == "fast"
    assert config["throttling_status"] == 500


def test_config_changes_merge(control: Any) -> None:
    control.configure(max_processors=5)
    config = control.configure(
        tps={"DescribeStreamProcessor": 10}, latency_ms={"*": 0, "ListStreamProcessors": 0}
    )
    assert config["max_processors"] == 5
    assert config["tps"] == {"DescribeStreamProcessor": 10.0}
    assert control.config() == config


@pytest.mark.parametrize(
    ("settings", "mentions"),
    [
        ({"no_such_setting": 1}, "no_such_setting"),
        ({"transition_seconds": -1}, "transition_seconds"),
        ({"transition_seconds": "fast"}, "transition_seconds"),
        ({"max_processors": 1.5}, "max_processors"),
        ({"tps": {"DescribeStreamProcessors": 1}}, "DescribeStreamProcessors"),
        ({"tps": {"DescribeStreamProcessor": 0}}, "tps"),
        ({"latency_ms": {"Bogus": 1}}, "Bogus"),
        ({"latency_ms": -5}, "latency_ms"),
        ({"throttling_status": 200}, "throttling_status"),
        ({"coordinate_checks": "yes"}, "coordinate_checks"),
        ({"start_allowed_in": ["STOPPED", "PAUSED"]}, "PAUSED"),
        ({"delete_allowed_in": "STOPPED"}, "delete_allowed_in"),
        ({"validation_error": "TeapotException"}, "validation_error"),
        ({"default_max_duration_seconds": 121}, "default_max_duration_seconds"),
        ({"polygon_min_points": 11}, "polygon_min_points"),
    ],
)
def test_config_errors(control: Any, settings: dict[str, Any], mentions: str) -> None:
    before = control.config()
    with pytest.raises(EmulatorControlError) as info:
        control.configure(**settings)
    assert info.value.status == 400
    assert mentions in info.value.body["error"]
    assert control.config() == before


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("PUT", "config", b"[1, 2]", 400),
        ("PUT", "config", b"{not json", 400),
        ("GET", "nothing-here", None, 404),
        ("GET", "reset", None, 405),
        ("PUT", "faults", b"{}", 405),
    ],
)
def test_control_api_errors(control: Any, method: str, path: str, body: bytes | None, status: int) -> None:
    request = urllib.request.Request(f"{control.url}/_emulator/{path}", data=body, method=method)
    with pytest.raises(urllib.error.HTTPError) as info:
        urllib.request.urlopen(request, timeout=10)
    assert info.value.code == status
    assert "error" in json.loads(info.value.read())


def test_reset_forgets_processors_settings_and_other_services(target: Any, control: Any) -> None:
    target.create_face_search("faces")
    control.configure(max_processors=3)
    control.fault("CreateStreamProcessor", "ThrottlingException", count=5)
    kinesis = control.client(service="kinesis")
    kinesis.create_stream(StreamName="reset-me", ShardCount=1)
    control.reset()
    assert control.stats()["calls"] == {}
    assert control.config()["max_processors"] == 10000
    assert control.control("GET", "faults") == {"faults": []}
    assert target.client.list_stream_processors()["StreamProcessors"] == []
    assert "reset-me" not in kinesis.list_streams()["StreamNames"]


def test_processors_endpoint_lists_every_region(target: Any, control: Any) -> None:
    target.create_face_search("faces")
    control.client("eu-west-1").create_stream_processor(**target.face_search_request("porch"))
    listed = control.processors()
    assert {(p["Region"], p["Name"], p["Status"]) for p in listed} == {
        ("us-east-1", "faces", "STOPPED"),
        ("eu-west-1", "porch", "STOPPED"),
    }


# -- latency and quotas ---------------------------------------------------------------------------------


@pytest.mark.parametrize("latency", [250, {"DescribeStreamProcessor": 250}, {"*": 250}])
def test_latency_is_added(target: Any, control: Any, latency: Any) -> None:
    control.configure(latency_ms=latency)
    started = time.monotonic()
    _describe_missing(target)
    assert time.monotonic() - started >= 0.25


def test_tps_quota_throttles_one_operation(target: Any, control: Any) -> None:
    # 0.01 requests a second: one call fits in the bucket, the next would need 100 s.
    control.configure(tps={"DescribeStreamProcessor": 0.01})
    _describe_missing(target)
    with target.error("ProvisionedThroughputExceededException", 400, "Provisioned Rate exceeded"):
        target.client.describe_stream_processor(Name="missing")
    target.client.list_stream_processors()
    target.client.list_stream_processors()
    stats = control.stats()
    assert stats["throttled"] == {"DescribeStreamProcessor": 1}
    assert stats["calls"]["DescribeStreamProcessor"] == 2


def test_tps_wildcard_applies_to_every_operation(target: Any, control: Any) -> None:
    control.configure(tps={"*": 0.01})
    target.client.list_stream_processors()
    with target.error("ProvisionedThroughputExceededException", 400):
        target.client.list_stream_processors()
    _describe_missing(target)  # each operation has its own bucket


def test_tps_quota_is_per_region(target: Any, control: Any) -> None:
    control.configure(tps={"ListStreamProcessors": 0.01})
    target.client.list_stream_processors()
    control.client("eu-west-1").list_stream_processors()


# -- faults ---------------------------------------------------------------------------------------------


def test_counted_fault(target: Any, control: Any) -> None:
    name = target.create_face_search("faces")
    fault = control.fault("StartStreamProcessor", "ThrottlingException", count=3)
    assert fault["count"] == 3
    for _ in range(3):
        with target.error("ThrottlingException", 500):
            target.client.start_stream_processor(Name=name)
    assert target.status(name) == "STOPPED", "a faulted call must not reach the service"
    target.client.start_stream_processor(Name=name)
    stats = control.stats()
    assert stats["injected"] == {"StartStreamProcessor": 3}
    assert stats["errors"]["StartStreamProcessor"] == 3
    assert stats["error_codes"]["ThrottlingException"] == 3
    assert control.control("GET", "faults") == {"faults": []}


def test_fault_on_every_operation_until_cleared(target: Any, control: Any) -> None:
    control.fault("*", "InternalServerError", rate=1.0)
    with target.error("InternalServerError", 500):
        target.client.list_stream_processors()
    with target.error("InternalServerError", 500):
        target.client.create_stream_processor(**target.face_search_request("faces"))
    control.clear_faults()
    target.client.list_stream_processors()
    assert target.client.list_stream_processors()["StreamProcessors"] == []


def test_fault_rate_with_a_seed_is_reproducible(target: Any, control: Any) -> None:
    def outcomes() -> list[bool]:
        control.reset()
        control.configure(random_seed=7)
        control.fault("ListStreamProcessors", "ThrottlingException", rate=0.5)
        results = []
        for _ in range(40):
            try:
                target.client.list_stream_processors()
                results.append(True)
            except target.client.exceptions.ThrottlingException:
                results.append(False)
        return results

    first = outcomes()
    assert 0 < first.count(False) < 40
    assert outcomes() == first


def test_fault_message_and_status(target: Any, control: Any) -> None:
    control.fault("DescribeStreamProcessor", "AccessDeniedException", count=1, message="no way")
    with target.error("AccessDeniedException", 400, "no way"):
        target.client.describe_stream_processor(Name="x")
    control.fault("DescribeStreamProcessor", "ResourceInUseException", count=1, status=409)
    with target.error("ResourceInUseException", 409):
        target.client.describe_stream_processor(Name="x")


def test_throttling_status_is_a_setting(target: Any, control: Any) -> None:
    control.configure(throttling_status=400)
    control.fault("ListStreamProcessors", "ThrottlingException", count=1)
    with target.error("ThrottlingException", 400):
        target.client.list_stream_processors()


@pytest.mark.parametrize(
    "spec",
    [
        {"operation": "ListStreamProcessors", "error": "NoSuchError", "count": 1},
        {"operation": "ListStreamProcessor", "error": "ThrottlingException", "count": 1},
        {"operation": "ListStreamProcessors", "error": "ThrottlingException"},
        {"operation": "ListStreamProcessors", "error": "ThrottlingException", "rate": 0},
        {"operation": "ListStreamProcessors", "error": "ThrottlingException", "rate": 1.5},
        {"operation": "ListStreamProcessors", "error": "ThrottlingException", "count": 0},
        {"operation": "ListStreamProcessors", "error": "ThrottlingException", "count": 1, "colour": "red"},
    ],
)
def test_fault_errors(control: Any, spec: dict[str, Any]) -> None:
    with pytest.raises(EmulatorControlError) as info:
        control.control("POST", "faults", spec)
    assert info.value.status == 400
    assert control.control("GET", "faults") == {"faults": []}


# -- statistics -----------------------------------------------------------------------------------------


def test_stats_count_calls_and_errors(target: Any, control: Any) -> None:
    name = target.create_face_search("faces")
    target.describe(name)
    target.describe(name)
    _describe_missing(target)
    stats = control.stats()
    assert stats["calls"] == {"CreateStreamProcessor": 1, "DescribeStreamProcessor": 3}
    assert stats["errors"] == {"DescribeStreamProcessor": 1}
    assert stats["error_codes"] == {"ResourceNotFoundException": 1}
    assert stats["throttled"] == {}
    control.control("DELETE", "stats")
    assert control.stats()["calls"] == {}
