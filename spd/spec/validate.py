"""Rules that span several keys of a processor, or several processors, and the warnings.

Called by `spd.spec.loader` on every processor *with its file's defaults applied*, whether or not the
schema check passed: each rule reads only values of the right type and skips the rest (the schema check
reports those), so a processor with a misspelt key still gets its other problems reported in the same
run. Returns `Issue`s addressed by key path; the loader locates them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from spd.api import rules
from spd.model import AWS_TAG_PREFIX, DEFAULT_FACE_MATCH_THRESHOLD, RESERVED_TAG_PREFIX
from spd.spec import schema
from spd.spec.issues import Issue
from spd.spec.positions import Path
from spd.spec.session_rules import session_rules

_REGION = re.compile(schema.REGION_PATTERN)
# The ARN fields whose region must be the processor's, with the pattern the schema checks them against.
_REGIONAL_ARNS: tuple[tuple[tuple[str, ...], re.Pattern[str]], ...] = (
    (("input", "kinesis_video_stream_arn"), re.compile(schema.KVS_ARN_PATTERN)),
    (("output", "kinesis_data_stream_arn"), re.compile(schema.KDS_ARN_PATTERN)),
    (("notification_channel", "sns_topic_arn"), re.compile(schema.SNS_ARN_PATTERN)),
    (("kms_key_id",), re.compile(schema.KMS_KEY_PATTERN)),
)
_FRAME_TOLERANCE = rules.COORDINATE_TOLERANCE
"""Decimal sums such as 0.7 + 0.3 may land a hair above 1.0 in binary floating point; the service's
slack (it stores single precision), so that what it accepts, `spd validate` accepts."""


def _get(mapping: Any, key: str) -> Any:
    return mapping.get(key) if isinstance(mapping, dict) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def check_processor(merged: dict[str, Any], own: dict[str, Any], index: int) -> list[Issue]:
    """Every cross-key rule and warning for `processors[index]` (defaults applied in `merged`)."""
    base: Path = ("processors", index)
    issues: list[Issue] = []
    for key in ("region", "role_arn", "input"):
        if merged.get(key) is None:
            issues.append(
                Issue((*base, key), f"missing required key {key!r} (set it on the processor or in defaults)")
            )
    face_search = merged.get("face_search") is not None
    connected_home = merged.get("connected_home") is not None
    if face_search and connected_home:
        issues.append(
            Issue(
                (*base, "connected_home"),
                "takes exactly one of face_search or connected_home, not both",
                "key",
            )
        )
    elif not face_search and not connected_home:
        issues.append(Issue(base, "needs exactly one of face_search or connected_home"))
    elif face_search:
        issues.extend(_face_search_rules(merged, base))
    else:
        issues.extend(_connected_home_rules(merged, base))
    issues.extend(_region_of_interest_rules(merged.get("regions_of_interest"), base))
    issues.extend(_arn_region_rules(merged, base))
    issues.extend(_tag_rules(merged.get("tags"), own.get("tags"), (*base, "tags")))
    if face_search != connected_home:
        issues.extend(session_rules(merged, own, base, connected_home=connected_home))
    return issues


def check_defaults(defaults: dict[str, Any]) -> list[Issue]:
    """Rules on `defaults` values that do not depend on the processor they end up in."""
    tags = defaults.get("tags")
    return _tag_rules(tags, tags, ("defaults", "tags"))


_OUTPUT_KEYS = {
    "KinesisDataStream": ("kinesis_data_stream_arn",),
    "S3Destination": ("s3_bucket", "s3_key_prefix"),
}
"""The spec's `output` keys for each output member of the API."""
_WRITES_TO = {"KinesisDataStream": "a Kinesis data stream", "S3Destination": "S3"}
_MEMBER_KEYS = {"NotificationChannel": "notification_channel", "KmsKeyId": "kms_key_id"}
"""The spec's key for each request member that `rules.KIND_RULES` ties to a kind."""
_WHY_NOT = {
    "notification_channel": "only connected_home ones do",
    "kms_key_id": "it encrypts connected_home results in S3",
}
_NEEDS = {"notification_channel": "a notification_channel (sns_topic_arn)"}


