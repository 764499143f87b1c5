"""Observed processors written back as a spec: the pure half of `spd import`.

Taking over a fleet made by hand (or by another tool) starts from a spec that says exactly what exists,
so that planning it shows no field changes. This module turns `ObservedProcessor`s into that spec's YAML
text and does no I/O; `spd.cli.import_cmd` reads the service and writes the files.

The text is written for a person to review: block style, keys in the order the spec reference (docs/reference/spec.md) lists them,
values equal to the service's defaults left out (read from the field table, `spd.api.fields`), what every
processor shares (region, role, common tags) moved into `defaults`, `spd:` and `aws:` tags dropped, floats
as the shortest decimal that the service's single precision stores identically, and a comment above each
processor with the status it had when read.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import yaml

from spd.api.fields import BY_SPEC
from spd.arn import parse_arn
from spd.model import (
    AWS_TAG_PREFIX,
    RESERVED_TAG_PREFIX,
    ConnectedHome,
    FaceSearch,
    ObservedProcessor,
    ProcessorConfig,
    RunState,
    Status,
    f32,
    region_document,
)
from spd.spec.scalars import resolve_plain

DEFAULT_STACK = "imported"
"""The stack an imported spec names when `--stack` is not given."""

_STOPPED_STATUSES = frozenset({Status.STOPPED, Status.STOPPING, Status.FAILED})
"""Face-search statuses imported as `desired_state: stopped`: a processor that is not running (or is on
its way to stopping, or has failed) is not started by applying the imported spec."""


def human_float(value: float) -> float | int:
    """The shortest decimal that single precision stores as `value` stores: 0.1, not 0.10000000149011612.

    Integral values come back as ints (`85`, not `85.0`), as a person writes a threshold.
    """
    target = f32(value)
    for digits in range(10):
        candidate = round(value, digits)
        if f32(candidate) == target:
            break
    else:  # pragma: no cover - nine decimals always round-trip a float32 in [0, 100]
        candidate = value
    if float(candidate).is_integer():
        return int(candidate)
    return float(candidate)


def run_state(processor: ObservedProcessor) -> RunState:
    """What the imported spec asks for: face search keeps running unless it is not; connected home stops."""
    config = processor.config
    if config is None or isinstance(config.settings, ConnectedHome):
        return RunState.STOPPED
    return RunState.STOPPED if processor.status in _STOPPED_STATUSES else RunState.RUNNING


def user_tags(processor: ObservedProcessor) -> dict[str, str]:
    """The tags a spec may declare: `spd:` tags are spd's own and `aws:` tags AWS's, so both are dropped."""
    return {
        k: v
        for k, v in processor.tag_dict.items()
        if not k.lower().startswith((RESERVED_TAG_PREFIX, AWS_TAG_PREFIX))
    }


def _not_default(spec_key: str, value: Any) -> bool:
    return bool(value != BY_SPEC[spec_key].default)


def _regions(config: ProcessorConfig) -> list[dict[str, Any]]:
    return [region_document(region, number=human_float) for region in config.regions_of_interest]


def processor_entry(
    processor: ObservedProcessor, *, shared: dict[str, Any], shared_tags: dict[str, str]
) -> dict[str, Any]:
    """One processor's mapping, leaving out defaults and what `defaults` already says."""
    config = processor.config
    assert config is not None, "only described processors are imported"
    entry: dict[str, Any] = {"name": config.name}
    if "region" not in shared:
        entry["region"] = config.region
    if "role_arn" not in shared:
        entry["role_arn"] = config.role_arn
    entry["input"] = {"kinesis_video_stream_arn": config.kinesis_video_stream_arn}
    settings = config.settings
    if isinstance(settings, FaceSearch):
        face: dict[str, Any] = {"collection_id": settings.collection_id}
        threshold = settings.face_match_threshold
        if _not_default("face_search.face_match_threshold", threshold):
            face["face_match_threshold"] = human_float(threshold)
        entry["face_search"] = face
        entry["output"] = {"kinesis_data_stream_arn": config.kinesis_data_stream_arn}
    else:
        home: dict[str, Any] = {"labels": list(settings.labels)}
        if _not_default("connected_home.min_confidence", settings.min_confidence):
            home["min_confidence"] = human_float(settings.min_confidence)
        entry["connected_home"] = home
        output: dict[str, Any] = {"s3_bucket": config.s3_bucket}
        if config.s3_key_prefix:
            output["s3_key_prefix"] = config.s3_key_prefix
        entry["output"] = output
        entry["notification_channel"] = {"sns_topic_arn": config.sns_topic_arn}
        if config.kms_key_id:
            entry["kms_key_id"] = config.kms_key_id
    if config.regions_of_interest:
        entry["regions_of_interest"] = _regions(config)
    if _not_default("data_sharing", config.data_sharing):
        entry["data_sharing"] = config.data_sharing
    if isinstance(settings, FaceSearch) and run_state(processor) is RunState.STOPPED:
        entry["desired_state"] = RunState.STOPPED.value
    own_tags = {k: v for k, v in sorted(user_tags(processor).items()) if shared_tags.get(k) != v}
    if own_tags:
        entry["tags"] = own_tags
    return entry


