"""The shared store's DynamoDB table: created when absent (and allowed), and every call's errors in words.

One table per deployment holds, per stack, the session ledger, the open-session records, the daily
budgets, the notifications and the history (`spd.aws.ledger_table`, `spd.aws.history_table`). Keys are
two strings, `pk` (partition) and `sk` (sort); the layout is in those modules and in the manual's
"Shared store" page. Created on-demand (PAY_PER_REQUEST, no capacity to size) with TTL on
`expires_at`, which deletes history items past `history_retention` (no prune calls).

The client is obtained on first use (`client`: an async factory, e.g. the daemon's
`Gateway.service_client("dynamodb", region)`), and the table checked then, once: a daemon that never
records anything makes no call. Failures are `StoreTableError` (a `LedgerError`, so the start path
refuses a trigger as `ledger_unavailable`, temporary, as for a full disk), naming the table and what to do.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from spd.aws.errors import error_code
from spd.errors import ExitCode
from spd.sessions.ledger_port import LedgerError

PK = "pk"
SK = "sk"
TTL_ATTRIBUTE = "expires_at"
CONDITION_FAILED = "ConditionalCheckFailedException"
CANCELLED = "TransactionCanceledException"
_DENIED = frozenset({"AccessDeniedException", "UnrecognizedClientException", "AccessDenied"})
_TEMPORARY = frozenset(
    {
        "ThrottlingException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "InternalServerError",
        "ServiceUnavailable",
        "TransactionConflictException",
    }
)

ClientFactory = Callable[[], Awaitable[Any]]
CONFLICT_TRIES = 5


def _conflict_only(exc: StoreTableError) -> bool:
    """A cancelled transaction none of whose conditions failed: only a concurrent write was in the way."""
    return (
        exc.code == CANCELLED
        and "TransactionConflict" in exc.reasons
        and ("ConditionalCheckFailed" not in exc.reasons)
    )


class StoreTableError(LedgerError):
    """The shared store's table cannot be used now. `code`: DynamoDB's error code, when it gave one;
    `reasons`: a cancelled transaction's CancellationReasons codes, one per item."""

    def __init__(self, message: str, code: str | None = None, reasons: tuple[str | None, ...] = ()) -> None:
        super().__init__(message)
        self.code = code
        self.reasons = reasons
        passes = code is None or code in _TEMPORARY or "TransactionConflict" in reasons
        self.exit_code = ExitCode.TEMPFAIL if passes else ExitCode.CONFIG


