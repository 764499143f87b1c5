"""Request validation for the stream-processor and collection operations: what botocore does not check.

botocore validates required members, types and minimums on the client; the service validates the rest.
The emulator does both, from one description (`spd.api`), in two steps:

1. it walks the operation's input shape in `spd.api.model.MODEL`, member by member: type, required,
   length or size bounds, value bounds, pattern (matched against the whole value), enum;
2. it applies what the model does not say, from `spd.api.rules`: the connected-home labels, members
   the service requires though the model does not, exactly one of each pair (FaceSearch or
   ConnectedHome, KinesisDataStream or S3Destination, BoundingBox or Polygon), which members go with
   which processor kind, coordinates as ratios of the frame, polygon sizes, start selectors.

Each `parse_*` function turns a raw JSON request into a typed, normalised request or raises one
InvalidParameterException listing every problem found, in the style of AWS's "N validation errors
detected: Value ... at '...' failed to satisfy constraint: ..." (or AWS's terse "Request has invalid
parameters" when `detailed_messages` is off).

Floats are stored as IEEE-754 single precision, as the service does, so 0.1 reads back as
0.10000000149011612. Numbers the wire types cannot hold (an `integer` member is 32-bit, a `long` 64-bit,
a `float` single precision) are refused first, by `check_number_widths` (the same walk), with a
ValidationException naming the member. Used by `spd.emulator.http.responses`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import regex

from spd.api import rules
from spd.api.constraints import NUMBER_RANGES, bound, full_match_pattern
from spd.api.model import MODEL
from spd.api.rules import DEFAULT_FACE_MATCH_THRESHOLD, DEFAULT_MIN_CONFIDENCE, f32
from spd.api.shapes import Shape
from spd.emulator.backend.config import EmulatorConfig
from spd.emulator.backend.errors import RekognitionError

JsonDict = dict[str, Any]

REKOGNITION_ARN_PATTERN = re.compile(
    r"arn:(?P<partition>[a-z\d-]+):rekognition:(?P<region>[a-z\d-]+):(?P<account>\d{12}):(?P<resource>.+)",
    re.ASCII,
)
"""Splits a resource ARN into its parts (TagResource and friends); the model gives ResourceArn no pattern."""


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


FLOAT32_MAX = 3.4028234663852886e38


def _show(value: Any) -> str:
    if value is None:
        return "null"
    text = value if isinstance(value, str) else repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"'{text}'"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _join(path: str, step: str) -> str:
    return f"{path}.{step}" if path else step


@functools.cache
def _pattern(shape_name: str) -> regex.Pattern[str]:
    """The shape's pattern compiled once; `regex` because the tag patterns use Unicode properties."""
    return regex.compile(full_match_pattern(MODEL.shape(shape_name)))


def _is_mapping(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_list(value: Any) -> bool:
    return isinstance(value, list)


def _is_string(value: Any) -> bool:
    return isinstance(value, str)


def _is_boolean(value: Any) -> bool:
    return isinstance(value, bool)


_TYPE_NOUNS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "structure": ("Member must be a structure", _is_mapping),
    "list": ("Member must be a list", _is_list),
    "map": ("Member must be a map", _is_mapping),
    "string": ("Member must be a string", _is_string),
    "integer": ("Member must be an integer", _is_integer),
    "long": ("Member must be an integer", _is_integer),
    "float": ("Member must be a number", _is_number),
    "double": ("Member must be a number", _is_number),
    "boolean": ("Member must be a boolean", _is_boolean),
}
"""Each model type, the message for a value not of it, and the test of a JSON value for it."""


