"""The `--local` sandbox's resources: what a spec references, created in moto's services as the spec names it.

`--local` plays the user's AWS account, so on first use of a spec the embedded emulator creates what the
spec's processors reference and does not exist yet (`spd.emulator.backend.service.Emulator.provide`). This
module does the moto side: `Resources.create` makes one resource and `Resources.exists` looks it up, for
every kind `spd.checks.preflight.Reference` names except face collections, which are the emulator's own; one
`Resources` serves a whole pass over a spec's references, so that a pass costs linear time (see it).

Why moto's in-process backends rather than its APIs: the look-ups (preflight's through the service APIs,
strict Start's in `spd.emulator.backend.references`) match the spec's exact identifiers, and several of those
cannot be chosen through the APIs: a video stream's ARN ends in its creation time, a KMS key's id is
generated, and the ARNs of `config/` name an account (111122223333) other than the one every `--local`
request runs as (moto's default, 123456789012). So each resource is created in the request account's
backend and then given the spec's identifier: the video stream and data stream keep the spec's ARN, the
key the spec's key id (an alias gets a new key carrying it), the role the account its ARN names (so that
GetRole and strict Start see the spec's role ARN). SNS looks a topic up in the account its ARN names, so
the topic is created there. Buckets and roles are global (moto keys them by partition).

moto keeps this data in process memory, so the emulator re-creates what the sandbox provided each time it
opens the state file (`spd.emulator.backend.state` records it), and notices when one was deleted by hand.
"""

from __future__ import annotations

import json
from typing import Any

from spd.arn import parse_arn
from spd.checks.iam_policy import SERVICE_ROLE_ACTIONS
from spd.checks.preflight import REKOGNITION_SERVICE
from spd.emulator.moto_services.moto_glue import get_backend, iam_role_classes, video_stream_classes

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


