"""`spd store copy`: this host's SQLite ledger and history, copied once into the shared store's table.

Idempotent: every item's key is derived from its source row (a session row's from its rowid, time,
processor and trigger; a notification's is its event id; a history event's from its rowid, time and
name), and every item is put on condition that it is absent, so a second run copies nothing and says
so. A copied session that counts against a budget (started, or an intent never completed) adds its
seconds (processed when known, else requested) to its day's budget item in the same transaction as its
row, so a copied day's budget counts it exactly once.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from spd.aws.history_table import history_item
from spd.aws.ledger_items import Keys, day_of, row_item, row_sk
from spd.aws.store_table import CANCELLED, PK, StoreTable, StoreTableError
from spd.events.history import History
from spd.model import ProcessorId
from spd.sessions.ledger import Ledger
from spd.sessions.ledger_port import BUDGETED

PROGRESS_EVERY = 200
Progress = Callable[[str, int, int], None]
"""Told (what, done, total) every `PROGRESS_EVERY` items and at the end of each kind."""


@dataclass
class Tally:
    copied: dict[str, int] = field(
        default_factory=lambda: {"sessions": 0, "notifications": 0, "history events": 0}
    )
    present: dict[str, int] = field(
        default_factory=lambda: {"sessions": 0, "notifications": 0, "history events": 0}
    )


def _digest(*parts: object) -> str:
    return "c" + hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:20]


class StoreCopy:
    """Copies into `table` for `stack` (the ledger's rows carry no stack: they are the spec's)."""

    def __init__(self, table: StoreTable, stack: str, *, retention_days: float, progress: Progress) -> None:
        self.table = table
        self.keys = Keys(stack)
        self.retention_days = retention_days
        self.progress = progress
        self.tally = Tally()

    async def ledger(self, ledger: Ledger) -> None:
        sessions, notes = ledger.source_rows()
        for done, row in enumerate(sessions, 1):
            self._count("sessions", await self._session(row))
            self._tick("sessions", done, len(sessions))
        for done, note in enumerate(notes, 1):
            self._count("notifications", await self.table.put_new(self._note(note)))
            self._tick("notifications", done, len(notes))

    async def history(self, history: History) -> None:
        rows = history.rows()
        for done, (row_id, entry) in enumerate(rows, 1):
            suffix = f"{row_id:012d}" + _digest(
                row_id, entry.at.timestamp(), entry.event
            )  # the source's order
            item = history_item(entry.stack, entry.at, suffix, entry.event, entry.fields, self.retention_days)
            self._count("history events", await self.table.put_new(item))
            self._tick("history events", done, len(rows))

    def _count(self, what: str, new: bool) -> None:
        (self.tally.copied if new else self.tally.present)[what] += 1

    def _tick(self, what: str, done: int, total: int) -> None:
        if done % PROGRESS_EVERY == 0 or done == total:
            self.progress(what, done, total)

    async def _session(self, row: dict[str, Any]) -> bool:
        at_ms = int(row["at_ms"])
        at = datetime.fromtimestamp(at_ms / 1000, UTC)
        pk = self.keys.sessions(day_of(at))
        sk = row_sk(
            at_ms,
            # The rowid first: rows of one millisecond keep the source's order.
            f"{int(row['id']):012d}"
            + _digest(row["id"], at_ms, row["processor"], row["region"], row["target"], row["trigger"]),
        )
        item = row_item(
            pk,
            sk,
            at_ms=at_ms,
            processor=row["processor"],
            region=row["region"],
            target=row["target"],
            trigger=row["trigger"],
            outcome=row["outcome"],
            requested_seconds=row["requested_seconds"],
            session_id=row["session_id"],
            reason=row["reason"],
            completed_ms=row["completed_ms"],
        )
        if row["processed_ms"] is not None:
            item["processed_ms"] = {"N": str(row["processed_ms"])}
        if row["labels"]:
            item["labels"] = {"SS": sorted(set(row["labels"].split(",")))}
        writes: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table.name,
                    "Item": item,
                    "ConditionExpression": "attribute_not_exists(#pk)",
                    "ExpressionAttributeNames": {"#pk": PK},
                }
            }
        ]
        writes.extend(self._counted(row, at, pk, sk))
        try:
            await self.table.call("transact_write_items", TransactItems=writes)
        except StoreTableError as exc:
            if exc.code == CANCELLED and exc.reasons[:1] == ("ConditionalCheckFailed",):
                return False
            raise
        return True

    def _counted(self, row: dict[str, Any], at: datetime, pk: str, sk: str) -> list[dict[str, Any]]:
        """The budget's share of a copied row (and its session-id item, for notifications to come)."""
        pid = ProcessorId(row["region"], row["processor"], row["target"])
        writes: list[dict[str, Any]] = []
        if row["outcome"] in BUDGETED and row["requested_seconds"] is not None:
            seconds = row["requested_seconds"] if row["processed_ms"] is None else row["processed_ms"] / 1000
            writes.append(
                {
                    "Update": {
                        "TableName": self.table.name,
                        "Key": self.keys.budget(day_of(at), pid),
                        "UpdateExpression": "ADD #used :s",
                        "ExpressionAttributeNames": {"#used": "used"},
                        "ExpressionAttributeValues": {":s": {"N": repr(float(seconds))}},
                    }
                }
            )
        if row["session_id"]:
            item: dict[str, Any] = {
                **self.keys.session(row["session_id"]),
                "row_pk": {"S": pk},
                "row_sk": {"S": sk},
                "processor": {"S": pid.name},
                "region": {"S": pid.region},
                "target": {"S": pid.target},
                "day": {"S": day_of(at)},
            }
            if row["requested_seconds"] is not None:
                item["requested"] = {"N": str(row["requested_seconds"])}
            writes.append({"Put": {"TableName": self.table.name, "Item": item}})
        return writes

    def _note(self, note: dict[str, Any]) -> dict[str, Any]:
        item: dict[str, Any] = {
            **self.keys.note(note["event_id"]),
            "session_id": {"S": note["session_id"]},
            "type": {"S": note["type"]},
            "received_ms": {"N": str(note["received_ms"])},
        }
        if note["processed_ms"] is not None:
            item["processed_ms"] = {"N": str(note["processed_ms"])}
        if note["labels"]:
            item["labels"] = {"L": [{"S": name} for name in note["labels"].split(",")]}
        return item