class _Walk:
    """One walk of a request along its input shape. Subclasses say what to report at each value."""

    def __init__(self, v: Violations) -> None:
        self.v = v

    def value(self, shape: Shape, value: Any, path: str) -> None:
        """Check a present (non-null) value of `shape` and everything under it."""
        kind = shape.type
        noun_and_test = _TYPE_NOUNS.get(kind)
        if noun_and_test is not None and not noun_and_test[1](value):
            self.wrong_type(noun_and_test[0], value, path)
            return
        self.check(shape, value, path)
        if kind == "structure":
            for member in shape.members:
                item = value.get(member.name)
                member_path = _join(path, member.name)
                if item is None:
                    if member.required or (shape.name, member.name) in rules.SERVICE_REQUIRED:
                        self.missing(member_path)
                else:
                    self.value(MODEL.shape(member.shape), item, member_path)
        elif kind == "list" and shape.member is not None:
            item_shape = MODEL.shape(shape.member)
            for i, item in enumerate(value):
                if item is None:
                    self.missing(f"{path}.{i + 1}")
                else:
                    self.value(item_shape, item, f"{path}.{i + 1}")
        elif kind == "map" and shape.key is not None and shape.value is not None:
            key_shape, value_shape = MODEL.shape(shape.key), MODEL.shape(shape.value)
            for key, item in value.items():
                self.value(key_shape, key, f"{path}.key")
                if item is None:
                    self.missing(f"{path}.{key}")
                else:
                    self.value(value_shape, item, f"{path}.{key}")

    def request(self, structure: str, body: JsonDict) -> None:
        self.value(MODEL.shape(structure), body, "")

    def wrong_type(self, message: str, value: Any, path: str) -> None:
        """A value not of its member's type."""

    def missing(self, path: str) -> None:
        """A required member that is absent or null."""

    def check(self, shape: Shape, value: Any, path: str) -> None:
        """A value of the right type: its own constraints."""


class _Constraints(_Walk):
    """Everything the model states about each member, reported as AWS words it."""

    def wrong_type(self, message: str, value: Any, path: str) -> None:
        self.v.constraint(path, value, message)

    def missing(self, path: str) -> None:
        self.v.constraint(path, None, "Member must not be null")

    def check(self, shape: Shape, value: Any, path: str) -> None:
        low, high = bound(shape.min), bound(shape.max)
        if shape.type in ("string", "list", "map"):
            shown = value if isinstance(value, str) else f"<{len(value)} items>"
            if low is not None and len(value) < low:
                self.v.constraint(path, shown, f"Member must have length greater than or equal to {low}")
            if high is not None and len(value) > high:
                self.v.constraint(path, shown, f"Member must have length less than or equal to {high}")
        elif shape.type in ("integer", "long", "float", "double"):
            if low is not None and value < low:
                self.v.constraint(path, value, f"Member must have value greater than or equal to {low}")
            if high is not None and value > high:
                self.v.constraint(path, value, f"Member must have value less than or equal to {high}")
        if shape.type != "string":
            return
        if shape.pattern is not None and _pattern(shape.name).fullmatch(value) is None:
            self.v.constraint(path, value, f"Member must satisfy regular expression pattern: {shape.pattern}")
        if shape.enum and value not in shape.enum:
            self.v.constraint(path, value, f"Member must satisfy enum value set: [{', '.join(shape.enum)}]")


class _Widths(_Walk):
    """Only numbers the wire types cannot hold; every other problem is the second walk's."""

    def check(self, shape: Shape, value: Any, path: str) -> None:
        kind = shape.type
        if kind in NUMBER_RANGES:
            low, high = NUMBER_RANGES[kind]
            if value < low:
                self.v.constraint(path, value, f"Member must fit in a {kind} (>= {low})")
            elif value > high:
                self.v.constraint(path, value, f"Member must fit in a {kind} (<= {high})")
        elif kind == "float" and abs(value) > FLOAT32_MAX:
            self.v.constraint(path, value, f"Member must fit in a float (magnitude <= {FLOAT32_MAX:.8g})")


def check_number_widths(operation: str, body: JsonDict, config: EmulatorConfig) -> None:
    """Refuse numbers the model's member types cannot hold (ValidationException naming each member);
    everything else about the numbers is left to the operation's `parse_*`."""
    shape = MODEL.input_shape(operation)
    if shape is None:
        return
    v = Violations()
    _Widths(v).value(shape, body, "")
    v.raise_if_any(config, "ValidationException")


