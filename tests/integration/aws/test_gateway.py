"""The gateway against the emulator over HTTP: pacing, throttling feedback, error translation."""

from __future__ import annotations

import pytest

from builders import face_config
from spd.aws.gateway import Gateway
from spd.errors import EndpointError, NotFoundError, PermanentAwsError
from spd.model import STACK_TAG, Status


async def test_create_describe_round_trip_is_canonical(emu):
    config = face_config("cam")
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        client = await gw.region("us-east-1")
        await client.create(config, {STACK_TAG: "s", "team": "vision"})
        seen = await client.describe("cam")
    assert seen.config == config
    assert seen.stack() == "s"
    assert seen.status is Status.STOPPED
    assert seen.arn is not None
    assert seen.arn.endswith(":streamprocessor/cam")


async def test_throttling_slows_the_whole_operation_and_is_retried(emu):
    emu.client().create_stream_processor(
        Name="cam",
        Input={"KinesisVideoStream": {"Arn": "arn:aws:kinesisvideo:us-east-1:111122223333:stream/cam/1"}},
        Output={"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:111122223333:stream/cam"}},
        Settings={"FaceSearch": {"CollectionId": "staff"}},
        RoleArn="arn:aws:iam::111122223333:role/R",
    )
    emu.fault(operation="DescribeStreamProcessor", error="ProvisionedThroughputExceededException", count=2)
    async with Gateway.open(
        endpoint_url=emu.url, max_attempts=5, rate_limits={"DescribeStreamProcessor": 50}
    ) as gw:
        client = await gw.region("us-east-1")
        seen = await client.describe("cam", with_tags=False)
        assert seen.name == "cam"
        assert gw.limiter.slowdowns == 2
        current = gw.limiter.current_rate("DescribeStreamProcessor")
        assert current is not None
        assert current < 50
        assert gw.stats.outcomes[("DescribeStreamProcessor", "throttled")] == 2
        assert gw.stats.calls["DescribeStreamProcessor"] == 3


async def test_errors_are_translated(emu):
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        client = await gw.region("us-east-1")
        with pytest.raises(NotFoundError):
            await client.describe("missing")
        emu.fault(operation="StartStreamProcessor", error="AccessDeniedException", count=1)
        with pytest.raises(PermanentAwsError) as info:
            await client.start("missing")
        assert info.value.code == "AccessDeniedException"


async def test_unreachable_endpoint_is_an_endpoint_error():
    async with Gateway.open(endpoint_url="http://127.0.0.1:9", max_attempts=1) as gw:
        client = await gw.region("us-east-1")
        with pytest.raises(EndpointError):
            await client.list_statuses()