def shared_values(processors: Sequence[ObservedProcessor]) -> tuple[dict[str, Any], dict[str, str]]:
    """What every processor has in common: (region and role_arn when all agree, tags all carry alike)."""
    configs = [p.config for p in processors if p.config is not None]
    shared: dict[str, Any] = {}
    if not configs:
        return shared, {}
    for key in ("region", "role_arn"):
        values = {getattr(c, key) for c in configs}
        if len(values) == 1:
            shared[key] = values.pop()
    tag_sets = [user_tags(p) for p in processors]
    common = dict(tag_sets[0])
    for tags in tag_sets[1:]:
        common = {k: v for k, v in common.items() if tags.get(k) == v}
    return shared, dict(sorted(common.items()))


def _status_comment(processor: ObservedProcessor) -> str:
    text = f"{processor.id}: {processor.status.value}"
    if processor.status_message:
        text += f" ({' '.join(processor.status_message.split())})"
    return text


class _Dumper(yaml.SafeDumper):
    """Block style; a string that spd's YAML 1.2 reading would type as something else is quoted."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        # Lists indented under their key, as people (and the manual's examples) write them.
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML resolves plain scalars by YAML 1.1 and so would leave e.g. `0o17` unquoted, which spd reads
    # as an integer: quote whatever spd would not read back as this very string.
    style = "'" if resolve_plain(value) != value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def _dump(data: Any) -> str:
    return yaml.dump(
        data, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True, width=4096
    )


def _indent(text: str, prefix: str) -> str:
    return "".join(prefix + line if line.strip() else line for line in text.splitlines(keepends=True))


def target_block(
    name: str, processors: Iterable[ObservedProcessor], regions: Iterable[str], profile: str
) -> dict[str, Any]:
    """`targets:` for `spd import --target NAME`: the account the processors' ARNs name, the regions
    read, and the profile they were read with (the operator may replace it with a role_arn)."""
    accounts = sorted({arn.account for p in processors if p.arn and (arn := parse_arn(p.arn)) is not None})
    block: dict[str, Any] = {}
    if len(accounts) == 1:
        block["account_id"] = accounts[0]
    block["profile"] = profile
    block["regions"] = list(dict.fromkeys(regions))
    return {name: block}


def render_spec(
    stack: str,
    processors: Iterable[ObservedProcessor],
    *,
    source: str = "",
    targets: dict[str, Any] | None = None,
    target: str | None = None,
) -> str:
    """The spec text for `processors` (read with Describe and ListTagsForResource), in stack `stack`.

    Processors are listed by region, then name. `source` goes into the heading comment (e.g. the
    regions read), so the file says where it came from. With `targets` (one target, see
    `target_block`), the spec declares it; with `target` (or `targets`), its `defaults` put every
    processor in that target.
    """
    ordered = sorted((p for p in processors if p.config is not None), key=lambda p: (p.id.region, p.id.name))
    shared, shared_tags = shared_values(ordered)
    lines = [f"# Imported by `spd import`{f' from {source}' if source else ''}: review before applying.\n"]
    lines.append(_dump({"version": 1, "stack": stack}))
    if targets:
        lines.append("targets:\n" + _indent(_dump(targets), "  "))
    target = target or (next(iter(targets)) if targets else None)
    defaults: dict[str, Any] = {"target": target} if target else {}
    defaults.update(shared)
    if shared_tags:
        defaults["tags"] = shared_tags
    if defaults:
        lines.append("defaults:\n" + _indent(_dump(defaults), "  "))
    if not ordered:
        lines.append("processors: []\n")
        return "".join(lines)
    lines.append("processors:\n")
    for processor in ordered:
        entry = processor_entry(processor, shared=shared, shared_tags=shared_tags)
        body = _dump([entry])
        lines.append(f"  # {_status_comment(processor)}\n")
        lines.append(_indent(body, "  "))
    return "".join(lines)