def _checked(operation: str, body: JsonDict) -> Violations:
    """The model's constraints on a request, as violations to which the rules add their own."""
    v = Violations()
    shape = MODEL.input_shape(operation)
    if shape is not None:
        _Constraints(v).value(shape, body, "")
    _reserved_tag_rules(v, body)
    return v


def _reserved_tag_rules(v: Violations, body: JsonDict) -> None:
    """`aws:` in any case is AWS's (`spd.api.rules.RESERVED_TAG_PREFIX`); the model's TagKey pattern only
    refuses the lower-case spelling, which it has reported already."""
    tags, keys = body.get("Tags"), body.get("TagKeys")
    named = [*(tags if isinstance(tags, dict) else ()), *(keys if isinstance(keys, list) else ())]
    for key in named:
        if (
            isinstance(key, str)
            and rules.reserved_tag_key(key)
            and not key.startswith(rules.RESERVED_TAG_PREFIX)
        ):
            where = "tags" if isinstance(tags, dict) and key in tags else "tagKeys"
            v.constraint(
                where,
                key,
                f"Tag keys must not start with '{rules.RESERVED_TAG_PREFIX}' in any case (reserved for AWS)",
            )


# -- the rules the model does not state (spd.api.rules) ----------------------------------------------


def _dict(value: Any) -> JsonDict | None:
    return dict(value) if isinstance(value, Mapping) else None


def _exactly_one(v: Violations, value: Any, path: str, first: str, second: str) -> None:
    """A structure that must carry exactly one of two members."""
    found = _dict(value)
    if found is None:
        return
    has_first, has_second = found.get(first) is not None, found.get(second) is not None
    if not has_first and not has_second:
        v.rule(f"{path} must have exactly one of {first} or {second}")
    elif has_first and has_second:
        v.rule(f"{path} must have exactly one of {first} or {second}, not both")


def _label_rules(v: Violations, path: str, labels: Any) -> None:
    if not isinstance(labels, list):
        return
    allowed = rules.CONNECTED_HOME_LABELS
    for i, label in enumerate(labels):
        if isinstance(label, str) and label not in allowed:
            v.constraint(
                f"{path}.{i + 1}", label, f"Member must satisfy enum value set: [{', '.join(allowed)}]"
            )


def _coordinate_rule(v: Violations, path: str, value: Any, config: EmulatorConfig) -> None:
    if not config.coordinate_checks:
        return
    if value is None:
        v.constraint(path, None, "Member must not be null")
    elif _is_number(value) and not rules.COORDINATE_MIN <= value <= rules.COORDINATE_MAX:
        v.constraint(
            path,
            value,
            f"Member must be a ratio between {bound(rules.COORDINATE_MIN)} and {bound(rules.COORDINATE_MAX)}",
        )


def _region_rules(v: Violations, path: str, value: Any, config: EmulatorConfig) -> None:
    if not isinstance(value, list):
        return
    for i, item in enumerate(value):
        item_path = f"{path}.{i + 1}"
        region = _dict(item)
        if region is None:
            continue
        box, polygon = region.get("BoundingBox"), region.get("Polygon")
        if (box is None) == (polygon is None):
            v.rule(f"{item_path} must have exactly one of BoundingBox or Polygon")
            continue
        if box is not None:
            _bounding_box_rules(v, f"{item_path}.BoundingBox", box, config)
        else:
            _polygon_rules(v, f"{item_path}.Polygon", polygon, config)


def _bounding_box_rules(v: Violations, path: str, value: Any, config: EmulatorConfig) -> None:
    box = _dict(value)
    if box is None:
        return
    for member in ("Width", "Height", "Left", "Top"):
        _coordinate_rule(v, f"{path}.{member}", box.get(member), config)
    numbers = {
        member: f32(box[member])
        for member in ("Width", "Height", "Left", "Top")
        if _is_number(box.get(member))
    }
    if config.coordinate_checks and len(numbers) == 4:
        edge = rules.COORDINATE_MAX + rules.COORDINATE_TOLERANCE
        if numbers["Left"] + numbers["Width"] > edge:
            v.rule(f"{path}: Left + Width must not exceed 1 (the box must lie inside the frame)")
        if numbers["Top"] + numbers["Height"] > edge:
            v.rule(f"{path}: Top + Height must not exceed 1 (the box must lie inside the frame)")


