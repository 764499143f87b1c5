"""The DynamoDB table that holds the daemons' leases: one item per lease name, written conditionally.

The decisions are `spd.ha.lease`'s; this module only reads and writes. Every write is conditional, so the
table itself settles every race: `acquire` only if no item exists, `take_over` and `renew` only if the
item still has the version the caller saw (and, for `renew` and `release`, its own holder id). A write
whose condition failed returns False; anything else that goes wrong (no table, access denied, endpoint
unreachable) raises `LeaseTableError`, whose message says what the operator should look at.

Items: `lease` (the key: the lease name), `holder`, `version`, `lease_seconds`. No timestamps: no host's
clock is ever written or compared.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from spd.aws.errors import error_code
from spd.errors import SpdError
from spd.ha.lease import LeaseRecord

KEY = "lease"
_CONDITION_FAILED = "ConditionalCheckFailedException"
_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException", "AccessDenied"})


class LeaseTableError(SpdError):
    """The lease table could not be used; the daemon stays standby and says why. `code` is DynamoDB's
    error code, when the service answered with one."""

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.code = code


def new_version() -> str:
    return uuid.uuid4().hex


@dataclass(eq=False)
class _Place:
    """What both kinds of handle are built on: a DynamoDB client (aiobotocore), the table, the name
    their items are keyed by, this daemon's holder id and its lease."""

    _client: Any
    table: str
    name: str
    holder: str
    lease_seconds: float


