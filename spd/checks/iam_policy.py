"""Least-privilege IAM policies for a spec: one for whoever runs spd, one for the role Rekognition assumes.

`daemon_policy` is what `spd plan`/`apply`/`run` and the preflight checks need for exactly this spec:

- the stream-processor actions on exactly the spec's processor ARNs,
  `arn:<partition>:rekognition:<region>:<account>:streamprocessor/<name>`. A spec names no account, so the
  account (and partition) of each processor is taken from its `role_arn`: Rekognition only accepts a
  role of the processor's own account, so that is the account the processor lives in;
- on existing processors, Describe/Start/Stop/Update/Delete/ListTags/Untag only when the processor carries
  `spd:stack=<stack>` (`aws:ResourceTag/spd:stack`): even a processor of the same name that spd does not
  own is out of reach. Create and TagResource at create time carry the tag in the request instead, so they
  are conditioned on `aws:RequestTag/spd:stack`; TagResource on an owned processor (tag drift) is also
  allowed through the resource-tag statement;
- `rekognition:ListStreamProcessors` on `*`: the action has no resource-level permission;
- `iam:PassRole` on the spec's roles, only towards `rekognition.amazonaws.com` (`iam:PassedToService`);
- the preflight reads on the resources the spec references: kinesisvideo:DescribeStream,
  kinesis:DescribeStreamSummary, rekognition:DescribeCollection, iam:GetRole, sns:GetTopicAttributes,
  s3:ListBucket (what HeadBucket is authorized by) and kms:DescribeKey; and iam:SimulatePrincipalPolicy
  on the roles, with which the preflight checks each role's permissions against `service_role_policy`.

`service_role_policy` is what Rekognition itself needs through the spec's role, as AWS documents it in
"Giving Amazon Rekognition Video access to your resources"
(https://docs.aws.amazon.com/rekognition/latest/dg/api-streaming-video-roles.html) and in the managed
policy AmazonRekognitionServiceRole, narrowed from its wildcards to the spec's resources:

- kinesisvideo:GetDataEndpoint and kinesisvideo:GetMedia on the input video streams;
- kinesis:PutRecord and kinesis:PutRecords on the face-search output data streams;
- s3:PutObject on `bucket/prefix*` of the connected-home outputs, sns:Publish on their topics, and
  kms:GenerateDataKey and kms:Decrypt on their keys (the connected-home set-up page,
  https://docs.aws.amazon.com/rekognition/latest/dg/streaming-labels-setting-up.html).

With the daemon's settings (`spd iam-policy --settings FILE`, or `SPD_*` variables), `daemon_policy`
adds what the configured features need, and nothing for a feature that is not configured:

- sqs:ReceiveMessage, sqs:DeleteMessage (which also authorizes DeleteMessageBatch) and
  sqs:GetQueueAttributes on the watch, session-trigger and results queues (`watch_queue_url`,
  `session_queue_url`, `results_queue_url`), their URLs turned into queue ARNs;
- dynamodb:GetItem/PutItem/UpdateItem/DeleteItem/DescribeTable/CreateTable on the lease table (`ha.table`);
  under `ha.mode: shards` also dynamodb:Scan on it (one read of every shard and member record per
  heartbeat) and sqs:ChangeMessageVisibility on the watch queue (a message about another daemon's
  shard is made visible again at once for its holder);
- sns:Publish on the `sns` event sinks' topics, events:PutEvents on the `eventbridge` sinks' buses.

Sessions need nothing more from Rekognition: a session is a StartStreamProcessor (after a Describe) on
an owned processor, which the tag-conditioned statement already grants. A queue URL that names no
region (an emulator's) takes the spec's first region, as the daemon does; the lease table's and a bare
bus name's account is the spec's processors' account when they share one, else any (`*`): neither the
settings nor the spec say which account the daemon's own credentials are in otherwise.

The shared store's table (`store.table`; region `store.region`, else the spec's first, account as the
lease table's) gets DescribeTable, GetItem, PutItem, UpdateItem, ConditionCheckItem (the items of a
TransactWriteItems), Query and BatchWriteItem (the history), plus CreateTable and UpdateTimeToLive only
when `store.create_table` is on: `StoreTable`, on that table's ARN only.

AWS documents no collection permission for the service role (the face collection is read by Rekognition
in the caller's account, not through the role), so none is granted.

A KMS key given as an alias cannot be named as a resource of key operations (IAM authorizes them on the
key ARN), so an alias becomes `key/*` in its account and region narrowed by the condition
`kms:ResourceAliases`.

Pure: a `DesiredState` in, a JSON-ready dict out; the same spec always gives the same dict (sorted
actions and resources, statements in a fixed order), and `render` gives the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from spd.arn import parse_arn
from spd.config.fallback_region import fallback_region
from spd.config.settings import Settings
from spd.events.watch_events import queue_region
from spd.model import STACK_TAG, DesiredProcessor, DesiredState, FaceSearch

Audience = Literal["daemon", "service-role"]
AUDIENCES: tuple[Audience, ...] = ("daemon", "service-role")

VERSION = "2012-10-17"
REKOGNITION_SERVICE = "rekognition.amazonaws.com"

_ON_OWNED = (
    "rekognition:DeleteStreamProcessor",
    "rekognition:DescribeStreamProcessor",
    "rekognition:ListTagsForResource",
    "rekognition:StartStreamProcessor",
    "rekognition:StopStreamProcessor",
    "rekognition:TagResource",
    "rekognition:UntagResource",
    "rekognition:UpdateStreamProcessor",
)
_AT_CREATE = ("rekognition:CreateStreamProcessor", "rekognition:TagResource")


@dataclass(frozen=True, slots=True)
class _Where:
    """The partition, region and account a processor lives in (from its role ARN)."""

    partition: str
    region: str
    account: str

    def arn(self, service: str, resource: str, *, region: bool = True, account: bool = True) -> str:
        return (
            f"arn:{self.partition}:{service}:{self.region if region else ''}:"
            f"{self.account if account else ''}:{resource}"
        )


def _where(processor: DesiredProcessor) -> _Where:
    role = parse_arn(processor.config.role_arn)
    assert role is not None  # role_arn is validated as arn:<partition>:iam::<12 digits>:role/...
    return _Where(partition=role.partition, region=processor.config.region, account=role.account)


def processor_arn(processor: DesiredProcessor) -> str:
    """The ARN AWS gives this processor once created."""
    return _where(processor).arn("rekognition", f"streamprocessor/{processor.name}")


def _kms_key(processor: DesiredProcessor, key: str) -> tuple[str, str | None]:
    """(resource, alias or None) for a key given as id, key ARN, alias name or alias ARN."""
    where = _where(processor)
    arn = parse_arn(key)
    if arn is not None:
        if arn.resource.startswith("alias/"):
            return _Where(arn.partition, arn.region, arn.account).arn("kms", "key/*"), arn.resource
        return key, None
    if key.startswith("alias/"):
        return where.arn("kms", "key/*"), key
    return where.arn("kms", f"key/{key}"), None


def _statement(
    sid: str, actions: Iterable[str], resources: Iterable[str], condition: dict[str, Any] | None = None
) -> dict[str, Any]:
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Allow",
        "Action": sorted(set(actions)),
        "Resource": sorted(set(resources)),
    }
    if condition:
        statement["Condition"] = condition
    return statement


def _kms_statements(
    sid: str, actions: tuple[str, ...], keys: list[tuple[str, str | None]]
) -> list[dict[str, Any]]:
    plain = sorted({resource for resource, alias in keys if alias is None})
    statements = [_statement(sid, actions, plain)] if plain else []
    by_resource: dict[str, set[str]] = {}
    for resource, alias in keys:
        if alias is not None:
            by_resource.setdefault(resource, set()).add(alias)
    for index, (resource, aliases) in enumerate(sorted(by_resource.items())):
        condition = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": sorted(aliases)}}
        statements.append(_statement(f"{sid}ByAlias{index + 1}", actions, [resource], condition))
    return statements


def _policy(statements: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": VERSION, "Statement": [s for s in statements if s["Resource"]]}


STORE_TABLE_ACTIONS = (
    "dynamodb:BatchWriteItem",
    "dynamodb:ConditionCheckItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "dynamodb:UpdateItem",
)
STORE_TABLE_CREATE_ACTIONS = ("dynamodb:CreateTable", "dynamodb:UpdateTimeToLive")


def _store_statements(
    desired: DesiredState, settings: Settings | None, environ: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The shared store's table (`store.table`): what `spd.aws.store_table` and its users call."""
    if settings is None or not settings.store.table:
        return []
    partition, account = _home(desired)
    region = settings.store.region or fallback_region(environ, sorted(desired.regions))
    table = f"arn:{partition}:dynamodb:{region}:{account}:table/{settings.store.table}"
    create = STORE_TABLE_CREATE_ACTIONS if settings.store.create_table else ()
    return [_statement("StoreTable", (*STORE_TABLE_ACTIONS, *create), [table])]