def _kind_rules(merged: dict[str, Any], base: Path, kind: str) -> list[Issue]:
    """What `rules.KIND_RULES` says a processor of `kind` must have and must not have, in spec keys."""
    rule = rules.KIND_RULES[kind]
    issues: list[Issue] = []
    output = merged.get("output")
    wanted = str(rule["output"])
    needed = _OUTPUT_KEYS[wanted][0]
    if _get(output, needed) is None:
        where = (*base, "output") if output is not None else base
        issues.append(Issue(where, f"{kind} processors need output.{needed}"))
    for other, keys in _OUTPUT_KEYS.items():
        for key in keys if other != wanted else ():
            if _get(output, key) is not None:
                issues.append(
                    Issue(
                        (*base, "output", key),
                        f"{kind} processors write to {_WRITES_TO[wanted]}, not {_WRITES_TO[other]}; "
                        f"remove output.{key}",
                        "key",
                    )
                )
    for member in rule.get("forbidden", ()):
        key = _MEMBER_KEYS[member]
        if merged.get(key) is not None:
            issues.append(Issue((*base, key), f"{kind} processors take no {key} ({_WHY_NOT[key]})", "key"))
    for member in rule.get("required", ()):
        key = _MEMBER_KEYS[member]
        if merged.get(key) is None:
            issues.append(Issue(base, f"{kind} processors need {_NEEDS[key]}"))
    return issues


def _face_search_rules(merged: dict[str, Any], base: Path) -> list[Issue]:
    issues = _kind_rules(merged, base, rules.FACE_SEARCH)
    regions = merged.get("regions_of_interest")
    if isinstance(regions, list) and regions:
        issues.append(
            Issue(
                (*base, "regions_of_interest"),
                "AWS documents regions of interest for connected_home processors only; "
                "a face_search processor may ignore them",
                "key",
                "warning",
            )
        )
    threshold = _number(_get(merged.get("face_search"), "face_match_threshold"))
    if threshold is not None and 0 <= threshold < DEFAULT_FACE_MATCH_THRESHOLD:
        least = f"{DEFAULT_FACE_MATCH_THRESHOLD:g}"
        issues.append(
            Issue(
                (*base, "face_search", "face_match_threshold"),
                f"AWS stores thresholds below {least} as {least}; planned as {least} (got {threshold:g})",
                severity="warning",
            )
        )
    return issues


def _connected_home_rules(merged: dict[str, Any], base: Path) -> list[Issue]:
    issues = _kind_rules(merged, base, rules.CONNECTED_HOME)
    if merged.get("desired_state") == "running":
        issues.append(
            Issue(
                (*base, "desired_state"),
                "connected_home processors cannot be kept running: each session lasts at most "
                f"{rules.MAX_SESSION_SECONDS} seconds "
                "and ends by itself; use stopped (the default)",
            )
        )
    labels = _get(merged.get("connected_home"), "labels")
    if isinstance(labels, list):
        seen: set[str] = set()
        for position, label in enumerate(labels):
            if isinstance(label, str) and label in schema.LABELS:
                if label in seen:
                    issues.append(
                        Issue(
                            (*base, "connected_home", "labels", position),
                            f"label {label} is listed more than once",
                            severity="warning",
                        )
                    )
                seen.add(label)
    return issues


def _region_of_interest_rules(regions: Any, base: Path) -> list[Issue]:
    if not isinstance(regions, list):
        return []
    issues: list[Issue] = []
    for position, region in enumerate(regions):
        if not isinstance(region, dict):
            continue
        path = (*base, "regions_of_interest", position)
        box = region.get("bounding_box")
        polygon = region.get("polygon")
        if box is not None and polygon is not None:
            issues.append(
                Issue((*path, "polygon"), "takes exactly one of bounding_box or polygon, not both", "key")
            )
        elif box is None and polygon is None:
            issues.append(Issue(path, "a region of interest needs exactly one of bounding_box or polygon"))
        if isinstance(box, dict):
            for start, size in (("left", "width"), ("top", "height")):
                origin = _number(box.get(start))
                extent = _number(box.get(size))
                if origin is None or extent is None or not (0 <= origin <= 1 and 0 <= extent <= 1):
                    continue
                if origin + extent > 1 + _FRAME_TOLERANCE:
                    issues.append(
                        Issue(
                            (*path, "bounding_box", size),
                            f"box leaves the frame: {start} + {size} = {origin + extent:g}, more than 1",
                        )
                    )
    return issues


