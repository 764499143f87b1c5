"""Typed errors at the edge, the retry table, and the idempotent forms of each step (emulator over HTTP)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from builders import face_config, kvs
from spd.aws.gateway import Gateway
from spd.errors import (
    AccessDeniedError,
    BusyError,
    InvalidParameterError,
    LimitReachedError,
    NameInUseError,
    NotFoundError,
    ServiceUnavailableError,
    StreamInUseError,
    ThrottledError,
)
from spd.model import STACK_TAG

SPD = Path(__file__).resolve().parents[3] / "spd"


async def test_a_create_over_the_processor_limit_is_sent_once_and_reported_as_limit_reached(emu):
    """botocore's standard mode would retry LimitExceededException; for processors it is final."""
    emu.configure(max_processors=1)
    async with Gateway.open(endpoint_url=emu.url, max_attempts=5) as gw:
        client = await gw.region("us-east-1")
        await client.create(face_config("a"), {STACK_TAG: "s"})
        emu.clear_stats()
        with pytest.raises(LimitReachedError) as info:
            await client.create(face_config("b"), {STACK_TAG: "s"})
        assert gw.stats.calls["CreateStreamProcessor"] == 2
    assert emu.stats()["calls"]["CreateStreamProcessor"] == 1
    assert not info.value.temporary
    assert "limit" in str(info.value)


async def test_throttling_past_botocores_attempts_is_temporary_with_a_delay(emu):
    emu.fault(operation="DescribeStreamProcessor", error="ThrottlingException", count=2)
    emu.fault(operation="ListStreamProcessors", error="InternalServerError", count=2)
    async with Gateway.open(endpoint_url=emu.url, max_attempts=2) as gw:
        client = await gw.region("us-east-1")
        with pytest.raises(ThrottledError) as throttled:
            await client.describe("cam")
        with pytest.raises(ServiceUnavailableError) as unavailable:
            await client.list_statuses()
    assert emu.stats()["calls"]["DescribeStreamProcessor"] == 2  # botocore did retry these
    assert throttled.value.temporary
    assert throttled.value.retry_after is not None
    assert throttled.value.retry_after > 0
    assert unavailable.value.temporary


async def test_each_service_error_has_its_type(emu):
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        client = await gw.region("us-east-1")
        await client.create(face_config("cam"), {STACK_TAG: "s"})
        with pytest.raises(NameInUseError) as name:
            await client.create(face_config("cam"), {STACK_TAG: "s"})
        assert name.value.temporary
        same_stream = face_config("other", kinesis_video_stream_arn=kvs("cam"))
        with pytest.raises(StreamInUseError) as stream:
            await client.create(same_stream, {STACK_TAG: "s"})
        assert not stream.value.temporary
        with pytest.raises(BusyError) as busy:
            await client.stop("cam")  # STOPPED: "not available for stopping"
        assert busy.value.temporary
        with pytest.raises(NotFoundError):
            await client.describe("missing")
        emu.fault(operation="StartStreamProcessor", error="AccessDeniedException", count=1)
        with pytest.raises(AccessDeniedError):
            await client.start("cam")
        emu.fault(operation="StartStreamProcessor", error="InvalidParameterException", count=1)
        with pytest.raises(InvalidParameterError):
            await client.start("cam")


async def test_steps_that_find_the_work_done_succeed(emu):
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        client = await gw.region("us-east-1")
        first = await client.ensure_created(face_config("cam"), {STACK_TAG: "s"})
        assert first.existing is None
        assert first.arn is not None
        again = await client.ensure_created(face_config("cam"), {STACK_TAG: "s"})
        assert again.existing is not None
        assert again.existing.stack() == "s"
        assert again.arn == first.arn
        assert await client.ensure_stopped("cam") is False
        assert await client.ensure_started("cam") is True
        assert await client.ensure_started("cam") is False
        assert await client.ensure_deleted("missing") is False
    assert emu.stats()["calls"]["StartStreamProcessor"] == 2


async def test_a_reserved_name_is_a_temporary_name_in_use(emu):
    emu.configure(name_reuse_seconds=30)
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        client = await gw.region("us-east-1")
        await client.create(face_config("cam"), {STACK_TAG: "s"})
        assert await client.ensure_deleted("cam") is True
        for _ in range(200):  # the emulator removes it after delete_seconds (FAST_TIMINGS)
            if await client.status("cam") is None:
                break
            await asyncio.sleep(0.02)
        with pytest.raises(NameInUseError):
            await client.ensure_created(face_config("cam"), {STACK_TAG: "s"})
        assert await client.status("cam") is None


def test_nothing_outside_the_edge_reads_error_codes_or_messages():
    """Error codes and messages are read in spd/aws only; the rest catches types or reads `temporary`."""
    pattern = re.compile(r"""\.code\s*[!=]=|\.message\.|["'][A-Za-z]+Exception["']""")
    offenders = []
    for path in sorted(SPD.rglob("*.py")):
        relative = path.relative_to(SPD).as_posix()
        if relative.startswith(("aws/", "emulator/", "api/")) or relative == "reconcile/fake_gateway.py":
            continue  # the edge, the emulator, the API's model, and the fake that stands in for the edge
        for number, line in enumerate(path.read_text().splitlines(), 1):
            if pattern.search(line):
                offenders.append(f"spd/{relative}:{number}: {line.strip()}")
    assert offenders == []
