"""What a stream processor references, looked up in the same emulator: the check behind `strict_references`.

On AWS, StartStreamProcessor succeeds and the processor then goes to FAILED, with a StatusMessage, when
the role cannot be assumed by Rekognition or a stream, collection, topic or bucket it names is missing
(the troubleshooting guide lists "Access denied to Role", "Stream <name> under account <id> not found",
"Collection not found", ...). With `strict_references` on, the emulator does the same: `problem` returns
the message of the first reference that does not resolve, or None.

The other services are moto's, served in the same process, so their data is read straight from moto's
backends (`moto.backends.get_backend(service)[account][region]`) in the processor's own account and
region; IAM and S3 are global (moto keys them by partition). Face collections are the emulator's own and
are passed in. The order of the checks follows what Rekognition needs first: the role, then the input,
then the outputs, then the collection.

`of_requests` and `of_spec` list what CreateStreamProcessor request bodies or a spec file reference, as
(kind, region, identifier) triples for `spd.emulator.backend.service.Emulator.provide` (the `--local` sandbox's
set-up, which creates each one): the control API's `POST /_emulator/references` uses them so that a test
can make the happy path exist in one call. Both go through `spd.checks.preflight.references`, so they name
exactly what `spd check` and the sandbox look up.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from typing import Any

from spd.arn import parse_arn
from spd.emulator.backend.models import StreamProcessor
from spd.emulator.moto_services.moto_glue import get_backend

REKOGNITION_PRINCIPAL = "rekognition.amazonaws.com"
ROLE_DENIED = "Access denied to Role"
COLLECTION_NOT_FOUND = "Collection not found"


def problem(
    processor: StreamProcessor, account: str, region: str, collections: Collection[str]
) -> str | None:
    """The StatusMessage of the FAILED status Start leads to, or None if every reference resolves.

    `collections`: the CollectionIds of the processor's account and region.
    """
    partition = processor.arn.split(":")[1]
    if not _role_trusts_rekognition(processor.role_arn, account, partition):
        return ROLE_DENIED
    video = _resource_name(processor.kvs_arn, "stream/")
    if not _video_stream_exists(processor.kvs_arn, video, account, region):
        return f"Stream {video} under account {account} not found"
    kds = processor.kds_arn
    if kds is not None:
        data = _resource_name(kds, "stream/")
        if data not in _data_streams(account, region):
            return f"Stream {data} under account {account} not found."
    s3 = processor.output.get("S3Destination")
    bucket = None if s3 is None else s3.get("Bucket")
    if bucket is not None and not _bucket_exists(bucket, account, partition):
        return f"The specified bucket does not exist: {bucket}"
    channel = processor.notification_channel
    topic = None if channel is None else channel.get("SNSTopicArn")
    if topic is not None and not _topic_exists(topic, account, region):
        return f"Topic does not exist: {topic}"
    face = processor.settings.get("FaceSearch")
    if face is not None and face.get("CollectionId") not in collections:
        return COLLECTION_NOT_FOUND
    return None


def _resource_name(arn: str, marker: str) -> str:
    """`name` from `arn:...:stream/name[/creation-time]`."""
    resource = arn.split(":", 5)[-1]
    if resource.startswith(marker):
        resource = resource[len(marker) :]
    return resource.split("/", 1)[0]


def _backend(service: str, account: str, region: str) -> Any | None:
    """moto's backend, or None where moto has none (a region it does not know holds nothing)."""
    try:
        return get_backend(service)[account][region]  # type: ignore[call-overload]
    except KeyError:
        return None


def _video_stream_exists(arn: str, name: str, account: str, region: str) -> bool:
    """moto keys video streams by ARN: the ARN a processor names (as the sandbox and the references call
    create it) is one look-up; only another creation time falls back to a scan by name. A Start is then
    constant time, not linear in the streams held, so starting N processors is not quadratic."""
    backend = _backend("kinesisvideo", account, region)
    if backend is None:
        return False
    return arn in backend.streams or any(stream.stream_name == name for stream in backend.streams.values())


def _data_streams(account: str, region: str) -> set[str]:
    backend = _backend("kinesis", account, region)
    return set() if backend is None else set(backend.streams)


def _topic_exists(topic_arn: str, account: str, region: str) -> bool:
    """Where moto's GetTopicAttributes looks: the account and region the topic's ARN names."""
    arn = parse_arn(topic_arn)
    if arn is not None:
        account, region = arn.account or account, arn.region or region
    backend = _backend("sns", account, region)
    return backend is not None and topic_arn in backend.topics


def _bucket_exists(bucket: str, account: str, partition: str) -> bool:
    """Bucket names are global: a bucket of any account counts (whether the role may write to it is a
    question of permissions, which strict Start does not judge)."""
    backend = _backend("s3", account, partition)
    return (backend is not None and bucket in backend.buckets) or bucket_anywhere(bucket)


