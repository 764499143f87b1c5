"""Preflight: what is wrong with the resources a spec's processors reference, located in the spec.

`references` lists what to look up (a video stream, a data stream, a face collection, a role, an SNS
topic, an S3 bucket, a KMS key); `spd.aws.references` looks each one up and answers with a `Lookup`;
`findings` turns the answers into `Diagnostic`s at the line of the spec where each reference is written
(in `defaults` when inherited from there). A resource that is missing, or not usable as it is (a video
stream that is not ACTIVE, a KMS key that is not enabled, a role Rekognition may not assume), is an
error; a look-up that was itself denied is a warning naming the permission it needed, since the
resource may well be fine.

A role is usable when its trust policy lets `rekognition.amazonaws.com` call `sts:AssumeRole`
(`trust_problem`). Real IAM returns the policy URL-encoded; botocore usually decodes it, and both forms
are read here. The conditions `aws:SourceAccount` and `aws:SourceArn` (which AWS recommends against the
confused-deputy problem) are evaluated against the processor's account and ARN; other condition keys
depend on the request and are assumed to hold.

Pure: no I/O, no AWS library.
"""

from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from spd.arn import parse_arn
from spd.checks.role_permissions import RoleAnswer, RoleCheck, problems, role_check
from spd.errors import Diagnostic, ExitCode
from spd.model import AMBIENT_TARGET, DesiredProcessor, DesiredState, FaceSearch, ProcessorId

REKOGNITION_SERVICE = "rekognition.amazonaws.com"

ReferenceKind = Literal["video_stream", "data_stream", "collection", "role", "topic", "bucket", "key"]


@dataclass(frozen=True, slots=True)
class Reference:
    """One resource to look up: what it is, the region to ask, and its ARN, name or id."""

    kind: ReferenceKind
    region: str
    identifier: str
    target: str = AMBIENT_TARGET
    """Whose credentials look it up: the processor's target (the resource is in its account)."""


class Found(StrEnum):
    EXISTS = "exists"
    MISSING = "missing"
    DENIED = "denied"


@dataclass(frozen=True, slots=True)
class Lookup:
    """What a look-up found. `status` is a stream's status or a key's state; `document` a role's trust."""

    found: Found
    status: str | None = None
    document: Any = None
    permission: str | None = None
    message: str = ""


_NOUNS: Mapping[ReferenceKind, str] = {
    "video_stream": "Kinesis video stream",
    "data_stream": "Kinesis data stream",
    "collection": "face collection",
    "role": "IAM role",
    "topic": "SNS topic",
    "bucket": "S3 bucket",
    "key": "KMS key",
}


@dataclass(frozen=True, slots=True)
class _Use:
    """One reference of one processor: the key it is written under and what it names."""

    processor: DesiredProcessor
    field: str
    reference: Reference


def _region_of(identifier: str, default: str) -> str:
    arn = parse_arn(identifier)
    return arn.region if arn is not None and arn.region else default


def _uses(processor: DesiredProcessor) -> Iterator[_Use]:
    config = processor.config
    region = config.region

    def use(field: str, kind: ReferenceKind, identifier: str | None) -> Iterator[_Use]:
        if identifier:
            yield _Use(
                processor,
                field,
                Reference(kind, _region_of(identifier, region), identifier, processor.target),
            )

    yield from use("input.kinesis_video_stream_arn", "video_stream", config.kinesis_video_stream_arn)
    yield from use("output.kinesis_data_stream_arn", "data_stream", config.kinesis_data_stream_arn)
    if isinstance(config.settings, FaceSearch):
        yield from use("face_search.collection_id", "collection", config.settings.collection_id)
    # IAM is global: the processor's region is as good an endpoint as any.
    yield _Use(processor, "role_arn", Reference("role", region, config.role_arn, processor.target))
    yield from use("notification_channel.sns_topic_arn", "topic", config.sns_topic_arn)
    yield from use("output.s3_bucket", "bucket", config.s3_bucket)
    yield from use("kms_key_id", "key", config.kms_key_id)


def references(desired: DesiredState) -> list[Reference]:
    """Every distinct resource the spec's processors reference, in spec order."""
    return list(dict.fromkeys(use.reference for p in desired.processors for use in _uses(p)))


