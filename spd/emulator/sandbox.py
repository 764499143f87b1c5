"""The `--local` sandbox's resources: what a spec references, created in moto's services as the spec names it.

`--local` plays the user's AWS account, so on first use of a spec the embedded emulator creates what the
spec's processors reference and does not exist yet (`spd.emulator.service.Emulator.provide`). This
module does the moto side: `create` makes one resource and `exists` looks it up, for every kind
`spd.preflight.Reference` names except face collections, which are the emulator's own.

Why moto's in-process backends rather than its APIs: the look-ups (preflight's through the service APIs,
strict Start's in `spd.emulator.references`) match the spec's exact identifiers, and several of those
cannot be chosen through the APIs: a video stream's ARN ends in its creation time, a KMS key's id is
generated, and the ARNs of `config/` name an account (111122223333) other than the one every `--local`
request runs as (moto's default, 123456789012). So each resource is created in the request account's
backend and then given the spec's identifier: the video stream and data stream keep the spec's ARN, the
key the spec's key id (an alias gets a new key carrying it), the role the account its ARN names (so that
GetRole and strict Start see the spec's role ARN). SNS looks a topic up in the account its ARN names, so
the topic is created there. Buckets and roles are global (moto keys them by partition).

moto keeps this data in process memory, so the emulator re-creates what the sandbox provided each time it
opens the state file (`spd.emulator.state` records it), and notices when one was deleted by hand.
"""

from __future__ import annotations

import json
from typing import Any

from moto.backends import get_backend

from spd.arn import parse_arn
from spd.iam_policy import SERVICE_ROLE_ACTIONS
from spd.preflight import REKOGNITION_SERVICE

MOTO_KINDS: frozenset[str] = frozenset({"video_stream", "data_stream", "role", "topic", "bucket", "key"})
"""The kinds kept in moto's services (face collections are the emulator's own)."""

TRUST_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": REKOGNITION_SERVICE}, "Action": "sts:AssumeRole"}
        ],
    }
)
"""The trust policy of a role the sandbox creates: Rekognition may assume it, nothing else."""

PERMISSIONS_POLICY = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "RekognitionServiceRole",
                "Effect": "Allow",
                "Action": sorted({a for actions in SERVICE_ROLE_ACTIONS.values() for a in actions}),
                "Resource": "*",
            }
        ],
    }
)
"""The inline policy of a role the sandbox creates: what Rekognition does through any processor's role
(the sandbox's role serves every processor naming it, so it is not narrowed to one spec's resources)."""

SANDBOX_TAG = {"spd:sandbox": "true"}


def _partition(identifier: str) -> str:
    arn = parse_arn(identifier)
    return arn.partition if arn else "aws"


def _arn_account(identifier: str, default: str) -> str:
    arn = parse_arn(identifier)
    return arn.account if arn and arn.account else default


def _name(identifier: str, marker: str) -> str:
    """`name` from `arn:...:marker/name[/creation-time]`, or the identifier itself when it is no ARN."""
    arn = parse_arn(identifier)
    resource = arn.resource if arn else identifier
    if resource.startswith(marker):
        resource = resource[len(marker) :]
    return resource.split("/", 1)[0]


def _role_path_and_name(identifier: str) -> tuple[str, str]:
    arn = parse_arn(identifier)
    resource = arn.resource if arn else f"role/{identifier}"
    inner = resource.removeprefix("role")
    path, _, name = inner.rpartition("/")
    return (path + "/") if path else "/", name


def _key_id(identifier: str) -> str:
    return identifier.split(":key/", 1)[1] if ":key/" in identifier else identifier


def _alias(identifier: str) -> str | None:
    if identifier.startswith("alias/"):
        return identifier
    if ":alias/" in identifier:
        return "alias/" + identifier.split(":alias/", 1)[1]
    return None


def _moto(service: str, account: str, region: str) -> Any:
    """moto's backend of `service` for one account and region (or partition, for IAM and S3)."""
    return get_backend(service)[account][region]  # type: ignore[call-overload]