def daemon_policy(
    desired: DesiredState, settings: Settings | None = None, *, environ: Mapping[str, str]
) -> dict[str, Any]:
    """What spd itself needs to plan, apply and keep this spec, and to run its preflight checks; with
    `settings`, also what the daemon's configured queues, lease table and event sinks need (in the
    region the daemon would fall back to, from `environ`, where the spec names none)."""
    processors = sorted(desired.processors, key=lambda p: (p.config.region, p.name))
    arns = [processor_arn(p) for p in processors]
    roles = [p.config.role_arn for p in processors]
    owned = {"StringEquals": {f"aws:ResourceTag/{STACK_TAG}": desired.stack}}
    requested = {"StringEquals": {f"aws:RequestTag/{STACK_TAG}": desired.stack}}
    collections = [
        _where(p).arn("rekognition", f"collection/{p.config.settings.collection_id}")
        for p in processors
        if isinstance(p.config.settings, FaceSearch)
    ]
    keys = [_kms_key(p, p.config.kms_key_id) for p in processors if p.config.kms_key_id]
    statements = [
        _statement("ProcessorsOwnedByStack", _ON_OWNED, arns, owned),
        _statement("CreateProcessorsTaggedWithStack", _AT_CREATE, arns, requested),
        _statement("ListProcessors", ["rekognition:ListStreamProcessors"], ["*"]),
        _statement(
            "PassRoleToRekognition",
            ["iam:PassRole"],
            roles,
            {"StringEquals": {"iam:PassedToService": REKOGNITION_SERVICE}},
        ),
        _statement("PreflightRoles", ["iam:GetRole", "iam:SimulatePrincipalPolicy"], roles),
        _statement(
            "PreflightVideoStreams",
            ["kinesisvideo:DescribeStream"],
            [p.config.kinesis_video_stream_arn for p in processors],
        ),
        _statement(
            "PreflightDataStreams",
            ["kinesis:DescribeStreamSummary"],
            _referenced(processors, "kinesis_data_stream_arn"),
        ),
        _statement("PreflightCollections", ["rekognition:DescribeCollection"], collections),
        _statement(
            "PreflightTopics",
            ["sns:GetTopicAttributes"],
            _referenced(processors, "sns_topic_arn"),
        ),
        _statement(
            "PreflightBuckets",
            ["s3:ListBucket"],
            [
                _where(p).arn("s3", p.config.s3_bucket, region=False, account=False)
                for p in processors
                if p.config.s3_bucket
            ],
        ),
        *_kms_statements("PreflightKeys", ("kms:DescribeKey",), keys),
        *(_feature_statements(desired, settings, environ) if settings is not None else []),
        *_store_statements(desired, settings, environ),
    ]
    return _policy(statements)