def bucket_anywhere(bucket: str) -> bool:
    """Does any account of this emulator own a bucket of this name (moto keeps S3's global namespace)?"""
    owners = getattr(get_backend("s3"), "bucket_accounts", {})
    return bucket in owners


def _role_trusts_rekognition(role_arn: str, account: str, partition: str) -> bool:
    backend = _backend("iam", account, partition)
    if backend is None:
        return False
    role = next((role for role in backend.get_roles() if role.arn == role_arn), None)
    return role is not None and trusts_rekognition(role.assume_role_policy_document)


def trusts_rekognition(document: Any) -> bool:
    """Does this trust policy (JSON text or object) let `rekognition.amazonaws.com` call sts:AssumeRole?"""
    if isinstance(document, str):
        try:
            document = json.loads(document)
        except ValueError:
            return False
    if not isinstance(document, dict):
        return False
    statements = document.get("Statement", [])
    if isinstance(statements, dict):
        statements = [statements]
    if not isinstance(statements, list):
        return False
    return any(_allows(statement) for statement in statements)


def _allows(statement: Any) -> bool:
    if not isinstance(statement, dict) or statement.get("Effect") != "Allow":
        return False
    actions = _strings(statement.get("Action"))
    if not actions & {"sts:AssumeRole", "sts:*", "*"}:
        return False
    principal = statement.get("Principal")
    if principal == "*":
        return True
    return isinstance(principal, dict) and REKOGNITION_PRINCIPAL in _strings(principal.get("Service"))


def _strings(value: Any) -> set[str]:
    if isinstance(value, str):
        return {value}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


Provision = tuple[str, str, str]
"""(kind, region, identifier) of one resource to create: `spd.checks.preflight.Reference` without its target."""


class ReferenceRequestError(ValueError):
    """A request body or spec the references call cannot read; the message says what is wrong."""


def of_requests(requests: Sequence[Mapping[str, Any]], region: str) -> list[Provision]:
    """What these CreateStreamProcessor request bodies reference, for processors in `region`.

    Read as spd reads a Describe response (`spd.aws.mapping.config_from_describe`: the same wire
    members), so each reference is taken from the member AWS reads it from.
    """
    from spd.aws.mapping import config_from_describe
    from spd.model import DesiredProcessor, DesiredState, RunState

    processors = []
    for index, body in enumerate(requests):
        if not isinstance(body, Mapping) or not isinstance(body.get("Name", "request"), str):
            raise ReferenceRequestError(f"request {index + 1}: not a CreateStreamProcessor request body")
        named = {"Name": f"request-{index + 1}", **body}
        try:
            config = config_from_describe(region, named)
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ReferenceRequestError(
                f"request {index + 1}: not a CreateStreamProcessor request body ({exc})"
            ) from None
        if not isinstance(config.role_arn, str) or not config.kinesis_video_stream_arn:
            raise ReferenceRequestError(
                f"request {index + 1}: a CreateStreamProcessor request names RoleArn and "
                "Input.KinesisVideoStream.Arn"
            )
        processors.append(DesiredProcessor(config=config, run_state=RunState.RUNNING, tags=()))
    return _provisions(DesiredState(stack="references", processors=tuple(processors)))


def of_spec(path: Path, account: str) -> dict[str, list[Provision]]:
    """What the spec at `path` (a file or a directory, as `spd plan` takes it) references, by the account
    it is in: a processor of a target with an `account_id` is in that account, the others in `account`."""
    from spd.checks.preflight import references
    from spd.errors import SpecError
    from spd.spec.loader import load_spec

    try:
        loaded = load_spec(path)
    except SpecError as exc:
        raise ReferenceRequestError(f"spec {exc}") from None
    except OSError as exc:
        raise ReferenceRequestError(f"{path}: {exc.strerror or exc}") from None
    accounts = {t.name: t.account_id for t in loaded.desired.targets if t.account_id}
    out: dict[str, list[Provision]] = {}
    for ref in references(loaded.desired):
        owner = accounts.get(ref.target, account)
        out.setdefault(owner, []).append((ref.kind, ref.region, ref.identifier))
    return out


def still_missing(provisions: Sequence[Provision]) -> list[Provision]:
    """`provisions` without the buckets some account already owns: S3's names are global, so one that
    exists cannot be created again in another account, and a processor may use it as it is."""
    return [p for p in provisions if not (p[0] == "bucket" and bucket_anywhere(p[2]))]


def _provisions(desired: Any) -> list[Provision]:
    from spd.checks.preflight import references

    return [(ref.kind, ref.region, ref.identifier) for ref in references(desired)]
