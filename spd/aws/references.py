"""Read-only look-ups of the resources a processor references, for `spd check`, `plan`/`apply` and `spd run`.

Each look-up is one describe-style call (the same ones `spd iam-policy --for daemon` grants) and ends in
a `spd.checks.preflight.Lookup`: the resource exists (with what the checks need of it: a stream's status, a key's state, a
role's trust policy), is missing, or the call itself was denied (naming the permission it needed).
Anything else (an unreachable endpoint, a server error after retries) is raised as the `spd.errors`
type `spd.aws.errors.translate` gives, as for every other call. Nothing here decides what a finding is:
`spd.checks.preflight` does, from these results.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from botocore.parsers import ResponseParserError

from spd.aws.errors import translate
from spd.aws.gateway import Gateway
from spd.checks import preflight
from spd.checks.preflight import Found, Lookup, Reference, ReferenceKind
from spd.checks.role_permissions import SIMULATE_PERMISSION, RoleAnswer, RoleCheck, Simulation
from spd.errors import Diagnostic
from spd.model import DesiredState, ProcessorId


@dataclass(frozen=True, slots=True)
class _Call:
    service: str
    operation: str
    permission: str
    missing_codes: frozenset[str]


_CALLS: Mapping[ReferenceKind, _Call] = {
    "video_stream": _Call(
        "kinesisvideo",
        "describe_stream",
        "kinesisvideo:DescribeStream",
        frozenset({"ResourceNotFoundException"}),
    ),
    "data_stream": _Call(
        "kinesis",
        "describe_stream_summary",
        "kinesis:DescribeStreamSummary",
        frozenset({"ResourceNotFoundException"}),
    ),
    "collection": _Call(
        "rekognition",
        "describe_collection",
        "rekognition:DescribeCollection",
        frozenset({"ResourceNotFoundException"}),
    ),
    "role": _Call("iam", "get_role", "iam:GetRole", frozenset({"NoSuchEntity"})),
    "topic": _Call("sns", "get_topic_attributes", "sns:GetTopicAttributes", frozenset({"NotFound"})),
    "bucket": _Call("s3", "head_bucket", "s3:ListBucket", frozenset({"404", "NoSuchBucket", "NotFound"})),
    "key": _Call("kms", "describe_key", "kms:DescribeKey", frozenset({"NotFoundException"})),
}

_DENIED_CODES = frozenset(
    {"AccessDenied", "AccessDeniedException", "AuthorizationError", "UnauthorizedOperation", "403"}
)


def _request(reference: Reference) -> dict[str, Any]:
    ident = reference.identifier
    match reference.kind:
        case "video_stream" | "data_stream":
            return {"StreamARN": ident}
        case "collection":
            return {"CollectionId": ident}
        case "role":
            return {"RoleName": ident.rsplit("/", 1)[-1]}
        case "topic":
            return {"TopicArn": ident}
        case "bucket":
            return {"Bucket": ident}
        case "key":
            return {"KeyId": ident}


def _exists(kind: ReferenceKind, data: Mapping[str, Any]) -> Lookup:
    match kind:
        case "video_stream":
            return Lookup(Found.EXISTS, status=data.get("StreamInfo", {}).get("Status"))
        case "data_stream":
            return Lookup(Found.EXISTS, status=data.get("StreamDescriptionSummary", {}).get("StreamStatus"))
        case "role":
            return Lookup(Found.EXISTS, document=data.get("Role", {}).get("AssumeRolePolicyDocument"))
        case "key":
            metadata = data.get("KeyMetadata", {})
            state = metadata.get("KeyState") or ("Enabled" if metadata.get("Enabled", True) else "Disabled")
            return Lookup(Found.EXISTS, status=str(state))
        case _:
            return Lookup(Found.EXISTS)


async def look_up(gateway: Gateway, reference: Reference) -> Lookup:
    """Look `reference` up with one read-only call."""
    call = _CALLS[reference.kind]
    client = await gateway.service_client(call.service, reference.region, reference.target)
    try:
        data = await getattr(client, call.operation)(**_request(reference))
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        message = str(err.get("Message", "")) or code
        if code in call.missing_codes:
            return Lookup(Found.MISSING, message=message)
        if code in _DENIED_CODES:
            return Lookup(Found.DENIED, permission=call.permission, message=message)
        raise translate(call.permission.split(":", 1)[1], exc) from None
    except BotoCoreError as exc:
        raise translate(call.permission.split(":", 1)[1], exc) from None
    return _exists(reference.kind, data)


async def look_up_all(
    gateway: Gateway, references: Iterable[Reference], *, concurrency: int
) -> dict[Reference, Lookup]:
    """Every reference looked up once, at most `concurrency` calls in flight."""
    unique = list(dict.fromkeys(references))
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(reference: Reference) -> Lookup:
        async with gate:
            return await look_up(gateway, reference)

    results = await asyncio.gather(*(one(reference) for reference in unique))
    return dict(zip(unique, results, strict=True))


_SIMULATE_BATCH = 50
"""Resources per simulator call: a statement naming a whole fleet's streams is asked in slices."""