def processor_arn(processor: DesiredProcessor) -> tuple[str, str]:
    """The processor's account and ARN, taken from its role (Rekognition only accepts a same-account role)."""
    role = parse_arn(processor.config.role_arn)
    partition = role.partition if role is not None else "aws"
    account = role.account if role is not None else ""
    region = processor.config.region
    return account, f"arn:{partition}:rekognition:{region}:{account}:streamprocessor/{processor.name}"


def _problem(use: _Use, lookup: Lookup) -> tuple[str, str] | None:
    """(severity, message) of what `lookup` says about this use, or None when all is well."""
    ref = use.reference
    noun = _NOUNS[ref.kind]
    if lookup.found is Found.DENIED:
        return "warning", (
            f"could not check the {noun} {ref.identifier}: access denied (needs {lookup.permission})"
        )
    if lookup.found is Found.MISSING:
        where = f" in {ref.region}" if ref.kind in ("collection", "bucket", "key") else ""
        return "error", f"{noun} {ref.identifier} does not exist{where}"
    if ref.kind == "video_stream" and lookup.status not in (None, "ACTIVE"):
        return "error", f"{noun} {ref.identifier} is {lookup.status}, not ACTIVE"
    if ref.kind == "key" and lookup.status not in (None, "Enabled"):
        return "error", f"{noun} {ref.identifier} is {lookup.status}, not Enabled"
    if ref.kind == "role":
        account, arn = processor_arn(use.processor)
        why = trust_problem(lookup.document, account=account, processor_arn=arn)
        if why is not None:
            return "error", f"{REKOGNITION_SERVICE} may not assume role {ref.identifier}: {why}"
    return None


def _located(processor: DesiredProcessor, field: str) -> tuple[str, int, int, str]:
    """(file, line, column, key path) where `field` of `processor` is written (or the processor is)."""
    at = next((r for r in processor.references if r.field == field), None)
    if at is not None:
        return at.location.file, at.location.line, at.location.column, at.key_path
    if processor.source is not None:
        source = processor.source
        return source.file, source.line, source.column, f"{processor.name}.{field}"
    return "", 0, 0, f"{processor.name}.{field}"


def roles_to_simulate(desired: DesiredState, results: Mapping[Reference, Lookup]) -> list[RoleCheck]:
    """The roles whose permissions are worth simulating: those that exist and that Rekognition may
    assume for at least one of their processors (otherwise the trust finding says it all)."""
    by_role: dict[str, list[DesiredProcessor]] = {}
    for processor in desired.processors:
        by_role.setdefault(processor.config.role_arn, []).append(processor)
    checks = []
    for role_arn, processors in by_role.items():
        first = processors[0]
        lookup = results.get(Reference("role", first.config.region, role_arn, first.target))
        if lookup is None or lookup.found is not Found.EXISTS:
            continue
        if all(
            trust_problem(lookup.document, account=account, processor_arn=arn) is not None
            for account, arn in (processor_arn(p) for p in processors)
        ):
            continue
        checks.append(role_check(desired.stack, role_arn, processors))
    return checks


def attributed(
    desired: DesiredState,
    results: Mapping[Reference, Lookup],
    permissions: Mapping[str, RoleAnswer] | None = None,
) -> dict[Diagnostic, tuple[ProcessorId, ...]]:
    """Each problem found, located where the reference is written, with the processors it concerns
    (several when the reference is inherited from `defaults`); sorted by file, line and column.
    `permissions` holds the role simulator's answers by role ARN (`roles_to_simulate`)."""
    out: dict[Diagnostic, list[ProcessorId]] = {}

    def add(processor: DesiredProcessor, field: str, severity: str, message: str) -> None:
        file, line, column, path = _located(processor, field)
        ids = out.setdefault(Diagnostic(file, line, column, path, message, severity), [])
        if processor.id not in ids:
            ids.append(processor.id)

    for processor in desired.processors:
        for use in _uses(processor):
            lookup = results.get(use.reference)
            problem = _problem(use, lookup) if lookup is not None else None
            if problem is not None:
                add(processor, use.field, *problem)
        answer = (permissions or {}).get(processor.config.role_arn)
        if answer is not None:
            for severity, message in problems(desired.stack, processor, answer):
                add(processor, "role_arn", severity, message)
    ordered = sorted(out, key=lambda d: (d.file, d.line, d.column, d.path, d.message))
    return {d: tuple(out[d]) for d in ordered}


def findings(desired: DesiredState, results: Mapping[Reference, Lookup]) -> list[Diagnostic]:
    """Each problem found, located where the reference is written; sorted by file, line and column."""
    return list(attributed(desired, results))


