"""Turns pydantic validation errors on a spec document into `Issue`s with messages written for operators.

Called by `spd.spec.loader` after validating a file against `spd.spec.schema.SpecDocument`. Pydantic's
own wording ("Input should be a valid string") names neither the YAML type that was found nor what would
fix it; these messages do both, suggest the closest key for a misspelt one, and explain the YAML 1.1
boolean trap (`no`, `on`...).
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from spd.api import rules
from spd.api.constraints import bound, shape_of
from spd.spec import schema
from spd.spec.issues import Issue
from spd.spec.positions import Path
from spd.spec.scalars import Yaml11Bool, describe

_TAG_HINT = "may contain only letters, digits, spaces and _ . : / = + - @"

_PATTERN_HINTS: Mapping[str, Any] = MappingProxyType(
    {
        schema.NAME_PATTERN: "must match [a-zA-Z0-9_.-]+ (letters, digits, '_', '.' and '-' only)",
        schema.ROLE_ARN_PATTERN: "must be an IAM role ARN: arn:aws:iam::<12-digit account>:role/<name>",
        schema.KVS_ARN_PATTERN: (
            "must be a Kinesis video stream ARN: arn:aws:kinesisvideo:<region>:<12-digit account>:stream/<name>/<id>"
        ),
        schema.KDS_ARN_PATTERN: (
            "must be a Kinesis data stream ARN: arn:aws:kinesis:<region>:<12-digit account>:stream/<name>"
        ),
        schema.SNS_ARN_PATTERN: "must be an SNS topic ARN: arn:aws:sns:<region>:<12-digit account>:<topic>",
        schema.KMS_KEY_PATTERN: (
            "must be a KMS key id, alias or ARN: a letter or digit, then letters, digits and :_/+=,@.- only"
        ),
        schema.S3_BUCKET_PATTERN: "must be an S3 bucket name (letters, digits, '.', '-' and '_' only)",
        schema.REGION_PATTERN: "must be an AWS region such as us-east-1",
        schema.DURATION_PATTERN: "must be a duration such as 2h, 30m, 90s or 1h30m",
        schema.TAG_KEY_PATTERN: _TAG_HINT,
        schema.TAG_VALUE_PATTERN: _TAG_HINT,
    }
)

_PERCENT = shape_of("CreateStreamProcessorRequest", "Settings", "FaceSearch", "FaceMatchThreshold")
_RATIO = (bound(rules.COORDINATE_MIN), bound(rules.COORDINATE_MAX))
_SESSION = shape_of("StartStreamProcessorRequest", "StopSelector", "MaxDurationInSeconds")
_RANGES: Mapping[str, Any] = MappingProxyType(
    {
        "max_duration_seconds": (bound(_SESSION.min), bound(_SESSION.max)),
        "face_match_threshold": (bound(_PERCENT.min), bound(_PERCENT.max)),
        "min_confidence": (bound(_PERCENT.min), bound(_PERCENT.max)),
        "left": _RATIO,
        "top": _RATIO,
        "width": _RATIO,
        "height": _RATIO,
        "x": _RATIO,
        "y": _RATIO,
    }
)

_ITEM_NOUNS: Mapping[str, Any] = MappingProxyType(
    {
        "polygon": "points",
        "labels": "labels",
        "regions_of_interest": "regions of interest",
        "processors": "processors",
    }
)

_CHOICES: Mapping[str, Any] = MappingProxyType(
    {
        "desired_state": ("running", "stopped"),
        "labels": schema.LABELS,
    }
)


def issues_from_validation_error(error: ValidationError) -> list[Issue]:
    return [_issue(details) for details in error.errors(include_url=False)]


def _issue(details: ErrorDetails) -> Issue:
    loc: Path = tuple(details["loc"])
    kind = details["type"]
    value = details.get("input")
    ctx = details.get("ctx") or {}

    if loc and loc[-1] == "[key]":
        return _tag_key_issue(loc[:-1], kind, ctx)
    field = _field_name(loc)
    if kind == "missing":
        return Issue(loc, f"missing required key {loc[-1]!r}")
    if kind == "extra_forbidden":
        return Issue(loc, _unknown_key_message(loc), at="key")
    if loc == ("version",):
        return Issue(loc, _version_message(value))
    if isinstance(value, Yaml11Bool):
        return Issue(loc, _yaml11_message(kind, value, field))
    if kind == "string_type":
        hint = "; quote it" if isinstance(value, (bool, int, float)) else ""
        return Issue(loc, f"expected a string, got {describe(value)}{hint}")
    if kind in ("float_type", "int_type", "float_parsing", "int_parsing", "int_from_float"):
        noun = "an integer" if kind.startswith("int") else "a number"
        return Issue(loc, f"expected {noun}, got {describe(value)}")
    if kind == "bool_type":
        return Issue(loc, f"expected true or false, got {describe(value)}")
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return Issue(loc, f"expected a mapping, got {describe(value)}")
    if kind == "list_type":
        return Issue(loc, f"expected a list, got {describe(value)}")
    if kind == "literal_error":
        return Issue(loc, _choice_message(loc, value))
    if kind == "string_pattern_mismatch":
        hint = _PATTERN_HINTS.get(str(ctx.get("pattern")), f"must match {ctx.get('pattern')}")
        return Issue(loc, f"{hint} (got {value!r})")
    if kind == "string_too_short":
        minimum = ctx.get("min_length")
        return Issue(
            loc, f"must be at least {minimum} character{'s' if minimum != 1 else ''} long (got {len(value)})"
        )
    if kind == "string_too_long":
        return Issue(loc, f"must be at most {ctx.get('max_length')} characters long (got {len(value)})")
    if kind == "too_short" and field == "labels":
        return Issue(loc, f"needs at least one label: a non-empty set of {', '.join(schema.LABELS)}")
    if kind in ("too_short", "too_long"):
        noun = _ITEM_NOUNS.get(field, "items")
        bound = (
            f"at least {ctx.get('min_length')}" if kind == "too_short" else f"at most {ctx.get('max_length')}"
        )
        return Issue(loc, f"needs {bound} {noun} (got {ctx.get('actual_length', len(value))})")
    if kind in ("greater_than_equal", "less_than_equal", "greater_than", "less_than"):
        low, high = _RANGES.get(field, (ctx.get("ge", "-inf"), ctx.get("le", "inf")))
        if high == "inf":
            return Issue(loc, f"must be at least {low} (got {value:g})")
        return Issue(loc, f"must be between {low} and {high} (got {value:g})")
    if kind == "finite_number":
        return Issue(loc, "must be a finite number")
    return Issue(loc, details["msg"])


def _version_message(value: object) -> str:
    """`1.0` and `"1"` read as 1 to a human, so say why they are not the version."""
    if isinstance(value, str):
        return f"version must be an integer, not {describe(value)}; write version: 1 without quotes"
    if isinstance(value, float):
        return f"version must be the integer 1, not {value!r}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"unsupported spec version: {describe(value)}; this spd reads version 1"
    return f"version must be the integer 1, not {describe(value)}"


def _field_name(loc: Path) -> str:
    for step in reversed(loc):
        if isinstance(step, str):
            return step
    return ""


def _yaml11_message(kind: str, value: Yaml11Bool, field: str) -> str:
    meaning = "true" if value.value else "false"
    if kind == "bool_type":
        return (
            f"got `{value.text}`; write {meaning} (YAML 1.1 reads `{value.text}` as a boolean, "
            "YAML 1.2 as a string, so spd refuses it)"
        )
    return (
        f"got `{value.text}`, which YAML 1.1 reads as boolean {meaning}; "
        f"quote it ('{value.text}') if you mean the string"
    )


def _choice_message(loc: Path, value: Any) -> str:
    field = _field_name(loc)
    choices = _CHOICES.get(field, ())
    message = f"must be one of {', '.join(choices)} (got {describe(value)})"
    if isinstance(value, str):
        upper = [c for c in choices if c.lower() == value.lower()]
        close = upper or difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {close[0]!r}?"
    return message


def _tag_key_issue(loc: Path, kind: str, ctx: dict[str, Any]) -> Issue:
    if kind == "string_pattern_mismatch":
        message = f"tag key {_TAG_HINT}"
    elif kind == "string_too_long":
        message = f"tag keys are at most {ctx.get('max_length')} characters long"
    elif kind == "string_too_short":
        message = "tag keys cannot be empty"
    else:
        message = "tag keys must be strings"
    return Issue(loc, message, at="key")


def _unknown_key_message(loc: Path) -> str:
    key = str(loc[-1])
    parent = _model_at(loc[:-1])
    if parent is schema.ProcessorDefaults and key == "name":
        return "name cannot be set in defaults: every processor names itself"
    message = f"unknown key {key!r}"
    if parent is None:
        return message
    allowed = list(parent.model_fields)
    close = difflib.get_close_matches(key, allowed, n=1, cutoff=0.6)
    if close:
        return f"{message}; did you mean {close[0]!r}?"
    for field_name, info in parent.model_fields.items():
        nested = _find_model(info.annotation)
        if nested is not None and key in nested.model_fields:
            return f"{message}; it belongs under {field_name!r} ({field_name}.{key})"
    return f"{message}; expected one of {', '.join(allowed)}"


def _model_at(loc: Path) -> type[BaseModel] | None:
    model: type[BaseModel] = schema.SpecDocument
    for step in loc:
        if isinstance(step, int):
            continue
        info = model.model_fields.get(step)
        if info is None:
            return None
        nested = _find_model(info.annotation)
        if nested is None:
            return None
        model = nested
    return model


def _find_model(annotation: Any) -> type[BaseModel] | None:
    """The model inside an annotation such as `list[RegionOfInterestSpec] | None`."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _find_model(typing.get_args(annotation)[0])
    if origin in (list, typing.Union, types.UnionType):
        for arg in typing.get_args(annotation):
            found = _find_model(arg)
            if found is not None:
                return found
    return None