async def _simulate_once(
    client: Any, role_arn: str, simulation: Simulation, resources: list[str]
) -> set[tuple[str, str]]:
    request: dict[str, Any] = {
        "PolicySourceArn": role_arn,
        "ActionNames": list(simulation.actions),
        "ResourceArns": resources,
    }
    if simulation.context:
        request["ContextEntries"] = [
            {"ContextKeyName": key, "ContextKeyValues": list(values), "ContextKeyType": "stringList"}
            for key, values in simulation.context
        ]
    denied: set[tuple[str, str]] = set()
    async for page in client.get_paginator("simulate_principal_policy").paginate(**request):
        for result in page.get("EvaluationResults", []):
            if result.get("EvalDecision") != "allowed":
                action = str(result.get("EvalActionName", ""))
                denied.add((action, str(result.get("EvalResourceName", "*"))))
    return denied


async def simulate(gateway: Gateway, check: RoleCheck) -> RoleAnswer:
    """Ask IAM's policy simulator whether the role may do what its processors need.

    A simulator the caller may not call, or one the endpoint does not serve, makes the answer
    `unchecked` (the role's permissions are unknown, not wrong); so does a role deleted meanwhile."""
    client = await gateway.service_client("iam", check.region, check.target)
    denied: set[tuple[str, str]] = set()
    try:
        for simulation in check.simulations:
            resources = list(simulation.resources)
            for start in range(0, len(resources), _SIMULATE_BATCH):
                denied |= await _simulate_once(
                    client, check.role_arn, simulation, resources[start : start + _SIMULATE_BATCH]
                )
    except ClientError as exc:
        err = exc.response.get("Error", {})
        code = str(err.get("Code", ""))
        if code in _DENIED_CODES:
            return RoleAnswer(unchecked=f"{SIMULATE_PERMISSION} denied")
        message = str(err.get("Message", "")) or code
        return RoleAnswer(unchecked=f"{SIMULATE_PERMISSION} failed: {code}: {message}")
    except (BotoCoreError, ResponseParserError) as exc:
        # An endpoint that does not serve the simulator answers with something that is not IAM's XML.
        return RoleAnswer(unchecked=f"{SIMULATE_PERMISSION} failed: {type(exc).__name__}")
    return RoleAnswer(denied=frozenset(denied))


async def check(
    gateway: Gateway, desired: DesiredState, *, concurrency: int
) -> dict[Diagnostic, tuple[ProcessorId, ...]]:
    """The whole preflight of a spec, as `spd check`, `plan`/`apply` and the daemon run it: every
    reference looked up (read-only, at most `concurrency` calls in flight), then the permissions of
    each role Rekognition may assume simulated; each problem located in the spec and attributed to the
    processors it concerns.

    References of a target whose credentials fail are left out: the plan reports that target once.
    """
    references = preflight.references(desired)
    failing = {t for t in {r.target for r in references} if await gateway.check_target(t) is not None}
    references = [r for r in references if r.target not in failing]
    results = await look_up_all(gateway, references, concurrency=concurrency)
    checks = preflight.roles_to_simulate(desired, results)
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(role: RoleCheck) -> RoleAnswer:
        async with gate:
            return await simulate(gateway, role)

    answers = await asyncio.gather(*(one(role) for role in checks))
    permissions = {role.role_arn: answer for role, answer in zip(checks, answers, strict=True)}
    return preflight.attributed(desired, results, permissions)
