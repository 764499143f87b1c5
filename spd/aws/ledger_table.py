"""The session ledger in the shared store's table (`LedgerPort`): admission by one conditional transaction.

The items and their keys are described in `spd.aws.ledger_items`.

`reserve` is one TransactWriteItems of three writes: the budget item (`ADD used :requested`, on condition
that the sum stays within the budget), the open record (claimable only when no start of the processor is
in flight: state `starting` younger than `IN_FLIGHT_SECONDS`), and the intent row. DynamoDB checks the
conditions and applies the writes atomically, so of two hosts racing for the last seconds one is refused,
and of two triggers of one processor at once one reserves and the other is coalesced. `complete` updates
the row and the open record, and gives back the reserved seconds of a session not started; a
STREAM_PROCESSING_COMPLETE notification replaces the requested seconds by the processed ones, once (the
row's `processed_ms` is written on condition that it is absent).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from spd.aws.ledger_items import (
    Keys,
    day_of,
    ms,
    number,
    row_item,
    row_ref,
    row_sk,
    session_record,
    text_or_null,
)
from spd.aws.store_table import CANCELLED, PK, SK, StoreTable, StoreTableError, key
from spd.model import ProcessorId
from spd.sessions.ledger_port import (
    BUDGETED,
    INTENT_REASON,
    STARTING,
    Completion,
    Reservation,
    ReservationRequest,
    RowRef,
    SessionRecord,
    TriggerRow,
)
from spd.sessions.notifications import Notification, NotificationType

IN_FLIGHT_SECONDS = 60
"""How long a `starting` open record keeps other writers from starting the same processor.