def _polygon_rules(v: Violations, path: str, value: Any, config: EmulatorConfig) -> None:
    if not isinstance(value, list):
        return
    if not config.polygon_min_points <= len(value) <= config.polygon_max_points:
        v.constraint(
            path,
            f"<{len(value)} points>",
            f"Member must have between {config.polygon_min_points} and {config.polygon_max_points} points",
        )
    for i, item in enumerate(value):
        point = _dict(item)
        if point is not None:
            for member in ("X", "Y"):
                _coordinate_rule(v, f"{path}.{i + 1}.{member}", point.get(member), config)


def _regions(value: Any) -> list[JsonDict] | None:
    """A valid RegionsOfInterest list as Describe echoes it: coordinates in single precision."""
    if value is None:
        return None
    regions: list[JsonDict] = []
    for region in value:
        if region.get("BoundingBox") is not None:
            box = region["BoundingBox"]
            regions.append(
                {
                    "BoundingBox": {
                        m: f32(box[m]) for m in ("Width", "Height", "Left", "Top") if box.get(m) is not None
                    }
                }
            )
        else:
            points = [
                {m: f32(point[m]) for m in ("X", "Y") if point.get(m) is not None}
                for point in region["Polygon"]
            ]
            regions.append({"Polygon": points})
    return regions


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
    v = _checked("CreateStreamProcessor", body)
    output, settings = _dict(body.get("Output")), _dict(body.get("Settings"))
    _exactly_one(v, output, "Output", "KinesisDataStream", "S3Destination")
    _exactly_one(v, settings, "Settings", "FaceSearch", "ConnectedHome")
    face = None if settings is None else _dict(settings.get("FaceSearch"))
    home = None if settings is None else _dict(settings.get("ConnectedHome"))
    if home is not None:
        _label_rules(v, "Settings.ConnectedHome.Labels", home.get("Labels"))
    _region_rules(v, "RegionsOfInterest", body.get("RegionsOfInterest"), config)
    _kind_rules(v, body, face, home, config)
    v.raise_if_any(config)

    # Output and Settings are required members: the walk refused a request without them.
    assert output is not None
    assert settings is not None
    wire_output: JsonDict = {}
    if output.get("KinesisDataStream") is not None:
        wire_output["KinesisDataStream"] = {"Arn": output["KinesisDataStream"]["Arn"]}
    if output.get("S3Destination") is not None:
        s3 = output["S3Destination"]
        destination: JsonDict = {"Bucket": s3["Bucket"]}
        if s3.get("KeyPrefix") is not None:
            destination["KeyPrefix"] = s3["KeyPrefix"]
        wire_output["S3Destination"] = destination
    wire_settings: JsonDict = {}
    if face is not None:
        threshold = face.get("FaceMatchThreshold")
        stored = DEFAULT_FACE_MATCH_THRESHOLD if threshold is None else f32(threshold)
        wire_settings["FaceSearch"] = {
            "CollectionId": face["CollectionId"],
            # "values lower than 80 are set to 80" (service model)
            "FaceMatchThreshold": max(stored, DEFAULT_FACE_MATCH_THRESHOLD),
        }
    if home is not None:
        confidence = home.get("MinConfidence")
        wire_settings["ConnectedHome"] = {
            "Labels": list(home["Labels"]),
            "MinConfidence": DEFAULT_MIN_CONFIDENCE if confidence is None else f32(confidence),
        }
    channel = _dict(body.get("NotificationChannel"))
    preference = _dict(body.get("DataSharingPreference"))
    return CreateRequest(
        name=body["Name"],
        input={"KinesisVideoStream": {"Arn": body["Input"]["KinesisVideoStream"]["Arn"]}},
        output=wire_output,
        settings=wire_settings,
        role_arn=body["RoleArn"],
        tags=dict(body.get("Tags") or {}),
        notification_channel=None if channel is None else {"SNSTopicArn": channel["SNSTopicArn"]},
        kms_key_id=body.get("KmsKeyId"),
        regions_of_interest=_regions(body.get("RegionsOfInterest")) or None,
        data_sharing_opt_in=bool(preference and preference["OptIn"]),
    )


