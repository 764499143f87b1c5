"""Request validation for the stream-processor operations: everything botocore does not check itself.

botocore validates required members, types and minimums on the client; the service validates the rest:
maximum lengths, whole-value patterns, enums, ranges, list sizes and the cross-field rules (one kind per
processor, output kind matching, connected-home labels and notification channel, start selectors, ...).
Each `parse_*` function turns a raw JSON request into a typed, normalised request or raises one
InvalidParameterException listing every problem found, in the style of AWS's "N validation errors
detected: Value ... at '...' failed to satisfy constraint: ..." (or AWS's terse "Request has invalid
parameters" when `detailed_messages` is off).

Floats are stored as IEEE-754 single precision, as the service does, so 0.1 reads back as
0.10000000149011612. Numbers the wire types cannot hold (an `integer` member is 32-bit, a `long` 64-bit,
a `float` single precision, as the botocore service model types each member) are refused first, by
`check_number_widths`, with a ValidationException naming the member. Used by `spd.emulator.responses`.
"""

from __future__ import annotations

import functools
import re
import struct
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import regex
from botocore.loaders import Loader
from botocore.model import ServiceModel, Shape

from spd.emulator.config import EmulatorConfig
from spd.emulator.errors import RekognitionError

JsonDict = dict[str, Any]