A bound from the writer's wall clock is safe here, unlike for the lease: a start it lets through too
early (clocks apart, a writer paused past it) is not a second session, because the service itself
refuses a second StartStreamProcessor of a running processor (ResourceInUseException, coalesced by the
start path). The record only spares that race and its calls; a writer that died mid-start blocks its
processor for at most this long."""
_FAILED = "ConditionalCheckFailed"


class LedgerTable:
    """`LedgerPort` over the shared table, for one stack."""

    def __init__(self, table: StoreTable, stack: str, *, now: Callable[[], datetime] | None = None) -> None:
        """`now`: the latest day `sessions` reads (today by default)."""
        self.table = table
        self.keys = Keys(stack)
        self._now = now or (lambda: datetime.now(UTC))
        self._intents: dict[str, tuple[ProcessorId, int, str]] = {}
        """Intent rows reserved here and not completed yet: processor, requested seconds, day."""

    async def reserve(self, request: ReservationRequest) -> Reservation:
        """One TransactWriteItems (budget, open record, intent row). `Reservation.used` is read (one
        GetItem) only for a budget refusal, where the message quotes it; 0.0 otherwise."""
        processor, requested_seconds, budget_seconds = (
            request.processor,
            request.requested_seconds,
            request.budget_seconds,
        )
        day, at_ms = day_of(request.at), ms(request.at)
        budget_key = self.keys.budget(day, processor)
        if budget_seconds is not None and requested_seconds > budget_seconds:
            return Reservation(None, await self._used(budget_key))
        pk, sk = self.keys.sessions(day), row_sk(at_ms, uuid.uuid4().hex)
        ref = row_ref(pk, sk)
        try:
            await self.table.call(
                "transact_write_items",
                TransactItems=[
                    {"Update": self._spend(budget_key, requested_seconds, budget_seconds)},
                    {"Update": self._claim(processor, at_ms, ref)},
                    {"Put": self._intent(pk, sk, at_ms, processor, request.trigger, requested_seconds)},
                ],
            )
        except StoreTableError as exc:
            if exc.code != CANCELLED:
                raise
            if exc.reasons[:1] == (_FAILED,):
                return Reservation(None, await self._used(budget_key))
            if exc.reasons[1:2] == (_FAILED,):
                return Reservation(None, 0.0, in_flight=self._in_flight_reason(processor))
            raise
        self._intents[ref] = (processor, requested_seconds, day)
        return Reservation(ref, 0.0)

    @staticmethod
    def _in_flight_reason(processor: ProcessorId) -> str:
        return (
            f"a start of {processor} is in flight elsewhere (another daemon or `spd session start`, "
            f"within the last {IN_FLIGHT_SECONDS} s); its session is this trigger's"
        )

    def _spend(self, budget_key: dict[str, Any], requested: int, budget: int | None) -> dict[str, Any]:
        update: dict[str, Any] = {
            "TableName": self.table.name,
            "Key": budget_key,
            "UpdateExpression": "ADD #used :requested",
            "ExpressionAttributeNames": {"#used": "used"},
            "ExpressionAttributeValues": {":requested": number(requested)},
        }
        if budget is not None:
            update["ConditionExpression"] = "attribute_not_exists(#used) OR #used <= :room"
            update["ExpressionAttributeValues"][":room"] = number(budget - requested)
        return update

    def _claim(self, processor: ProcessorId, at_ms: int, ref: str) -> dict[str, Any]:
        return {
            "TableName": self.table.name,
            "Key": self.keys.open(processor),
            "UpdateExpression": "SET #state = :starting, #since = :now, #row = :row",
            "ConditionExpression": "attribute_not_exists(#state) OR #state <> :starting OR #since < :stale",
            "ExpressionAttributeNames": {"#state": "state", "#since": "since_ms", "#row": "row"},
            "ExpressionAttributeValues": {
                ":starting": {"S": STARTING},
                ":now": number(at_ms),
                ":row": {"S": ref},
                ":stale": number(at_ms - IN_FLIGHT_SECONDS * 1000),
            },
        }

    def _intent(
        self, pk: str, sk: str, at_ms: int, processor: ProcessorId, trigger: str, requested: int
    ) -> dict[str, Any]:
        item = row_item(
            pk,
            sk,
            at_ms=at_ms,
            processor=processor.name,
            region=processor.region,
            target=processor.target,
            trigger=trigger,
            outcome=STARTING,
            requested_seconds=requested,
            session_id=None,
            reason=INTENT_REASON,
            completed_ms=None,
        )
        return {"TableName": self.table.name, "Item": item}

    async def _used(self, budget_key: dict[str, Any]) -> float:
        answer = await self.table.call("get_item", Key=budget_key, ConsistentRead=True)
        used = answer.get("Item", {}).get("used", {}).get("N")
        return 0.0 if used is None else float(used)

    async def complete(self, row: RowRef, completion: Completion) -> None:
        outcome, session_id = completion.outcome, completion.session_id
        ref = str(row)
        pk, _, sk = ref.partition("\n")
        known = self._intents.get(ref)
        if known is None:
            raise StoreTableError(f"store table {self.table.name!r}: no intent row {sk!r} reserved here")
        processor, requested, day = known
        writes: list[dict[str, Any]] = [{"Update": self._completion(pk, sk, completion)}]
        if outcome not in BUDGETED:
            writes.append({"Update": self._give_back(self.keys.budget(day, processor), requested)})
        if session_id is not None:
            writes.append({"Put": self._session_item(session_id, pk, sk, processor, requested, day)})
        try:
            await self.table.call(
                "transact_write_items",
                TransactItems=[*writes, {"Update": self._settle(processor, ref, outcome)}],
            )
        except StoreTableError as exc:
            if exc.code != CANCELLED or exc.reasons[-1:] != (_FAILED,):
                raise
            # The open record was claimed since by another writer (this start outlived the bound):
            # it is theirs now; everything else is still this row's.
            await self.table.call("transact_write_items", TransactItems=writes)
        del self._intents[ref]

    def _completion(self, pk: str, sk: str, completion: Completion) -> dict[str, Any]:
        return {
            "TableName": self.table.name,
            "Key": key(pk, sk),
            "UpdateExpression": "SET #o = :o, #sid = :sid, #r = :r, #c = :c",
            "ExpressionAttributeNames": {
                "#o": "outcome",
                "#sid": "session_id",
                "#r": "reason",
                "#c": "completed_ms",
            },
            "ExpressionAttributeValues": {
                ":o": {"S": completion.outcome},
                ":sid": text_or_null(completion.session_id),
                ":r": text_or_null(completion.reason),
                ":c": number(ms(completion.at)),
            },
        }

    def _give_back(self, budget_key: dict[str, Any], seconds: float) -> dict[str, Any]:
        return {
            "TableName": self.table.name,
            "Key": budget_key,
            "UpdateExpression": "ADD #used :back",
            "ExpressionAttributeNames": {"#used": "used"},
            "ExpressionAttributeValues": {":back": number(-seconds)},
        }

    def _settle(self, processor: ProcessorId, ref: str, outcome: str) -> dict[str, Any]:
        return {
            "TableName": self.table.name,
            "Key": self.keys.open(processor),
            "UpdateExpression": "SET #state = :outcome",
            "ConditionExpression": "#row = :row",
            "ExpressionAttributeNames": {"#state": "state", "#row": "row"},
            "ExpressionAttributeValues": {":outcome": {"S": outcome}, ":row": {"S": ref}},
        }

    def _session_item(
        self, session_id: str, pk: str, sk: str, processor: ProcessorId, requested: int | None, day: str
    ) -> dict[str, Any]:
        item = {
            **self.keys.session(session_id),
            "row_pk": {"S": pk},
            "row_sk": {"S": sk},
            "processor": {"S": processor.name},
            "region": {"S": processor.region},
            "target": {"S": processor.target},
            "day": {"S": day},
        }
        if requested is not None:
            item["requested"] = number(requested)
        return {"TableName": self.table.name, "Item": item}

    async def record_trigger(self, row: TriggerRow) -> None:
        at_ms = ms(row.at)
        item = row_item(
            self.keys.sessions(day_of(row.at)),
            row_sk(at_ms, uuid.uuid4().hex),
            at_ms=at_ms,
            processor=row.processor,
            region=row.region,
            target=row.target,
            trigger=row.trigger,
            outcome=row.outcome,
            requested_seconds=row.requested_seconds,
            session_id=row.session_id,
            reason=row.reason,
            completed_ms=at_ms,
        )
        await self.table.call("put_item", Item=item)

    async def _session(self, session_id: str) -> dict[str, Any] | None:
        answer = await self.table.call("get_item", Key=self.keys.session(session_id), ConsistentRead=True)
        item: dict[str, Any] | None = answer.get("Item")
        return item

    async def processor_of(self, session_id: str) -> ProcessorId | None:
        item = await self._session(session_id)
        if item is None:
            return None
        return ProcessorId(item["region"]["S"], item["processor"]["S"], item["target"]["S"])

    async def record_notification(self, notification: Notification, *, received: datetime) -> bool:
        started = await self._session(notification.session_id)
        note = {"Put": self._note(notification, received)}
        effects = [] if started is None else self._effects(notification, started)
        try:
            await self.table.call("transact_write_items", TransactItems=[note, *effects])
        except StoreTableError as exc:
            if exc.code != CANCELLED:
                raise
            if exc.reasons[:1] == (_FAILED,):
                return False  # stored before: a redelivery
            # A second completion of the session: its processed seconds were counted once already.
            await self.table.call("transact_write_items", TransactItems=[note])
        return True

    def _note(self, notification: Notification, received: datetime) -> dict[str, Any]:
        item: dict[str, Any] = {
            **self.keys.note(notification.event_id),
            "session_id": {"S": notification.session_id},
            "type": {"S": notification.type.value},
            "received_ms": number(ms(received)),
        }
        if notification.processed_video_millis is not None:
            item["processed_ms"] = number(notification.processed_video_millis)
        names = [label.name for label in notification.labels]
        if names:
            item["labels"] = {"L": [{"S": name} for name in names]}
        return {
            "TableName": self.table.name,
            "Item": item,
            "ConditionExpression": "attribute_not_exists(#pk)",
            "ExpressionAttributeNames": {"#pk": PK},
        }

    def _effects(self, notification: Notification, started: dict[str, Any]) -> list[dict[str, Any]]:
        """What a notification changes besides its own item: the row's labels, or its processed
        seconds and the budget (once)."""
        row = key(started["row_pk"]["S"], started["row_sk"]["S"])
        if notification.type is NotificationType.LABEL_DETECTED:
            names = {label.name for label in notification.labels}
            if not names:
                return []
            return [
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": row,
                        "UpdateExpression": "ADD #labels :names",
                        "ExpressionAttributeNames": {"#labels": "labels"},
                        "ExpressionAttributeValues": {":names": {"SS": sorted(names)}},
                    }
                }
            ]
        processed = notification.processed_video_millis
        if processed is None:
            return []
        return self._processed(row, started, processed)

    def _processed(
        self, row: dict[str, Any], started: dict[str, Any], processed_ms: int
    ) -> list[dict[str, Any]]:
        writes: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self.table.name,
                    "Key": row,
                    "UpdateExpression": "SET #p = :p",
                    "ConditionExpression": "attribute_not_exists(#p)",
                    "ExpressionAttributeNames": {"#p": "processed_ms"},
                    "ExpressionAttributeValues": {":p": number(processed_ms)},
                }
            }
        ]
        requested = started.get("requested", {}).get("N")
        if requested is not None:
            pid = ProcessorId(started["region"]["S"], started["processor"]["S"], started["target"]["S"])
            budget = self.keys.budget(started["day"]["S"], pid)
            writes.append({"Update": self._give_back(budget, int(requested) - processed_ms / 1000)})
        return writes

    async def seconds_used(self, processor: ProcessorId, day_of_: datetime) -> float:
        return await self._used(self.keys.budget(day_of(day_of_), processor))

    async def sessions(
        self, *, since: datetime, processors: Iterable[str] | None = None
    ) -> list[SessionRecord]:
        wanted = None if processors is None else set(processors)
        first = since.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        last = max(self._now(), since)
        items: list[dict[str, Any]] = []
        day = first
        while day <= last:
            items.extend(
                await self.table.query_all(self.keys.sessions(day_of(day)), sk_from=row_sk(ms(since), ""))
            )
            day += timedelta(days=1)
        records = [session_record(item) for item in items if item.get(SK, {}).get("S")]
        return [r for r in records if wanted is None or r.processor in wanted]

    async def close(self) -> None:
        """Nothing to flush: every write was made when asked. The client is the gateway's."""