_WITH_ARTICLE = {"KinesisDataStream": "a KinesisDataStream", "S3Destination": "an S3Destination"}


def _kind_rules(
    v: Violations, body: JsonDict, face: JsonDict | None, home: JsonDict | None, config: EmulatorConfig
) -> None:
    """Which members go with which processor kind (`spd.api.rules.KIND_RULES`), and the emulator's
    switches for the behaviour AWS leaves unclear (KMS and notification on face search, regions)."""
    if (face is None) == (home is None):
        return
    kind = rules.FACE_SEARCH if face is not None else rules.CONNECTED_HOME
    rule = rules.KIND_RULES[kind]
    settings = str(rule["settings"])
    output = _dict(body.get("Output"))
    wanted = str(rule["output"])
    if output is not None and output.get(wanted) is None:
        v.rule(f"A {settings} stream processor must output to {_WITH_ARTICLE[wanted]}")
    if kind == rules.FACE_SEARCH:
        # "should not be used to create a face search stream processor": refused only if settings say so.
        accepted = {
            "KmsKeyId": config.face_search_kms_and_notification,
            "NotificationChannel": config.face_search_kms_and_notification,
            "RegionsOfInterest": config.face_search_regions_of_interest,
        }
        for member in rules.LABEL_DETECTION_ONLY:
            if body.get(member) is not None and not accepted[member]:
                v.rule(f"{member} is not supported for {settings} stream processors")
    for member in rule.get("required", ()):
        if body.get(member) is None:
            v.rule(f"{member} is required for {settings} stream processors")


def parse_name(body: JsonDict, config: EmulatorConfig) -> str:
    """The Name of Describe, Delete or Stop, whose inputs are the same one-member structure."""
    v = _checked("DescribeStreamProcessor", body)
    v.raise_if_any(config)
    return str(body["Name"])


@dataclass(frozen=True, slots=True)
class StartRequest:
    name: str
    has_start_selector: bool
    has_stop_selector: bool
    max_duration_seconds: int | None


