"""Translation between spd's domain values and Rekognition request/response dictionaries.

Used only by the gateway. Which field goes where is `spd.api.fields.FIELDS`; this module only walks
it and converts values (regions, labels, numbers) between their wire and domain forms. Requests are built from canonical configs; responses are turned back into
canonical configs with the service's defaults filled in, so a Describe of a processor spd created
compares equal to the config it was created from.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from spd.api.fields import FIELDS, UPDATABLE, Codec
from spd.api.rules import CONNECTED_HOME, FACE_SEARCH
from spd.model import (
    AMBIENT_TARGET,
    ConnectedHome,
    FaceSearch,
    ObservedProcessor,
    ProcessorConfig,
    ProcessorId,
    ProducerTimestamp,
    RegionOfInterest,
    StartSelector,
    Status,
    UpdateRequest,
    api_key,
    canonical_tags,
    region_document,
    region_from_document,
)


def region_to_api(region: RegionOfInterest) -> dict[str, Any]:
    return region_document(region, api_key)


def region_from_api(data: Mapping[str, Any]) -> RegionOfInterest:
    return region_from_document(data, api_key)


def _encode(codec: Codec, value: Any) -> Any:
    if codec is Codec.REGIONS:
        return [region_to_api(r) for r in value]
    if codec is Codec.LABELS:
        return list(value)
    return value


def _decode(codec: Codec, value: Any) -> Any:
    if codec is Codec.REGIONS:
        return tuple(region_from_api(r) for r in value)
    if codec is Codec.LABELS:
        return tuple(str(label) for label in value)
    if codec is Codec.FLOAT:
        return float(value)
    if codec is Codec.BOOL:
        return bool(value)
    return str(value)


def _put(request: dict[str, Any], path: tuple[str, ...], value: Any) -> None:
    *parents, leaf = path
    for part in parents:
        request = request.setdefault(part, {})
    request[leaf] = value


def _get(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    value: Any = data
    for part in path:
        value = (value or {}).get(part)
    return value


def create_request(config: ProcessorConfig, tags: Mapping[str, str]) -> dict[str, Any]:
    """CreateStreamProcessor arguments; tags go in the same call so ownership is never half-done.

    Every field of `spd.api.fields.FIELDS` the config's kind has is sent, except unset values (None)
    and empty lists, which the service treats as absent.
    """
    request: dict[str, Any] = {"Name": config.name, "Tags": dict(tags)}
    for f in FIELDS:
        value = config.value(f)
        if value is None or value == ():
            continue
        _put(request, f.wire, _encode(f.codec, value))
    return request


def update_request(name: str, update: UpdateRequest) -> dict[str, Any]:
    """UpdateStreamProcessor arguments: each set value at its field's update path, then the deletions."""
    request: dict[str, Any] = {"Name": name}
    for f in UPDATABLE:
        assert f.update is not None
        value = getattr(update, f.leaf)
        if value is not None:
            _put(request, f.update, _encode(f.codec, value))
    if update.parameters_to_delete:
        request["ParametersToDelete"] = list(update.parameters_to_delete)
    return request


def start_session_request(name: str, selector: StartSelector, max_duration_seconds: int) -> dict[str, Any]:
    """StartStreamProcessor's request for a connected-home session: where to start, how long to run."""
    kvs: dict[str, Any] = (
        {"ProducerTimestamp": selector.millis}
        if isinstance(selector, ProducerTimestamp)
        else {"FragmentNumber": selector.number}
    )
    return {
        "Name": name,
        "StartSelector": {"KVSStreamStartSelector": kvs},
        "StopSelector": {"MaxDurationInSeconds": max_duration_seconds},
    }


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    return None


def config_from_describe(region: str, data: Mapping[str, Any]) -> ProcessorConfig:
    """The canonical config a Describe response states, each absent field at the service's default."""
    kind = FACE_SEARCH if _get(data, ("Settings", "FaceSearch")) is not None else CONNECTED_HOME
    top: dict[str, Any] = {}
    settings: dict[str, Any] = {}
    for f in FIELDS:
        if not f.applies_to(kind):
            continue
        raw = _get(data, f.wire)
        value = f.default if raw is None else _decode(f.codec, raw)
        if f.kind is not None:  # a kind's own fields are its settings'
            settings[f.leaf] = value
        else:
            top[f.attr] = value
    return ProcessorConfig(
        name=str(data["Name"]),
        region=region,
        settings=FaceSearch(**settings) if kind == FACE_SEARCH else ConnectedHome(**settings),
        **top,
    )


def observed_from_describe(
    region: str, data: Mapping[str, Any], tags: Mapping[str, str] | None, target: str = AMBIENT_TARGET
) -> ObservedProcessor:
    return ObservedProcessor(
        id=ProcessorId(region, str(data["Name"]), target),
        status=Status(data.get("Status", "STOPPED")),
        arn=data.get("StreamProcessorArn"),
        status_message=data.get("StatusMessage") or None,
        config=config_from_describe(region, data),
        tags=canonical_tags(tags) if tags is not None else None,
        created_at=_timestamp(data.get("CreationTimestamp")),
        updated_at=_timestamp(data.get("LastUpdateTimestamp")),
    )