class Resources:
    """Look-ups and creations for one pass over many references: a spec's set-up, the re-creation from
    the state file, the check for resources deleted by hand.

    Why a pass has its own object: moto finds some resources only by scanning all of them. Its Kinesis
    Video `create_stream` compares the new name with every stream's, IAM's `create_role` and `get_role`
    every role's, and a KMS alias is found by looking through every key; called once per reference, a
    spec of N streams cost N^2/2 comparisons (32,000 processors: a minute). A pass builds each such index
    (the stream names of one account and region, the role names of one partition, the aliases of one
    key store) once, on first need, keeps it up to date with its own creations, and creates those
    resources as moto's create call would but without the scan. Each look-up and creation is then
    constant time. An index is not refreshed from moto, so a pass is one short loop: the set-up and the
    re-creation run before the emulator serves any request, and a change moto's APIs make during a check
    for deletions is seen by the next check.
    """

    def __init__(self) -> None:
        self._indexes: dict[tuple[str, str, str], set[str]] = {}
        self._backends: dict[tuple[str, str, str], Any | None] = {}

    def _backend(self, service: str, account: str, region: str) -> Any | None:
        """`_backend`, each found once per pass (moto's registry look-up is the dearer part of a look-up)."""
        key = (service, account, region)
        if key not in self._backends:
            self._backends[key] = _backend(service, account, region)
        return self._backends[key]

    def _moto(self, service: str, account: str, region: str) -> Any:
        backend = self._backend(service, account, region)
        return _moto(service, account, region) if backend is None else backend

    def _index(self, what: str, account: str, region: str, backend: Any) -> set[str]:
        key = (what, account, region)
        found = self._indexes.get(key)
        if found is None:
            match what:
                case "video_stream":
                    found = {stream.stream_name for stream in backend.streams.values()}
                case "role":
                    found = {role.name for role in backend.get_roles()}
                case _:  # "alias"
                    found = {alias for kms_key in backend.keys.values() for alias in kms_key.aliases}
            self._indexes[key] = found
        return found

    def exists(self, kind: str, identifier: str, *, account: str, region: str) -> bool:
        """Is this resource there, where the look-ups find it?"""
        match kind:
            case "video_stream":
                backend = self._backend("kinesisvideo", account, region)
                return backend is not None and identifier in backend.streams
            case "data_stream":
                backend = self._backend("kinesis", account, region)
                return backend is not None and _name(identifier, "stream/") in backend.streams
            case "role":
                partition = _partition(identifier)
                backend = self._backend("iam", account, partition)
                _, name = _role_path_and_name(identifier)
                return backend is not None and name in self._index("role", account, partition, backend)
            case "topic":
                backend = self._backend("sns", _arn_account(identifier, account), region)
                return backend is not None and identifier in backend.topics
            case "bucket":
                backend = self._backend("s3", account, "aws")
                return backend is not None and identifier in backend.buckets
            case "key":
                backend = self._backend("kms", account, region)
                if backend is None:
                    return False
                alias = _alias(identifier)
                if alias is not None:
                    return alias in self._index("alias", account, region, backend)
                return _key_id(identifier) in backend.keys
            case _:
                raise ValueError(f"not a resource the sandbox keeps in moto: {kind}")

    def create(self, kind: str, identifier: str, *, account: str, region: str) -> None:
        """Create the resource `identifier` names in the request account `account` (see the module's
        doc), unless it exists already."""
        if self.exists(kind, identifier, account=account, region=region):
            return
        match kind:
            case "video_stream":
                self._create_video_stream(identifier, account, region)
            case "data_stream":
                backend = self._moto("kinesis", account, region)
                stream = backend.create_stream(_name(identifier, "stream/"), shard_count=1)
                stream.arn = identifier
            case "role":
                self._create_role(identifier, account)
            case "topic":
                backend = self._moto("sns", _arn_account(identifier, account), region)
                backend.create_topic(_name(identifier, ""), tags=dict(SANDBOX_TAG))
            case "bucket":
                backend = self._moto("s3", account, "aws")
                backend.create_bucket(identifier, region)
            case "key":
                self._create_key(identifier, account, region)
            case _:
                raise ValueError(f"not a resource the sandbox keeps in moto: {kind}")

    def _create_video_stream(self, identifier: str, account: str, region: str) -> None:
        """What moto's `create_stream` does, checking the name against the pass's index; the stream is
        kept under the spec's ARN."""
        Stream, ResourceInUseException = video_stream_classes()

        stream_type: Any = Stream  # moto types the device name and key id as str, and passes None itself
        backend = self._moto("kinesisvideo", account, region)
        name = _name(identifier, "stream/")
        names = self._index("video_stream", account, region, backend)
        if name in names:
            raise ResourceInUseException(f"The stream {name} already exists.")
        stream = stream_type(
            backend.account_id,
            backend.region_name,
            None,  # device name
            name,
            "video/h264",
            None,  # KMS key id
            24,  # data retention, hours
            dict(SANDBOX_TAG),
        )
        stream.arn = identifier
        backend.streams[identifier] = stream
        names.add(name)

    def _create_role(self, identifier: str, account: str) -> None:
        """What moto's `create_role` and `put_role_policy` do (the policy is this module's constant, valid
        once and for all), checking the name against the pass's index; the role carries the account its
        ARN names."""
        Role, EntityAlreadyExists, random_role_id = iam_role_classes()

        role_type: Any = Role  # annotated abstract (CloudFormationModel), yet moto makes them so itself
        partition = _partition(identifier)
        backend = self._moto("iam", account, partition)
        path, name = _role_path_and_name(identifier)
        names = self._index("role", account, partition, backend)
        if name in names:
            raise EntityAlreadyExists(f"Role with name {name} already exists.")
        role = role_type(
            account_id=backend.account_id,
            partition=backend.partition,
            role_id=random_role_id(backend.account_id),
            name=name,
            assume_role_policy_document=TRUST_POLICY,
            path=path,
            permissions_boundary=None,
            description="Created by the spd --local sandbox",
            tags=[{"Key": k, "Value": v} for k, v in SANDBOX_TAG.items()],
            max_session_duration=None,
        )
        backend.roles[role.id] = role
        names.add(name)
        role.account_id = _arn_account(identifier, account)
        role.put_policy("spd-sandbox-service-role", PERMISSIONS_POLICY)

    def _create_key(self, identifier: str, account: str, region: str) -> None:
        backend = self._moto("kms", account, region)
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
            self._index("alias", account, region, backend).add(alias)
            return
        wanted = _key_id(identifier)
        backend.keys.pop(key.id)
        key.id = wanted
        key.arn = (
            f"arn:{_partition(identifier)}:kms:{region}:{_arn_account(identifier, account)}:key/{wanted}"
        )
        backend.keys[wanted] = key


def exists(kind: str, identifier: str, *, account: str, region: str) -> bool:
    """One look-up on its own (a pass over many references uses one `Resources`)."""
    return Resources().exists(kind, identifier, account=account, region=region)


def create(kind: str, identifier: str, *, account: str, region: str) -> None:
    """One creation on its own (a pass over many references uses one `Resources`)."""
    Resources().create(kind, identifier, account=account, region=region)