class StoreTable:
    """One table (`name`) through one aiobotocore DynamoDB client, checked (and created) on first use."""

    def __init__(self, client: ClientFactory, name: str, *, create: bool = True) -> None:
        self._factory = client
        self.name = name
        self._create = create
        self._client: Any = None
        self._ready = asyncio.Lock()

    async def call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        """`operation` on the table (its name added, except for transactions and batches, which name it
        per item); any failure as `StoreTableError`. A transaction cancelled only because another one
        was writing the same items at that moment (TransactionConflict) is sent again, up to
        `CONFLICT_TRIES` times: its conditions are checked afresh each time."""
        client = await self._ensure()
        for attempt in range(1, CONFLICT_TRIES + 1):
            try:
                return await self._raw(client, operation, **kwargs)
            except StoreTableError as exc:
                if attempt == CONFLICT_TRIES or not _conflict_only(exc):
                    raise
                await asyncio.sleep(0.02 * attempt)
        raise AssertionError("unreachable")

    async def ready(self) -> None:
        """Check the table now (created first if absent and allowed): `StoreTableError` if unusable."""
        await self._ensure()

    async def _raw(self, client: Any, operation: str, **kwargs: Any) -> dict[str, Any]:
        if operation not in ("transact_write_items", "batch_write_item"):
            kwargs = {"TableName": self.name, **kwargs}
        try:
            result: dict[str, Any] = await getattr(client, operation)(**kwargs)
        except ClientError as exc:
            raise self._error(exc) from None
        except BotoCoreError as exc:
            raise StoreTableError(f"store table {self.name!r}: {exc} (is the endpoint reachable?)") from None
        return result

    def _error(self, exc: ClientError) -> StoreTableError:
        code = error_code((None, exc.response)) or "Unknown"
        message = exc.response.get("Error", {}).get("Message") or code
        if code == CANCELLED:
            reasons = tuple(r.get("Code") for r in exc.response.get("CancellationReasons", ()))
            return StoreTableError(f"store table {self.name!r}: transaction cancelled", code, reasons)
        if code == "ResourceNotFoundException":
            how = "" if self._create else " and store.create_table is off: create it, or turn that on"
            return StoreTableError(f"store table {self.name!r} does not exist{how} ({message})", code)
        if code in _DENIED:
            return StoreTableError(
                f"access denied to store table {self.name!r}: {message} (grant what "
                "`spd iam-policy --for daemon` lists for store.table)",
                code,
            )
        return StoreTableError(f"store table {self.name!r}: {code}: {message}", code)

    async def _ensure(self) -> Any:
        """The client, once the table is known to exist (created first if absent and allowed)."""
        if self._client is not None:
            return self._client
        async with self._ready:
            if self._client is None:
                try:
                    client = await self._factory()
                except Exception as exc:  # the gateway's own errors: no credentials, a bad endpoint
                    raise StoreTableError(f"store table {self.name!r}: {exc}") from None
                await self._check(client)
                self._client = client
        return self._client

    async def _check(self, client: Any, wait: float = 60.0) -> None:
        try:
            await self._raw(client, "describe_table")
            return
        except StoreTableError as exc:
            if exc.code != "ResourceNotFoundException" or not self._create:
                raise
        await self._create_table(client)
        for _ in range(int(wait / 0.5)):
            described = await self._raw(client, "describe_table")
            if described["Table"].get("TableStatus") == "ACTIVE":
                break
            await asyncio.sleep(0.5)
        else:
            raise StoreTableError(f"store table {self.name!r} is not ACTIVE after {wait:g}s")
        await self._raw(
            client,
            "update_time_to_live",
            TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
        )

    async def _create_table(self, client: Any) -> None:
        try:
            await self._raw(
                client,
                "create_table",
                KeySchema=[
                    {"AttributeName": PK, "KeyType": "HASH"},
                    {"AttributeName": SK, "KeyType": "RANGE"},
                ],
                AttributeDefinitions=[
                    {"AttributeName": PK, "AttributeType": "S"},
                    {"AttributeName": SK, "AttributeType": "S"},
                ],
                BillingMode="PAY_PER_REQUEST",
            )
        except StoreTableError as exc:
            if exc.code != "ResourceInUseException":  # another host created it first
                raise

    async def query_all(self, pk: str, *, sk_from: str | None = None) -> list[dict[str, Any]]:
        """Every item of partition `pk` (from sort key `sk_from` on), in sort order, all pages."""
        condition = "#pk = :pk" + ("" if sk_from is None else " AND #sk >= :from")
        names = {"#pk": PK, **({} if sk_from is None else {"#sk": SK})}
        values: dict[str, Any] = {":pk": {"S": pk}}
        if sk_from is not None:
            values[":from"] = {"S": sk_from}
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            extra = {} if start is None else {"ExclusiveStartKey": start}
            page = await self.call(
                "query",
                KeyConditionExpression=condition,
                ExpressionAttributeNames=names,
                ExpressionAttributeValues=values,
                ConsistentRead=True,
                **extra,
            )
            items.extend(page.get("Items", ()))
            start = page.get("LastEvaluatedKey")
            if not start:
                return items

    async def put_new(self, item: dict[str, Any]) -> bool:
        """Put `item` unless one with its key exists; whether it was new."""
        try:
            await self.call(
                "put_item",
                Item=item,
                ConditionExpression="attribute_not_exists(#pk)",
                ExpressionAttributeNames={"#pk": PK},
            )
        except StoreTableError as exc:
            if exc.code == CONDITION_FAILED:
                return False
            raise
        return True


def key(pk: str, sk: str) -> dict[str, Any]:
    return {PK: {"S": pk}, SK: {"S": sk}}
