"""Translation between spd's domain values and Rekognition request/response dictionaries.

Used only by the gateway. Requests are built from canonical configs; responses are turned back into
canonical configs with the service's defaults filled in, so a Describe of a processor spd created
compares equal to the config it was created from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from spd.model import (
    DEFAULT_DATA_SHARING,
    DEFAULT_FACE_MATCH_THRESHOLD,
    DEFAULT_MIN_CONFIDENCE,
    BoundingBox,
    ConnectedHome,
    FaceSearch,
    ObservedProcessor,
    Point,
    Polygon,
    ProcessorConfig,
    ProcessorId,
    RegionOfInterest,
    Settings,
    Status,
    UpdateRequest,
    canonical_tags,
)


def region_to_api(region: RegionOfInterest) -> dict[str, Any]:
    if isinstance(region, BoundingBox):
        return {
            "BoundingBox": {
                "Left": region.left,
                "Top": region.top,
                "Width": region.width,
                "Height": region.height,
            }
        }
    return {"Polygon": [{"X": p.x, "Y": p.y} for p in region.points]}


def region_from_api(data: Mapping[str, Any]) -> RegionOfInterest:
    if "BoundingBox" in data and data["BoundingBox"] is not None:
        box = data["BoundingBox"]
        return BoundingBox(
            float(box.get("Left", 0.0)),
            float(box.get("Top", 0.0)),
            float(box.get("Width", 0.0)),
            float(box.get("Height", 0.0)),
        )
    points = data.get("Polygon") or []
    return Polygon(tuple(Point(float(p.get("X", 0.0)), float(p.get("Y", 0.0))) for p in points))


def settings_to_api(settings: Settings) -> dict[str, Any]:
    if isinstance(settings, FaceSearch):
        return {
            "FaceSearch": {
                "CollectionId": settings.collection_id,
                "FaceMatchThreshold": settings.face_match_threshold,
            }
        }
    return {"ConnectedHome": {"Labels": list(settings.labels), "MinConfidence": settings.min_confidence}}


def create_request(config: ProcessorConfig, tags: Mapping[str, str]) -> dict[str, Any]:
    """CreateStreamProcessor arguments; tags go in the same call so ownership is never half-done."""
    output: dict[str, Any]
    if config.kinesis_data_stream_arn is not None:
        output = {"KinesisDataStream": {"Arn": config.kinesis_data_stream_arn}}
    else:
        s3: dict[str, Any] = {"Bucket": config.s3_bucket}
        if config.s3_key_prefix:
            s3["KeyPrefix"] = config.s3_key_prefix
        output = {"S3Destination": s3}
    request: dict[str, Any] = {
        "Name": config.name,
        "Input": {"KinesisVideoStream": {"Arn": config.kinesis_video_stream_arn}},
        "Output": output,
        "RoleArn": config.role_arn,
        "Settings": settings_to_api(config.settings),
        "Tags": dict(tags),
        "DataSharingPreference": {"OptIn": config.data_sharing},
    }
    if config.sns_topic_arn is not None:
        request["NotificationChannel"] = {"SNSTopicArn": config.sns_topic_arn}
    if config.kms_key_id is not None:
        request["KmsKeyId"] = config.kms_key_id
    if config.regions_of_interest:
        request["RegionsOfInterest"] = [region_to_api(r) for r in config.regions_of_interest]
    return request


def update_request(name: str, update: UpdateRequest) -> dict[str, Any]:
    request: dict[str, Any] = {"Name": name}
    for_update: dict[str, Any] = {}
    if update.labels is not None:
        for_update["Labels"] = list(update.labels)
    if update.min_confidence is not None:
        for_update["MinConfidence"] = update.min_confidence
    if for_update:
        request["SettingsForUpdate"] = {"ConnectedHomeForUpdate": for_update}
    if update.regions_of_interest is not None:
        request["RegionsOfInterestForUpdate"] = [region_to_api(r) for r in update.regions_of_interest]
    if update.data_sharing is not None:
        request["DataSharingPreferenceForUpdate"] = {"OptIn": update.data_sharing}
    if update.parameters_to_delete:
        request["ParametersToDelete"] = list(update.parameters_to_delete)
    return request


def _settings_from_api(data: Mapping[str, Any]) -> Settings:
    if data.get("FaceSearch") is not None:
        fs = data["FaceSearch"]
        return FaceSearch(
            str(fs.get("CollectionId", "")),
            float(fs.get("FaceMatchThreshold", DEFAULT_FACE_MATCH_THRESHOLD)),
        )
    ch = data.get("ConnectedHome") or {}
    return ConnectedHome(
        tuple(str(label) for label in ch.get("Labels", [])),
        float(ch.get("MinConfidence", DEFAULT_MIN_CONFIDENCE)),
    )


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def config_from_describe(region: str, data: Mapping[str, Any]) -> ProcessorConfig:
    output = data.get("Output") or {}
    kds = (output.get("KinesisDataStream") or {}).get("Arn")
    s3 = output.get("S3Destination") or {}
    channel = data.get("NotificationChannel") or {}
    sharing = data.get("DataSharingPreference") or {}
    kvs = (data.get("Input") or {}).get("KinesisVideoStream") or {}
    return ProcessorConfig(
        name=str(data["Name"]),
        region=region,
        role_arn=str(data.get("RoleArn", "")),
        kinesis_video_stream_arn=str(kvs.get("Arn", "")),
        settings=_settings_from_api(data.get("Settings") or {}),
        kinesis_data_stream_arn=kds,
        s3_bucket=s3.get("Bucket"),
        s3_key_prefix=s3.get("KeyPrefix") or None,
        sns_topic_arn=channel.get("SNSTopicArn"),
        kms_key_id=data.get("KmsKeyId"),
        regions_of_interest=tuple(region_from_api(r) for r in data.get("RegionsOfInterest") or []),
        data_sharing=bool(sharing.get("OptIn", DEFAULT_DATA_SHARING)),
    )


def observed_from_describe(
    region: str, data: Mapping[str, Any], tags: Mapping[str, str] | None
) -> ObservedProcessor:
    return ObservedProcessor(
        id=ProcessorId(region, str(data["Name"])),
        status=Status(data.get("Status", "STOPPED")),
        arn=data.get("StreamProcessorArn"),
        status_message=data.get("StatusMessage") or None,
        config=config_from_describe(region, data),
        tags=canonical_tags(tags) if tags is not None else None,
        created_at=_timestamp(data.get("CreationTimestamp")),
        updated_at=_timestamp(data.get("LastUpdateTimestamp")),
    )