def exit_code(found: Sequence[Diagnostic]) -> ExitCode:
    """1 when any finding is an error; warnings alone (checks that were denied) pass."""
    return ExitCode.FAILURE if any(d.severity == "error" for d in found) else ExitCode.OK


# -- trust policies -----------------------------------------------------------------------------------


def parse_policy(document: Any) -> dict[str, Any] | None:
    """A policy document as a dict: already decoded, JSON text, or URL-encoded JSON text (as IAM sends)."""
    if isinstance(document, dict):
        return document
    if not isinstance(document, str):
        return None
    for text in (document, urllib.parse.unquote(document)):
        try:
            parsed = json.loads(text)
        except ValueError:
            continue
        return parsed if isinstance(parsed, dict) else None
    return None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return list(value) if isinstance(value, list | tuple) else [value]


def _wildcard(pattern: str, *, ignore_case: bool = False) -> re.Pattern[str]:
    """IAM wildcards: `*` any run of characters, `?` any one character."""
    body = re.escape(pattern).replace(r"\*", ".*").replace(r"\?", ".")
    return re.compile(f"(?s:{body})\\Z", re.IGNORECASE if ignore_case else 0)


def _names_rekognition(principal: Any) -> bool:
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    if "*" in _as_list(principal.get("AWS")):
        return True
    return REKOGNITION_SERVICE in _as_list(principal.get("Service"))


def _allows_assume(action: Any) -> bool:
    return any(
        isinstance(a, str) and _wildcard(a, ignore_case=True).match("sts:AssumeRole")
        for a in _as_list(action)
    )


def _matches(operator: str, patterns: list[Any], actual: str) -> bool | None:
    """Whether condition `operator` with `patterns` holds for `actual`; None for an operator not judged."""
    base = operator.split(":", 1)[-1].removesuffix("IfExists")
    negated = "Not" in base
    base = base.replace("Not", "")
    values = [str(p) for p in patterns]
    if base in ("StringEquals", "ArnEquals"):
        hit = actual in values
    elif base == "StringEqualsIgnoreCase":
        hit = actual.lower() in (v.lower() for v in values)
    elif base == "StringLike":
        hit = any(_wildcard(v).match(actual) for v in values)
    elif base == "ArnLike":
        hit = any(_arn_like(v, actual) for v in values)
    else:
        return None
    return not hit if negated else hit


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike compares the six colon-separated parts of the ARN one by one."""
    want, have = pattern.split(":", 5), arn.split(":", 5)
    return len(want) == len(have) == 6 and all(_wildcard(w).match(h) for w, h in zip(want, have, strict=True))


def _condition_problem(condition: Any, *, account: str, processor_arn: str) -> str | None:
    """Why the statement's conditions cannot hold for the processor, or None when they can."""
    if not isinstance(condition, dict):
        return None
    actual = {"aws:sourceaccount": account, "aws:sourcearn": processor_arn}
    for operator, tests in condition.items():
        if not isinstance(tests, dict):
            continue
        for key, patterns in tests.items():
            value = actual.get(str(key).lower())
            if value is None:
                continue
            holds = _matches(str(operator), _as_list(patterns), value)
            if holds is False:
                return f"condition {operator} {key} {json.dumps(patterns)} does not hold for {value}"
    return None


def trust_problem(document: Any, *, account: str, processor_arn: str) -> str | None:
    """Why this trust policy does not let Rekognition assume the role for the processor, or None."""
    policy = parse_policy(document)
    if policy is None:
        return "its trust policy is not a JSON policy document"
    statements = [s for s in _as_list(policy.get("Statement")) if isinstance(s, dict)]
    allowed = False
    reasons: list[str] = []
    for statement in statements:
        if not _names_rekognition(statement.get("Principal")) or not _allows_assume(statement.get("Action")):
            continue
        why = _condition_problem(statement.get("Condition"), account=account, processor_arn=processor_arn)
        effect = statement.get("Effect")
        if effect == "Deny" and why is None:
            return "its trust policy denies sts:AssumeRole to the service"
        if effect == "Allow":
            if why is None:
                allowed = True
            else:
                reasons.append(why)
    if allowed:
        return None
    if reasons:
        return reasons[0]
    return f"its trust policy has no statement allowing {REKOGNITION_SERVICE} to call sts:AssumeRole"