# Model patterns, matched against the whole value. ASCII because the service's \d and \w are ASCII.
NAME_PATTERN = re.compile(r"[a-zA-Z0-9_.\-]+", re.ASCII)
COLLECTION_PATTERN = re.compile(r"[a-zA-Z0-9_.\-]+", re.ASCII)
ROLE_ARN_PATTERN = re.compile(r"arn:aws:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+", re.ASCII)
KVS_ARN_PATTERN = re.compile(r"(^arn:([a-z\d-]+):kinesisvideo:([a-z\d-]+):\d{12}:.+$)", re.ASCII)
KDS_ARN_PATTERN = re.compile(r"(^arn:([a-z\d-]+):kinesis:([a-z\d-]+):\d{12}:.+$)", re.ASCII)
SNS_ARN_PATTERN = re.compile(r"(^arn:aws:sns:.*:\w{12}:.+$)", re.ASCII)
KMS_KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9:_/+=,@.-]{0,2048}$", re.ASCII)
S3_BUCKET_PATTERN = re.compile(r"[0-9A-Za-z\.\-_]*", re.ASCII)
FRAGMENT_PATTERN = re.compile(r"^[0-9]+$", re.ASCII)
# The tag patterns use Unicode property classes, which only the `regex` package understands.
TAG_KEY_PATTERN = regex.compile(r"^(?!aws:)[\p{L}\p{Z}\p{N}_.:/=+\-@]*$")
TAG_VALUE_PATTERN = regex.compile(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$")
REKOGNITION_ARN_PATTERN = re.compile(
    r"arn:(?P<partition>[a-z\d-]+):rekognition:(?P<region>[a-z\d-]+):(?P<account>\d{12}):(?P<resource>.+)",
    re.ASCII,
)

CONNECTED_HOME_LABELS = ("PERSON", "PET", "PACKAGE", "ALL")
PARAMETERS_TO_DELETE = ("ConnectedHomeMinConfidence", "RegionsOfInterest")
MODEL_MAX_TAGS = 200
"""The TagMap / TagKeyList size limit in the service model (a request constraint, not the quota)."""

DEFAULT_FACE_MATCH_THRESHOLD = 80.0
DEFAULT_MIN_CONFIDENCE = 50.0
_COORDINATE_TOLERANCE = 1e-6


def f32(value: float) -> float:
    """Round through single precision, as the service stores every Float and Percent."""
    rounded: float = struct.unpack("f", struct.pack("f", float(value)))[0]
    return rounded


class Violations:
    """Collects every constraint a request breaks so that one error can report them all."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def constraint(self, path: str, value: Any, constraint: str) -> None:
        self.items.append(f"Value {_show(value)} at '{path}' failed to satisfy constraint: {constraint}")

    def rule(self, message: str) -> None:
        self.items.append(message)

    def raise_if_any(self, config: EmulatorConfig, code: str | None = None) -> None:
        """Raise one error listing every problem: `code`, or the configured validation error code."""
        if not self.items:
            return
        code = code or config.validation_error
        if not config.detailed_messages:
            raise RekognitionError(code, "Request has invalid parameters")
        count = len(self.items)
        noun = "error" if count == 1 else "errors"
        raise RekognitionError(code, f"{count} validation {noun} detected: " + "; ".join(self.items))


NUMBER_RANGES: dict[str, tuple[int, int]] = {
    "integer": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}
"""What the model's integer types hold (Smithy: `integer` is 32-bit signed, `long` 64-bit signed)."""

FLOAT32_MAX = 3.4028234663852886e38


@functools.cache
def _service_model() -> ServiceModel:
    return ServiceModel(Loader().load_service_model("rekognition", "service-2"))


def check_number_widths(operation: str, body: JsonDict, config: EmulatorConfig) -> None:
    """Refuse numbers the model's member types cannot hold (ValidationException naming each member);
    everything else about the numbers is left to the operation's `parse_*`."""
    v = Violations()
    _check_widths(v, _service_model().operation_model(operation).input_shape, body, "")
    v.raise_if_any(config, "ValidationException")


def _check_widths(v: Violations, shape: Shape | None, value: Any, path: str) -> None:
    if shape is None or value is None:
        return
    kind = shape.type_name
    if kind == "structure" and isinstance(value, Mapping):
        members = getattr(shape, "members", {})
        for name, member in members.items():
            _check_widths(v, member, value.get(name), f"{path}.{name}" if path else name)
    elif kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            _check_widths(v, getattr(shape, "member", None), item, f"{path}.{i + 1}")
    elif kind == "map" and isinstance(value, Mapping):
        for key, item in value.items():
            _check_widths(v, getattr(shape, "value", None), item, f"{path}.{key}")
    elif kind in NUMBER_RANGES and isinstance(value, int) and not isinstance(value, bool):
        low, high = NUMBER_RANGES[kind]
        if value < low:
            v.constraint(path, value, f"Member must fit in a {kind} (>= {low})")
        elif value > high:
            v.constraint(path, value, f"Member must fit in a {kind} (<= {high})")
    elif kind == "float" and _is_number(value) and abs(value) > FLOAT32_MAX:
        v.constraint(path, value, f"Member must fit in a float (magnitude <= {FLOAT32_MAX:.8g})")


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"'{text}'"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _string(
    v: Violations,
    path: str,
    value: Any,
    *,
    required: bool = False,
    min_len: int | None = None,
    max_len: int | None = None,
    pattern: re.Pattern[str] | regex.Pattern[str] | None = None,
) -> str | None:
    if value is None:
        if required:
            v.constraint(path, None, "Member must not be null")
        return None
    if not isinstance(value, str):
        v.constraint(path, value, "Member must be a string")
        return None
    if min_len is not None and len(value) < min_len:
        v.constraint(path, value, f"Member must have length greater than or equal to {min_len}")
    if max_len is not None and len(value) > max_len:
        v.constraint(path, value, f"Member must have length less than or equal to {max_len}")
    if pattern is not None and pattern.fullmatch(value) is None:
        v.constraint(path, value, f"Member must satisfy regular expression pattern: {pattern.pattern}")
    return value


def _struct(v: Violations, path: str, value: Any, *, required: bool = False) -> JsonDict | None:
    if value is None:
        if required:
            v.constraint(path, None, "Member must not be null")
        return None
    if not isinstance(value, Mapping):
        v.constraint(path, value, "Member must be a structure")
        return None
    return dict(value)


def _percent(v: Violations, path: str, value: Any) -> float | None:
    if value is None:
        return None
    if not _is_number(value):
        v.constraint(path, value, "Member must be a number")
        return None
    if value < 0:
        v.constraint(path, value, "Member must have value greater than or equal to 0")
    if value > 100:
        v.constraint(path, value, "Member must have value less than or equal to 100")
    return float(value)


def _integer(
    v: Violations, path: str, value: Any, *, minimum: int | None = None, maximum: int | None = None
) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        v.constraint(path, value, "Member must be an integer")
        return None
    if minimum is not None and value < minimum:
        v.constraint(path, value, f"Member must have value greater than or equal to {minimum}")
    if maximum is not None and value > maximum:
        v.constraint(path, value, f"Member must have value less than or equal to {maximum}")
    return value


def _labels(v: Violations, path: str, value: Any, *, required: bool) -> list[str] | None:
    if value is None:
        if required:
            v.constraint(path, None, "Member must not be null")
        return None
    if not isinstance(value, list):
        v.constraint(path, value, "Member must be a list")
        return None
    if not 1 <= len(value) <= 128:
        v.constraint(path, value, "Member must have length between 1 and 128")
    labels: list[str] = []
    for i, label in enumerate(value):
        if not isinstance(label, str) or label not in CONNECTED_HOME_LABELS:
            v.constraint(
                f"{path}.{i + 1}",
                label,
                f"Member must satisfy enum value set: [{', '.join(CONNECTED_HOME_LABELS)}]",
            )
        else:
            labels.append(label)
    return labels


def _name(v: Violations, value: Any, path: str = "Name") -> str:
    name = _string(v, path, value, required=True, min_len=1, max_len=128, pattern=NAME_PATTERN)
    return name or ""


def _tags(v: Violations, path: str, value: Any, *, required: bool = False) -> dict[str, str] | None:
    if value is None:
        if required:
            v.constraint(path, None, "Member must not be null")
        return None
    if not isinstance(value, Mapping):
        v.constraint(path, value, "Member must be a map")
        return None
    if len(value) > MODEL_MAX_TAGS:
        v.constraint(
            path, f"<{len(value)} tags>", f"Member must have length less than or equal to {MODEL_MAX_TAGS}"
        )
    tags: dict[str, str] = {}
    for key, tag_value in value.items():
        _tag_key(v, f"{path}.key", key)
        _string(v, f"{path}.{key}", tag_value, required=True, max_len=256, pattern=TAG_VALUE_PATTERN)
        if isinstance(tag_value, str):
            tags[str(key)] = tag_value
    return tags


def _tag_key(v: Violations, path: str, key: Any) -> None:
    _string(v, path, key, required=True, min_len=1, max_len=128, pattern=TAG_KEY_PATTERN)


def _coordinate(v: Violations, path: str, value: Any, config: EmulatorConfig) -> float | None:
    if value is None:
        if config.coordinate_checks:
            v.constraint(path, None, "Member must not be null")
        return None
    if not _is_number(value):
        v.constraint(path, value, "Member must be a number")
        return None
    if config.coordinate_checks and not 0.0 <= value <= 1.0:
        v.constraint(path, value, "Member must be a ratio between 0 and 1")
    return f32(value)


def _regions_of_interest(
    v: Violations, path: str, value: Any, config: EmulatorConfig
) -> list[JsonDict] | None:
    if value is None:
        return None
    if not isinstance(value, list):
        v.constraint(path, value, "Member must be a list")
        return None
    if len(value) > 10:
        v.constraint(path, f"<{len(value)} regions>", "Member must have length less than or equal to 10")
    regions: list[JsonDict] = []
    for i, item in enumerate(value):
        item_path = f"{path}.{i + 1}"
        region = _struct(v, item_path, item, required=True)
        if region is None:
            continue
        box, polygon = region.get("BoundingBox"), region.get("Polygon")
        if (box is None) == (polygon is None):
            v.rule(f"{item_path} must have exactly one of BoundingBox or Polygon")
            continue
        if box is not None:
            regions.append(_bounding_box(v, f"{item_path}.BoundingBox", box, config))
        else:
            regions.append(_polygon(v, f"{item_path}.Polygon", polygon, config))
    return regions


def _bounding_box(v: Violations, path: str, value: Any, config: EmulatorConfig) -> JsonDict:
    box = _struct(v, path, value, required=True) or {}
    out: JsonDict = {}
    for member in ("Width", "Height", "Left", "Top"):
        number = _coordinate(v, f"{path}.{member}", box.get(member), config)
        if number is not None:
            out[member] = number
    if config.coordinate_checks and len(out) == 4:
        if out["Left"] + out["Width"] > 1.0 + _COORDINATE_TOLERANCE:
            v.rule(f"{path}: Left + Width must not exceed 1 (the box must lie inside the frame)")
        if out["Top"] + out["Height"] > 1.0 + _COORDINATE_TOLERANCE:
            v.rule(f"{path}: Top + Height must not exceed 1 (the box must lie inside the frame)")
    return {"BoundingBox": out}


def _polygon(v: Violations, path: str, value: Any, config: EmulatorConfig) -> JsonDict:
    if not isinstance(value, list):
        v.constraint(path, value, "Member must be a list")
        return {"Polygon": []}
    if not config.polygon_min_points <= len(value) <= config.polygon_max_points:
        v.constraint(
            path,
            f"<{len(value)} points>",
            f"Member must have between {config.polygon_min_points} and {config.polygon_max_points} points",
        )
    points: list[JsonDict] = []
    for i, item in enumerate(value):
        point_path = f"{path}.{i + 1}"
        point = _struct(v, point_path, item, required=True)
        if point is None:
            continue
        out: JsonDict = {}
        for member in ("X", "Y"):
            number = _coordinate(v, f"{point_path}.{member}", point.get(member), config)
            if number is not None:
                out[member] = number
        points.append(out)
    return {"Polygon": points}


def _data_sharing(v: Violations, path: str, value: Any) -> bool | None:
    preference = _struct(v, path, value)
    if preference is None:
        return None
    opt_in = preference.get("OptIn")
    if not isinstance(opt_in, bool):
        v.constraint(f"{path}.OptIn", opt_in, "Member must be a boolean")
        return None
    return opt_in


class StreamArns:
    """The input and output stream ARNs of a processor's wire-shaped config (request or stored)."""

    __slots__ = ()
    input: JsonDict
    output: JsonDict

    @property
    def kvs_arn(self) -> str:
        arn: str = self.input["KinesisVideoStream"]["Arn"]
        return arn

    @property
    def kds_arn(self) -> str | None:
        stream = self.output.get("KinesisDataStream")
        return None if stream is None else str(stream["Arn"])


@dataclass(frozen=True, slots=True)
class CreateRequest(StreamArns):
    """A valid CreateStreamProcessor request, normalised to what Describe will echo."""

    name: str
    input: JsonDict
    output: JsonDict
    settings: JsonDict
    role_arn: str
    tags: dict[str, str]
    notification_channel: JsonDict | None
    kms_key_id: str | None
    regions_of_interest: list[JsonDict] | None
    data_sharing_opt_in: bool


def parse_create(body: JsonDict, config: EmulatorConfig) -> CreateRequest:
    v = Violations()
    name = _name(v, body.get("Name"))

    kvs_arn = None
    input_ = _struct(v, "Input", body.get("Input"), required=True)
    if input_ is not None:
        stream = _struct(v, "Input.KinesisVideoStream", input_.get("KinesisVideoStream"), required=True)
        if stream is not None:
            kvs_arn = _string(
                v, "Input.KinesisVideoStream.Arn", stream.get("Arn"), required=True, pattern=KVS_ARN_PATTERN
            )

    output: JsonDict = {}
    output_in = _struct(v, "Output", body.get("Output"), required=True)
    if output_in is not None:
        kds = _struct(v, "Output.KinesisDataStream", output_in.get("KinesisDataStream"))
        s3 = _struct(v, "Output.S3Destination", output_in.get("S3Destination"))
        if kds is not None:
            arn = _string(
                v, "Output.KinesisDataStream.Arn", kds.get("Arn"), required=True, pattern=KDS_ARN_PATTERN
            )
            output["KinesisDataStream"] = {"Arn": arn}
        if s3 is not None:
            bucket = _string(
                v,
                "Output.S3Destination.Bucket",
                s3.get("Bucket"),
                required=True,
                min_len=3,
                max_len=255,
                pattern=S3_BUCKET_PATTERN,
            )
            destination: JsonDict = {"Bucket": bucket}
            prefix = _string(v, "Output.S3Destination.KeyPrefix", s3.get("KeyPrefix"), max_len=1024)
            if prefix is not None:
                destination["KeyPrefix"] = prefix
            output["S3Destination"] = destination
        if kds is None and s3 is None:
            v.rule("Output must have exactly one of KinesisDataStream or S3Destination")
        elif kds is not None and s3 is not None:
            v.rule("Output must have exactly one of KinesisDataStream or S3Destination, not both")

    settings: JsonDict = {}
    settings_in = _struct(v, "Settings", body.get("Settings"), required=True)
    face = home = None
    if settings_in is not None:
        face = _struct(v, "Settings.FaceSearch", settings_in.get("FaceSearch"))
        home = _struct(v, "Settings.ConnectedHome", settings_in.get("ConnectedHome"))
        if face is not None:
            collection = _string(
                v,
                "Settings.FaceSearch.CollectionId",
                face.get("CollectionId"),
                required=True,
                min_len=1,
                max_len=255,
                pattern=COLLECTION_PATTERN,
            )
            threshold = _percent(v, "Settings.FaceSearch.FaceMatchThreshold", face.get("FaceMatchThreshold"))
            # "values lower than 80 are set to 80" (service model)
            stored = DEFAULT_FACE_MATCH_THRESHOLD if threshold is None else f32(threshold)
            settings["FaceSearch"] = {
                "CollectionId": collection,
                "FaceMatchThreshold": max(stored, DEFAULT_FACE_MATCH_THRESHOLD),
            }
        if home is not None:
            labels = _labels(v, "Settings.ConnectedHome.Labels", home.get("Labels"), required=True)
            confidence = _percent(v, "Settings.ConnectedHome.MinConfidence", home.get("MinConfidence"))
            settings["ConnectedHome"] = {
                "Labels": labels,
                "MinConfidence": DEFAULT_MIN_CONFIDENCE if confidence is None else f32(confidence),
            }
        if face is None and home is None:
            v.rule("Settings must have exactly one of FaceSearch or ConnectedHome")
        elif face is not None and home is not None:
            v.rule("Settings must have exactly one of FaceSearch or ConnectedHome, not both")

    role_arn = _string(v, "RoleArn", body.get("RoleArn"), required=True, pattern=ROLE_ARN_PATTERN)
    tags = _tags(v, "Tags", body.get("Tags")) or {}

    notification = None
    channel = _struct(v, "NotificationChannel", body.get("NotificationChannel"))
    if channel is not None:
        topic = _string(
            v,
            "NotificationChannel.SNSTopicArn",
            channel.get("SNSTopicArn"),
            required=True,
            pattern=SNS_ARN_PATTERN,
        )
        notification = {"SNSTopicArn": topic}
    kms_key_id = _string(
        v, "KmsKeyId", body.get("KmsKeyId"), min_len=1, max_len=2048, pattern=KMS_KEY_PATTERN
    )
    regions = _regions_of_interest(v, "RegionsOfInterest", body.get("RegionsOfInterest"), config)
    opt_in = _data_sharing(v, "DataSharingPreference", body.get("DataSharingPreference"))

    # Cross-field rules: which members go with which processor kind.
    if face is not None and home is None:
        if output_in is not None and "KinesisDataStream" not in output:
            v.rule("A FaceSearch stream processor must output to a KinesisDataStream")
        if not config.face_search_kms_and_notification:
            if channel is not None:
                v.rule("NotificationChannel is not supported for FaceSearch stream processors")
            if kms_key_id is not None:
                v.rule("KmsKeyId is not supported for FaceSearch stream processors")
        if regions is not None and not config.face_search_regions_of_interest:
            v.rule("RegionsOfInterest is not supported for FaceSearch stream processors")
    if home is not None and face is None:
        if output_in is not None and "S3Destination" not in output:
            v.rule("A ConnectedHome stream processor must output to an S3Destination")
        if channel is None:
            v.rule("NotificationChannel is required for ConnectedHome stream processors")

    v.raise_if_any(config)
    return CreateRequest(
        name=name,
        input={"KinesisVideoStream": {"Arn": kvs_arn}},
        output=output,
        settings=settings,
        role_arn=role_arn or "",
        tags=tags,
        notification_channel=notification,
        kms_key_id=kms_key_id,
        regions_of_interest=regions or None,
        data_sharing_opt_in=bool(opt_in),
    )


def parse_name(body: JsonDict, config: EmulatorConfig) -> str:
    v = Violations()
    name = _name(v, body.get("Name"))
    v.raise_if_any(config)
    return name


@dataclass(frozen=True, slots=True)
class StartRequest:
    name: str
    has_start_selector: bool
    has_stop_selector: bool
    max_duration_seconds: int | None


def parse_start(body: JsonDict, config: EmulatorConfig) -> StartRequest:
    v = Violations()
    name = _name(v, body.get("Name"))
    start = _struct(v, "StartSelector", body.get("StartSelector"))
    if start is not None:
        kvs = _struct(v, "StartSelector.KVSStreamStartSelector", start.get("KVSStreamStartSelector"))
        if kvs is None:
            v.rule("StartSelector.KVSStreamStartSelector is required")
        else:
            _integer(
                v,
                "StartSelector.KVSStreamStartSelector.ProducerTimestamp",
                kvs.get("ProducerTimestamp"),
                minimum=0,
            )
            _string(
                v,
                "StartSelector.KVSStreamStartSelector.FragmentNumber",
                kvs.get("FragmentNumber"),
                min_len=1,
                max_len=128,
                pattern=FRAGMENT_PATTERN,
            )
            if (kvs.get("ProducerTimestamp") is None) == (kvs.get("FragmentNumber") is None):
                v.rule("KVSStreamStartSelector must have exactly one of ProducerTimestamp or FragmentNumber")
    stop = _struct(v, "StopSelector", body.get("StopSelector"))
    duration = None
    if stop is not None:
        duration = _integer(
            v, "StopSelector.MaxDurationInSeconds", stop.get("MaxDurationInSeconds"), minimum=1, maximum=120
        )
    v.raise_if_any(config)
    return StartRequest(
        name=name,
        has_start_selector=start is not None,
        has_stop_selector=stop is not None,
        max_duration_seconds=duration,
    )


@dataclass(frozen=True, slots=True)
class UpdateRequest:
    name: str
    labels: list[str] | None
    min_confidence: float | None
    regions_of_interest: list[JsonDict] | None
    data_sharing_opt_in: bool | None
    parameters_to_delete: frozenset[str]
    has_settings: bool


def parse_update(body: JsonDict, config: EmulatorConfig) -> UpdateRequest:
    v = Violations()
    name = _name(v, body.get("Name"))
    labels = confidence = None
    settings = _struct(v, "SettingsForUpdate", body.get("SettingsForUpdate"))
    if settings is not None:
        home = _struct(v, "SettingsForUpdate.ConnectedHomeForUpdate", settings.get("ConnectedHomeForUpdate"))
        if home is not None:
            labels = _labels(
                v, "SettingsForUpdate.ConnectedHomeForUpdate.Labels", home.get("Labels"), required=False
            )
            confidence = _percent(
                v, "SettingsForUpdate.ConnectedHomeForUpdate.MinConfidence", home.get("MinConfidence")
            )
    regions = _regions_of_interest(
        v, "RegionsOfInterestForUpdate", body.get("RegionsOfInterestForUpdate"), config
    )
    opt_in = _data_sharing(v, "DataSharingPreferenceForUpdate", body.get("DataSharingPreferenceForUpdate"))
    to_delete: set[str] = set()
    raw_delete = body.get("ParametersToDelete")
    if raw_delete is not None:
        if not isinstance(raw_delete, list):
            v.constraint("ParametersToDelete", raw_delete, "Member must be a list")
        else:
            for i, item in enumerate(raw_delete):
                if item not in PARAMETERS_TO_DELETE:
                    v.constraint(
                        f"ParametersToDelete.{i + 1}",
                        item,
                        f"Member must satisfy enum value set: [{', '.join(PARAMETERS_TO_DELETE)}]",
                    )
                else:
                    to_delete.add(item)
    if body.get("RegionsOfInterestForUpdate") is not None and "RegionsOfInterest" in to_delete:
        v.rule("RegionsOfInterestForUpdate cannot be combined with ParametersToDelete RegionsOfInterest")
    if confidence is not None and "ConnectedHomeMinConfidence" in to_delete:
        v.rule("MinConfidence cannot be combined with ParametersToDelete ConnectedHomeMinConfidence")
    v.raise_if_any(config)
    return UpdateRequest(
        name=name,
        labels=labels,
        min_confidence=None if confidence is None else f32(confidence),
        regions_of_interest=regions,
        data_sharing_opt_in=opt_in,
        parameters_to_delete=frozenset(to_delete),
        has_settings=settings is not None,
    )


def parse_list(body: JsonDict, config: EmulatorConfig) -> tuple[int | None, str | None]:
    v = Violations()
    max_results = _integer(v, "MaxResults", body.get("MaxResults"), minimum=1)
    token = _string(v, "NextToken", body.get("NextToken"), max_len=255)
    v.raise_if_any(config)
    return max_results, token or None


def parse_resource_arn(body: JsonDict, v: Violations) -> str:
    arn = _string(v, "ResourceArn", body.get("ResourceArn"), required=True, min_len=20, max_len=2048)
    return arn or ""


def parse_tag_resource(body: JsonDict, config: EmulatorConfig) -> tuple[str, dict[str, str]]:
    v = Violations()
    arn = parse_resource_arn(body, v)
    tags = _tags(v, "Tags", body.get("Tags"), required=True) or {}
    v.raise_if_any(config)
    return arn, tags


def parse_untag_resource(body: JsonDict, config: EmulatorConfig) -> tuple[str, list[str]]:
    v = Violations()
    arn = parse_resource_arn(body, v)
    keys: list[str] = []
    raw = body.get("TagKeys")
    if raw is None:
        v.constraint("TagKeys", None, "Member must not be null")
    elif not isinstance(raw, list):
        v.constraint("TagKeys", raw, "Member must be a list")
    else:
        if len(raw) > MODEL_MAX_TAGS:
            v.constraint(
                "TagKeys",
                f"<{len(raw)} keys>",
                f"Member must have length less than or equal to {MODEL_MAX_TAGS}",
            )
        for i, key in enumerate(raw):
            _tag_key(v, f"TagKeys.{i + 1}", key)
            if isinstance(key, str):
                keys.append(key)
    v.raise_if_any(config)
    return arn, keys


def parse_list_tags(body: JsonDict, config: EmulatorConfig) -> str:
    v = Violations()
    arn = parse_resource_arn(body, v)
    v.raise_if_any(config)
    return arn


def processor_name_from_arn(arn: str, *, region: str, account: str) -> str | None:
    """The processor name an ARN addresses in this account and region, or None if it addresses nothing
    the emulator holds. Raises InvalidParameterException when the value is not a Rekognition ARN."""
    match = REKOGNITION_ARN_PATTERN.fullmatch(arn)
    if match is None:
        raise RekognitionError("InvalidParameterException", f"Invalid resource ARN: {arn}")
    if match["region"] != region or match["account"] != account:
        return None
    kind, _, name = match["resource"].partition("/")
    if kind != "streamprocessor" or not name:
        return None
    return name