def _arn_region_rules(merged: dict[str, Any], base: Path) -> list[Issue]:
    region = _text(merged.get("region"))
    if region is None or not _REGION.match(region):
        return []
    issues: list[Issue] = []
    for keys, pattern in _REGIONAL_ARNS:
        value: Any = merged
        for key in keys:
            value = _get(value, key)
        arn = _text(value)
        if arn is None or not arn.startswith("arn:") or not pattern.match(arn):
            continue
        parts = arn.split(":")
        if len(parts) < 6:
            continue
        if parts[3] != region:
            issues.append(
                Issue(
                    (*base, *keys),
                    f"this ARN is in region {parts[3]!r}, but the processor is in {region}",
                )
            )
    return issues


def _tag_rules(tags: Any, own: Any, path: Path) -> list[Issue]:
    """Reserved prefixes on the tags written at `path` (`own`); the count on the merged `tags`."""
    issues: list[Issue] = []
    if isinstance(own, dict):
        for key in own:
            if not isinstance(key, str):
                continue
            if key.lower().startswith(AWS_TAG_PREFIX):
                issues.append(
                    Issue((*path, key), "tag keys starting with 'aws:' are reserved for AWS", "key")
                )
            elif key.startswith(RESERVED_TAG_PREFIX):
                issues.append(
                    Issue(
                        (*path, key),
                        "tag keys starting with 'spd:' are reserved for spd (it sets spd:stack itself)",
                        "key",
                    )
                )
    # Counted where tags are written: a processor without tags of its own shares the defaults' count.
    if isinstance(own, dict) and isinstance(tags, dict) and len(tags) > schema.MAX_USER_TAGS:
        issues.append(
            Issue(
                path,
                f"{len(tags)} tags; at most {schema.MAX_USER_TAGS} are allowed "
                f"(AWS allows {schema.MAX_USER_TAGS + 1} per processor and spd adds spd:stack)",
                "key",
            )
        )
    return issues


@dataclass(frozen=True, slots=True)
class Declared:
    """One processor as the cross-spec rules see it; `ref` is the caller's handle for locating it."""

    ref: int
    base: Path
    merged: dict[str, Any]


def cross_spec_issues(
    declared: Sequence[Declared], where: Callable[[int, Path], str]
) -> list[tuple[int, Issue]]:
    """Names unique per (target, region); one processor per video stream; one per data stream.

    The second declaration is the one reported, and the message says where the first is (`where`
    renders a `ref` and path as `file:line:column`).
    """
    issues: list[tuple[int, Issue]] = []
    claimed: dict[tuple[str, ...], Declared] = {}

    def duplicate(entry: Declared, key: tuple[str, ...]) -> Declared | None:
        """The declaration that claimed `key` first, when `entry` is a later one."""
        first = claimed.setdefault(key, entry)
        return None if first is entry else first

    def report(entry: Declared, path: Path, message: str) -> None:
        issues.append((entry.ref, Issue((*entry.base, *path), message)))

    for entry in declared:
        merged = entry.merged
        name = _text(merged.get("name"))
        region = _text(merged.get("region"))
        target = _text(merged.get("target")) or ""
        path: Path = ("name",)
        if (
            name is not None
            and region is not None
            and (first := duplicate(entry, ("name", target, region, name)))
        ):
            at = where(first.ref, (*first.base, *path))
            place = f"{region} of target {target!r}" if target else region
            report(entry, path, f"processor {name!r} is already defined in {place} at {at}")
        kvs = _text(_get(merged.get("input"), "kinesis_video_stream_arn"))
        path = ("input", "kinesis_video_stream_arn")
        if kvs is not None and (first := duplicate(entry, ("video", kvs))):
            at = where(first.ref, (*first.base, *path))
            report(
                entry,
                path,
                f"this Kinesis video stream already feeds processor {_label(first)} at {at}; "
                "a video stream feeds at most one processor",
            )
        kds = _text(_get(merged.get("output"), "kinesis_data_stream_arn"))
        path = ("output", "kinesis_data_stream_arn")
        if kds is not None and (first := duplicate(entry, ("data", kds))):
            at = where(first.ref, (*first.base, *path))
            report(
                entry,
                path,
                f"this Kinesis data stream already receives from processor {_label(first)} at {at}; "
                "a data stream receives from at most one processor",
            )
    return issues


def _label(entry: Declared) -> str:
    name = _text(entry.merged.get("name"))
    return repr(name) if name is not None else "(unnamed)"