QUEUE_ACTIONS = ("sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:ReceiveMessage")
LEASE_TABLE_ACTIONS = (
    "dynamodb:CreateTable",
    "dynamodb:DeleteItem",
    "dynamodb:DescribeTable",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:UpdateItem",
)

SHARD_TABLE_ACTIONS = ("dynamodb:Scan",)
"""`ha.mode: shards` lists the shard and member records with one Scan per heartbeat."""


def _feature_statements(
    desired: DesiredState, settings: Settings, environ: Mapping[str, str]
) -> list[dict[str, Any]]:
    """The statements of the daemon's configured features (queues, lease table, event sinks)."""
    regions = sorted(desired.regions)
    first_region = fallback_region(environ, regions)
    partition, account = _home(desired)
    queues = [
        _queue_arn(url, partition, first_region)
        for url in (
            settings.watch_queue_url,
            settings.session_queue_url,
            settings.results_queue_url,
        )
        if url
    ]
    tables = []
    if settings.ha.table:
        region = settings.ha.region or first_region
        tables.append(f"arn:{partition}:dynamodb:{region}:{account}:table/{settings.ha.table}")
    topics = [sink.topic_arn for sink in settings.event_sinks if sink.type == "sns" and sink.topic_arn]
    buses: list[str] = []
    for sink in settings.event_sinks:
        if sink.type != "eventbridge" or not sink.bus:
            continue
        if sink.bus.startswith("arn:"):
            buses.append(sink.bus)
        else:
            for region in [sink.region] if sink.region else regions or [first_region]:
                buses.append(f"arn:{partition}:events:{region}:{account}:event-bus/{sink.bus}")
    sharded = settings.ha.mode == "shards"
    watch = [queues[0]] if sharded and settings.watch_queue_url else []
    return [
        _statement("ReadQueues", QUEUE_ACTIONS, queues),
        _statement("LeaseTable", LEASE_TABLE_ACTIONS, tables),
        _statement("ShardLeases", SHARD_TABLE_ACTIONS, tables if sharded else []),
        _statement("WatchQueueHandOver", ("sqs:ChangeMessageVisibility",), watch),
        _statement("EventSinkTopics", ["sns:Publish"], topics),
        _statement("EventSinkBuses", ["events:PutEvents"], buses),
    ]