@dataclass(eq=False)
class LeaseTable(_Place):
    """One lease (`name`) in one table, through an aiobotocore DynamoDB client."""

    async def _call(self, operation: str, **kwargs: Any) -> dict[str, Any] | None:
        """The response, or None when a conditional write's condition failed."""
        method = getattr(self._client, operation)
        try:
            result: dict[str, Any] = await method(TableName=self.table, **kwargs)
        except ClientError as exc:
            code = error_code((None, exc.response)) or "Unknown"
            if code == _CONDITION_FAILED:
                return None
            message = exc.response.get("Error", {}).get("Message") or code
            if code == "ResourceNotFoundException":
                raise LeaseTableError(
                    f"lease table {self.table!r} does not exist ({message})", code
                ) from None
            if code in _DENIED:
                raise LeaseTableError(
                    f"access denied to lease table {self.table!r}: {message} (the daemon needs "
                    "dynamodb:GetItem, PutItem and DeleteItem on it (and Scan under ha.mode shards), "
                    "and DescribeTable/CreateTable to create it)",
                    code,
                ) from None
            raise LeaseTableError(f"lease table {self.table!r}: {code}: {message}", code) from None
        except BotoCoreError as exc:
            raise LeaseTableError(f"lease table {self.table!r}: {exc}") from None
        return result

    async def ensure(self, *, create: bool = True, wait: float = 60.0) -> bool:
        """True when the table exists (created first if absent and `create`); LeaseTableError if not."""
        try:
            described = await self._call("describe_table")
        except LeaseTableError as exc:
            if exc.code != "ResourceNotFoundException" or not create:
                raise
            described = None
        if described is not None:
            return True
        try:
            await self._call(
                "create_table",
                KeySchema=[{"AttributeName": KEY, "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": KEY, "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST",
            )
        except LeaseTableError as exc:
            if exc.code != "ResourceInUseException":  # another daemon created it first
                raise
        for _ in range(int(wait / 0.5)):
            described = await self._call("describe_table")
            if described is not None and described["Table"].get("TableStatus") == "ACTIVE":
                return True
            await asyncio.sleep(0.5)
        raise LeaseTableError(f"lease table {self.table!r} is not ACTIVE after {wait:g}s")

    async def read(self) -> LeaseRecord | None:
        """The record now (a strongly consistent read), or None when there is none."""
        answer = await self._call("get_item", Key={KEY: {"S": self.name}}, ConsistentRead=True)
        item = (answer or {}).get("Item")
        if not item:
            return None
        try:
            return LeaseRecord(
                holder=item["holder"]["S"],
                version=item["version"]["S"],
                lease_seconds=float(item["lease_seconds"]["N"]),
            )
        except (KeyError, ValueError):
            raise LeaseTableError(
                f"lease table {self.table!r}: item {self.name!r} is not a lease record: {sorted(item)}"
            ) from None

    def _item(self, version: str) -> dict[str, Any]:
        return {
            KEY: {"S": self.name},
            "holder": {"S": self.holder},
            "version": {"S": version},
            "lease_seconds": {"N": f"{self.lease_seconds:g}"},
        }

    async def _put(self, version: str, condition: dict[str, Any] | None = None) -> bool:
        """Write the record at `version` if `condition` holds (always without one); False when not."""
        return await self._call("put_item", Item=self._item(version), **(condition or {})) is not None

    async def _delete(self, condition: dict[str, Any]) -> bool:
        """Delete the record if `condition` holds; False when not."""
        return await self._call("delete_item", Key={KEY: {"S": self.name}}, **condition) is not None

    def _ours_at(self, current: str) -> dict[str, Any]:
        """The condition: the record is still this holder's, at the version it wrote last."""
        return {
            "ConditionExpression": "#v = :current AND #h = :me",
            "ExpressionAttributeNames": {"#v": "version", "#h": "holder"},
            "ExpressionAttributeValues": {":current": {"S": current}, ":me": {"S": self.holder}},
        }

    async def acquire(self, version: str) -> bool:
        """Write the record if there is none."""
        return await self._put(version, _absent())

    async def take_over(self, seen: LeaseRecord, version: str) -> bool:
        """Replace a record whose version stood still for a whole lease, if it still has that version."""
        return await self._put(version, _at_version(seen.version))

    async def renew(self, current: str, version: str) -> bool:
        """Write a fresh version, if the record is still ours at the version we wrote last."""
        return await self._put(version, self._ours_at(current))

    async def release(self, current: str) -> bool:
        """Delete the record if it is still ours at `current`, so a standby takes over at its next read."""
        return await self._delete(self._ours_at(current))

    async def announce(self, version: str) -> None:
        """Write the record whatever is there: for a record only this holder ever writes (a member
        record, keyed by the holder's id); others only ever delete it (`reap`)."""
        await self._put(version)

    async def reap(self, seen: LeaseRecord) -> bool:
        """Delete another daemon's record whose version stood still for a whole lease (a dead member),
        if it still has that version."""
        return await self._delete(_at_version(seen.version))


def _absent() -> dict[str, Any]:
    """The condition: there is no record."""
    return {"ConditionExpression": "attribute_not_exists(#k)", "ExpressionAttributeNames": {"#k": KEY}}


def _at_version(version: str) -> dict[str, Any]:
    """The condition: the record is still at `version` (whoever holds it)."""
    return {
        "ConditionExpression": "#v = :seen",
        "ExpressionAttributeNames": {"#v": "version"},
        "ExpressionAttributeValues": {":seen": {"S": version}},
    }


SHARD_PART = "/shard/"
MEMBER_PART = "/member/"


@dataclass(eq=False)
class ShardTable(_Place):
    """The shard leases and member records of one stack (`ha.mode: shards`), in the same table.

    Items are lease records (`LeaseTable`) keyed `<name>/shard/<shard>` and `<name>/member/<holder>`;
    `read_all` reads every one of the stack's items with one strongly consistent Scan (a page per 1 MB),
    so a heartbeat costs one read however many shards and members there are.
    """

    _leases: dict[str, LeaseTable] = field(default_factory=dict, init=False)

    def _lease(self, key: str) -> LeaseTable:
        if key not in self._leases:
            self._leases[key] = LeaseTable(self._client, self.table, key, self.holder, self.lease_seconds)
        return self._leases[key]

    def shard(self, shard: str) -> LeaseTable:
        return self._lease(self.name + SHARD_PART + shard)

    def member(self, holder: str | None = None) -> LeaseTable:
        return self._lease(self.name + MEMBER_PART + (holder or self.holder))

    async def ensure(self, *, create: bool = True) -> bool:
        return await self.member().ensure(create=create)

    async def read_all(self) -> tuple[dict[str, LeaseRecord], dict[str, LeaseRecord]]:
        """(shard records by shard, member records by holder), as one consistent Scan returns them."""
        prefix = self.name + "/"
        shards: dict[str, LeaseRecord] = {}
        members: dict[str, LeaseRecord] = {}
        start: dict[str, Any] | None = None
        lease = self.member()
        while True:
            page = await lease._call(
                "scan",
                ConsistentRead=True,
                FilterExpression="begins_with(#k, :p)",
                ExpressionAttributeNames={"#k": KEY},
                ExpressionAttributeValues={":p": {"S": prefix}},
                **({"ExclusiveStartKey": start} if start else {}),
            )
            for item in (page or {}).get("Items", []):
                key, record = _record(self.table, item)
                if key.startswith(self.name + SHARD_PART):
                    shards[key[len(self.name + SHARD_PART) :]] = record
                elif key.startswith(self.name + MEMBER_PART):
                    members[key[len(self.name + MEMBER_PART) :]] = record
            start = (page or {}).get("LastEvaluatedKey")
            if not start:
                return shards, members


def _record(table: str, item: dict[str, Any]) -> tuple[str, LeaseRecord]:
    try:
        return item[KEY]["S"], LeaseRecord(
            holder=item["holder"]["S"],
            version=item["version"]["S"],
            lease_seconds=float(item["lease_seconds"]["N"]),
        )
    except (KeyError, ValueError):
        raise LeaseTableError(f"lease table {table!r}: item is not a lease record: {sorted(item)}") from None
