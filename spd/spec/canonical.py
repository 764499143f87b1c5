"""Turns validated spec models into the canonical desired state the planner compares with AWS.

Called by `spd.spec.loader` once a spec has no errors. Applies the spec's own defaults (run state by
kind, data sharing and protect off) and adds the `spd:stack` ownership tag; the `spd.model` classes do
the rest of the normalisation (float32 rounding, thresholds below 80, label and region order).
"""

from __future__ import annotations

from typing import TypeVar

from spd.model import (
    DEFAULT_DATA_SHARING,
    DEFAULT_FACE_MATCH_THRESHOLD,
    DEFAULT_MIN_CONFIDENCE,
    STACK_TAG,
    BoundingBox,
    ConnectedHome,
    DesiredProcessor,
    FaceSearch,
    Kind,
    Point,
    Polygon,
    ProcessorConfig,
    RegionOfInterest,
    RunState,
    Settings,
    SourceLocation,
    canonical_tags,
)
from spd.spec.schema import ProcessorSpec, RegionOfInterestSpec
from spd.spec.session_rules import session_policy

T = TypeVar("T")


def _required(value: T | None, key: str, name: str) -> T:
    if value is None:  # the rules in spd.spec.validate make this unreachable for a valid spec
        raise ValueError(f"processor {name!r}: {key} is missing after validation")
    return value


def desired_processor(spec: ProcessorSpec, stack: str, source: SourceLocation) -> DesiredProcessor:
    settings: Settings
    if spec.face_search is not None:
        threshold = spec.face_search.face_match_threshold
        settings = FaceSearch(
            collection_id=spec.face_search.collection_id,
            face_match_threshold=DEFAULT_FACE_MATCH_THRESHOLD if threshold is None else threshold,
        )
        default_state = RunState.RUNNING
    else:
        home = _required(spec.connected_home, "connected_home", spec.name)
        confidence = home.min_confidence
        settings = ConnectedHome(
            labels=tuple(home.labels),
            min_confidence=DEFAULT_MIN_CONFIDENCE if confidence is None else confidence,
        )
        default_state = RunState.STOPPED
    output = spec.output
    channel = spec.notification_channel
    config = ProcessorConfig(
        name=spec.name,
        region=_required(spec.region, "region", spec.name),
        role_arn=_required(spec.role_arn, "role_arn", spec.name),
        kinesis_video_stream_arn=_required(spec.input, "input", spec.name).kinesis_video_stream_arn,
        settings=settings,
        kinesis_data_stream_arn=output.kinesis_data_stream_arn if output else None,
        s3_bucket=output.s3_bucket if output else None,
        s3_key_prefix=output.s3_key_prefix if output else None,
        sns_topic_arn=channel.sns_topic_arn if channel else None,
        kms_key_id=spec.kms_key_id,
        regions_of_interest=tuple(_region(r) for r in spec.regions_of_interest or ()),
        data_sharing=DEFAULT_DATA_SHARING if spec.data_sharing is None else spec.data_sharing,
    )
    return DesiredProcessor(
        config=config,
        run_state=RunState(spec.desired_state) if spec.desired_state else default_state,
        tags=canonical_tags({**(spec.tags or {}), STACK_TAG: stack}),
        protect=bool(spec.protect),
        source=source,
        sessions=session_policy(spec.sessions) if config.kind is Kind.CONNECTED_HOME else None,
    )


def _region(spec: RegionOfInterestSpec) -> RegionOfInterest:
    if spec.bounding_box is not None:
        box = spec.bounding_box
        return BoundingBox(left=box.left, top=box.top, width=box.width, height=box.height)
    points = _required(spec.polygon, "polygon", "")
    return Polygon(points=tuple(Point(x=p.x, y=p.y) for p in points))