def _backend(service: str, account: str, region: str) -> Any | None:
    """The same, or None where moto has none (a region it does not know holds nothing)."""
    try:
        return _moto(service, account, region)
    except KeyError:
        return None


def exists(kind: str, identifier: str, *, account: str, region: str) -> bool:
    """Is this resource there, where the look-ups find it?"""
    match kind:
        case "video_stream":
            backend = _backend("kinesisvideo", account, region)
            return backend is not None and identifier in backend.streams
        case "data_stream":
            backend = _backend("kinesis", account, region)
            return backend is not None and _name(identifier, "stream/") in backend.streams
        case "role":
            backend = _backend("iam", account, _partition(identifier))
            _, name = _role_path_and_name(identifier)
            return backend is not None and any(role.name == name for role in backend.get_roles())
        case "topic":
            backend = _backend("sns", _arn_account(identifier, account), region)
            return backend is not None and identifier in backend.topics
        case "bucket":
            backend = _backend("s3", account, "aws")
            return backend is not None and identifier in backend.buckets
        case "key":
            backend = _backend("kms", account, region)
            if backend is None:
                return False
            alias = _alias(identifier)
            if alias is not None:
                return any(alias in key.aliases for key in backend.keys.values())
            return _key_id(identifier) in backend.keys
        case _:
            raise ValueError(f"not a resource the sandbox keeps in moto: {kind}")


def create(kind: str, identifier: str, *, account: str, region: str) -> None:
    """Create the resource `identifier` names in the request account `account` (see the module's doc)."""
    if exists(kind, identifier, account=account, region=region):
        return
    match kind:
        case "video_stream":
            backend = _moto("kinesisvideo", account, region)
            arn = backend.create_stream(
                device_name=None,
                stream_name=_name(identifier, "stream/"),
                media_type="video/h264",
                kms_key_id=None,
                data_retention_in_hours=24,
                tags=dict(SANDBOX_TAG),
            )
            stream = backend.streams.pop(arn)
            stream.arn = identifier
            backend.streams[identifier] = stream
        case "data_stream":
            backend = _moto("kinesis", account, region)
            stream = backend.create_stream(_name(identifier, "stream/"), shard_count=1)
            stream.arn = identifier
        case "role":
            backend = _moto("iam", account, _partition(identifier))
            path, name = _role_path_and_name(identifier)
            role = backend.create_role(
                role_name=name,
                assume_role_policy_document=TRUST_POLICY,
                path=path,
                permissions_boundary=None,
                description="Created by the spd --local sandbox",
                tags=[{"Key": k, "Value": v} for k, v in SANDBOX_TAG.items()],
                max_session_duration=None,
            )
            role.account_id = _arn_account(identifier, account)
            backend.put_role_policy(name, "spd-sandbox-service-role", PERMISSIONS_POLICY)
        case "topic":
            backend = _moto("sns", _arn_account(identifier, account), region)
            backend.create_topic(_name(identifier, ""), tags=dict(SANDBOX_TAG))
        case "bucket":
            backend = _moto("s3", account, "aws")
            backend.create_bucket(identifier, region)
        case "key":
            _create_key(identifier, account=account, region=region)
        case _:
            raise ValueError(f"not a resource the sandbox keeps in moto: {kind}")


def _create_key(identifier: str, *, account: str, region: str) -> None:
    """A KMS key carrying the spec's alias, or the spec's key id and ARN."""
    backend = _moto("kms", account, region)
    key = backend.create_key(
        policy=None,
        key_usage="ENCRYPT_DECRYPT",
        key_spec="SYMMETRIC_DEFAULT",
        description="Created by the spd --local sandbox",
        tags=None,
    )
    alias = _alias(identifier)
    if alias is not None:
        backend.create_alias(key.id, alias)
        return
    wanted = _key_id(identifier)
    backend.keys.pop(key.id)
    key.id = wanted
    key.arn = f"arn:{_partition(identifier)}:kms:{region}:{_arn_account(identifier, account)}:key/{wanted}"
    backend.keys[wanted] = key
