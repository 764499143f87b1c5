"""Small constructors of domain values for tests: a valid processor with one field changed."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from spd.model import (
    STACK_TAG,
    BoundingBox,
    ConnectedHome,
    DesiredProcessor,
    DesiredState,
    FaceSearch,
    ObservedProcessor,
    ProcessorConfig,
    ProcessorId,
    RunState,
    Status,
    canonical_tags,
)

REGION = "us-east-1"
ACCOUNT = "111122223333"
STACK = "test-stack"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition"


def kvs(name: str, region: str = REGION) -> str:
    return f"arn:aws:kinesisvideo:{region}:{ACCOUNT}:stream/{name}/1700000000000"


def kds(name: str, region: str = REGION) -> str:
    return f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}"


def sns(name: str, region: str = REGION) -> str:
    return f"arn:aws:sns:{region}:{ACCOUNT}:{name}"


def face_config(name: str, **changes: Any) -> ProcessorConfig:
    base = ProcessorConfig(
        name=name,
        region=changes.pop("region", REGION),
        role_arn=ROLE,
        kinesis_video_stream_arn=kvs(name),
        settings=FaceSearch("staff", 85.0),
        kinesis_data_stream_arn=kds(name),
    )
    return replace(base, **changes)


def home_config(name: str, **changes: Any) -> ProcessorConfig:
    base = ProcessorConfig(
        name=name,
        region=changes.pop("region", REGION),
        role_arn=ROLE,
        kinesis_video_stream_arn=kvs(name),
        settings=ConnectedHome(("PERSON",), 60.0),
        s3_bucket="spd-results",
        s3_key_prefix=f"{name}/",
        sns_topic_arn=sns("AmazonRekognitionTopic"),
        regions_of_interest=(BoundingBox(0.1, 0.1, 0.5, 0.5),),
    )
    return replace(base, **changes)


def desired(
    config: ProcessorConfig,
    *,
    run_state: RunState | None = None,
    tags: dict[str, str] | None = None,
    stack: str = STACK,
    protect: bool = False,
) -> DesiredProcessor:
    if run_state is None:
        run_state = RunState.RUNNING if isinstance(config.settings, FaceSearch) else RunState.STOPPED
    all_tags = {**(tags or {}), STACK_TAG: stack}
    return DesiredProcessor(config, run_state, canonical_tags(all_tags), protect=protect)


def observed(
    config: ProcessorConfig,
    status: Status = Status.STOPPED,
    *,
    tags: dict[str, str] | None = None,
    stack: str | None = STACK,
    message: str | None = None,
) -> ObservedProcessor:
    all_tags = dict(tags or {})
    if stack is not None:
        all_tags[STACK_TAG] = stack
    return ObservedProcessor(
        ProcessorId(config.region, config.name),
        status,
        arn=f"arn:aws:rekognition:{config.region}:{ACCOUNT}:streamprocessor/{config.name}",
        status_message=message,
        config=config,
        tags=canonical_tags(all_tags),
    )


def state(*processors: DesiredProcessor, stack: str = STACK) -> DesiredState:
    return DesiredState(stack, tuple(processors))


def create_references(emulator: Any, *configs: ProcessorConfig) -> None:
    """Create in `emulator` (an `spd.emulator.testing.EmulatorControl`) what these processors reference,
    so that they run under its strict references, as in an account set up for them."""
    from spd.aws.mapping import create_request

    for config in configs:
        emulator.create_references(create_request(config, {}), region=config.region)