def _home(desired: DesiredState) -> tuple[str, str]:
    """(partition, account) of the spec's processors when they share one account, else ("aws", "*")."""
    homes = {(_where(p).partition, _where(p).account) for p in desired.processors}
    if len(homes) == 1:
        return next(iter(homes))
    partitions = {partition for partition, _ in homes}
    return (next(iter(partitions)) if len(partitions) == 1 else "aws"), "*"


def _queue_arn(url: str, partition: str, default_region: str) -> str:
    """The ARN of the queue at `url` (`<scheme>://<host>/<account>/<name>`, as the settings validate)."""
    account, name = [segment for segment in url.split("?")[0].split("/") if segment][-2:]
    return f"arn:{partition}:sqs:{queue_region(url) or default_region}:{account}:{name}"


SERVICE_ROLE_ACTIONS: dict[str, tuple[str, ...]] = {
    "ReadVideoStreams": ("kinesisvideo:GetDataEndpoint", "kinesisvideo:GetMedia"),
    "WriteFaceSearchResults": ("kinesis:PutRecord", "kinesis:PutRecords"),
    "WriteLabelResults": ("s3:PutObject",),
    "PublishNotifications": ("sns:Publish",),
    "EncryptResults": ("kms:Decrypt", "kms:GenerateDataKey"),
}
"""Every action Rekognition takes through a processor's role, by the statement that grants it."""


def service_role_policy(desired: DesiredState) -> dict[str, Any]:
    """What Rekognition needs through the spec's roles to read the video and deliver the results."""
    processors = sorted(desired.processors, key=lambda p: (p.config.region, p.name))
    objects = []
    for p in processors:
        if p.config.s3_bucket:
            prefix = p.config.s3_key_prefix or ""
            objects.append(
                _where(p).arn("s3", f"{p.config.s3_bucket}/{prefix}*", region=False, account=False)
            )
    keys = [_kms_key(p, p.config.kms_key_id) for p in processors if p.config.kms_key_id]
    statements = [
        _statement(
            "ReadVideoStreams",
            list(SERVICE_ROLE_ACTIONS["ReadVideoStreams"]),
            [p.config.kinesis_video_stream_arn for p in processors],
        ),
        _statement(
            "WriteFaceSearchResults",
            list(SERVICE_ROLE_ACTIONS["WriteFaceSearchResults"]),
            _referenced(processors, "kinesis_data_stream_arn"),
        ),
        _statement("WriteLabelResults", list(SERVICE_ROLE_ACTIONS["WriteLabelResults"]), objects),
        _statement(
            "PublishNotifications",
            list(SERVICE_ROLE_ACTIONS["PublishNotifications"]),
            _referenced(processors, "sns_topic_arn"),
        ),
        *_kms_statements("EncryptResults", SERVICE_ROLE_ACTIONS["EncryptResults"], keys),
    ]
    return _policy(statements)


def iam_policy(
    desired: DesiredState, audience: Audience, settings: Settings | None = None, *, environ: Mapping[str, str]
) -> dict[str, Any]:
    """The policy for `audience`: "daemon" (whoever runs spd; with `settings`, its configured features
    too) or "service-role" (the role Rekognition assumes)."""
    if audience == "daemon":
        return daemon_policy(desired, settings, environ=environ)
    return service_role_policy(desired)


def render(policy: dict[str, Any]) -> str:
    """The policy as JSON text: sorted keys, two-space indent, so the same spec gives the same bytes."""
    return json.dumps(policy, indent=2, sort_keys=True) + "\n"


def _referenced(processors: Sequence[DesiredProcessor], attr: str) -> list[str]:
    """The values of one optional ARN field of the processors' configs, where set."""
    return [value for p in processors if (value := getattr(p.config, attr))]