def parse_start(body: JsonDict, config: EmulatorConfig) -> StartRequest:
    v = _checked("StartStreamProcessor", body)
    start = _dict(body.get("StartSelector"))
    if start is not None:
        kvs = start.get("KVSStreamStartSelector")
        if kvs is None:
            v.rule("StartSelector.KVSStreamStartSelector is required")
        elif isinstance(kvs, Mapping) and (kvs.get("ProducerTimestamp") is None) == (
            kvs.get("FragmentNumber") is None
        ):
            v.rule("KVSStreamStartSelector must have exactly one of ProducerTimestamp or FragmentNumber")
    stop = _dict(body.get("StopSelector"))
    v.raise_if_any(config)
    return StartRequest(
        name=body["Name"],
        has_start_selector=start is not None,
        has_stop_selector=stop is not None,
        max_duration_seconds=None if stop is None else stop.get("MaxDurationInSeconds"),
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
    v = _checked("UpdateStreamProcessor", body)
    settings = _dict(body.get("SettingsForUpdate"))
    home = None if settings is None else _dict(settings.get("ConnectedHomeForUpdate"))
    if home is not None:
        _label_rules(v, "SettingsForUpdate.ConnectedHomeForUpdate.Labels", home.get("Labels"))
    _region_rules(v, "RegionsOfInterestForUpdate", body.get("RegionsOfInterestForUpdate"), config)
    raw_delete = body.get("ParametersToDelete")
    to_delete = frozenset(
        item for item in (raw_delete if isinstance(raw_delete, list) else ()) if isinstance(item, str)
    )
    regions_to_delete, confidence_to_delete = rules.PARAMETERS_TO_DELETE[1], rules.PARAMETERS_TO_DELETE[0]
    if body.get("RegionsOfInterestForUpdate") is not None and regions_to_delete in to_delete:
        v.rule(f"RegionsOfInterestForUpdate cannot be combined with ParametersToDelete {regions_to_delete}")
    confidence = None if home is None else home.get("MinConfidence")
    if confidence is not None and confidence_to_delete in to_delete:
        v.rule(f"MinConfidence cannot be combined with ParametersToDelete {confidence_to_delete}")
    v.raise_if_any(config)
    labels = None if home is None else home.get("Labels")
    preference = _dict(body.get("DataSharingPreferenceForUpdate"))
    return UpdateRequest(
        name=body["Name"],
        labels=None if labels is None else list(labels),
        min_confidence=None if confidence is None else f32(confidence),
        regions_of_interest=_regions(body.get("RegionsOfInterestForUpdate")),
        data_sharing_opt_in=None if preference is None else bool(preference["OptIn"]),
        parameters_to_delete=to_delete,
        has_settings=settings is not None,
    )


def parse_list(body: JsonDict, config: EmulatorConfig) -> tuple[int | None, str | None]:
    v = _checked("ListStreamProcessors", body)
    v.raise_if_any(config)
    return body.get("MaxResults"), body.get("NextToken") or None


def parse_tag_resource(body: JsonDict, config: EmulatorConfig) -> tuple[str, dict[str, str]]:
    v = _checked("TagResource", body)
    v.raise_if_any(config)
    return str(body["ResourceArn"]), dict(body["Tags"])


def parse_untag_resource(body: JsonDict, config: EmulatorConfig) -> tuple[str, list[str]]:
    v = _checked("UntagResource", body)
    v.raise_if_any(config)
    return str(body["ResourceArn"]), list(body["TagKeys"])


def parse_list_tags(body: JsonDict, config: EmulatorConfig) -> str:
    v = _checked("ListTagsForResource", body)
    v.raise_if_any(config)
    return str(body["ResourceArn"])


TAGGABLE_KINDS = ("streamprocessor", "collection")
"""The resources TagResource, UntagResource and ListTagsForResource address that the emulator holds: the
API reference names a collection, a stream processor or a Custom Labels model (which it does not hold)."""


def resource_from_arn(arn: str, *, region: str, account: str) -> tuple[str, str] | None:
    """(kind, name) of the processor or collection an ARN addresses in this account and region, or None
    if it addresses nothing the emulator holds. A collection's ARN may come as CreateCollection returns
    it, without `arn:`. Raises InvalidParameterException when the value is not a Rekognition ARN."""
    match = REKOGNITION_ARN_PATTERN.fullmatch(arn) or REKOGNITION_ARN_PATTERN.fullmatch(f"arn:{arn}")
    if match is None:
        raise RekognitionError("InvalidParameterException", f"Invalid resource ARN: {arn}")
    if match["region"] != region or match["account"] != account:
        return None
    kind, _, name = match["resource"].partition("/")
    if kind not in TAGGABLE_KINDS or not name:
        return None
    return kind, name


def parse_collection_id(operation: str, body: JsonDict, config: EmulatorConfig) -> str:
    """The CollectionId of DescribeCollection or DeleteCollection, checked against the model."""
    v = _checked(operation, body)
    v.raise_if_any(config)
    return str(body["CollectionId"])


def parse_create_collection(body: JsonDict, config: EmulatorConfig) -> tuple[str, dict[str, str]]:
    v = _checked("CreateCollection", body)
    v.raise_if_any(config)
    return str(body["CollectionId"]), dict(body.get("Tags") or {})


def parse_list_collections(body: JsonDict, config: EmulatorConfig) -> tuple[int | None, str | None]:
    v = _checked("ListCollections", body)
    v.raise_if_any(config)
    return body.get("MaxResults"), body.get("NextToken") or None
