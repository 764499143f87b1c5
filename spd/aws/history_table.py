"""The history of drift and action events in the shared store's table (`HistoryPort`).

Items: pk `S#history#D` (stack S, UTC day D), sk `<at_us:016>#<id>`; attributes `region`, `processor`,
`event`, `fields` (the event's fields as JSON) and `expires_at` (epoch seconds: the event's time plus
`history_retention` days), on which the table's TTL deletes it, so nothing is ever pruned by a call.
`spd history` reads one Query (and its pages) per day.

`record` is called from the daemon's synchronous event sink, so it only appends to a buffer; a
background task writes the buffer with BatchWriteItem (25 items a call) every `FLUSH_SECONDS`, or at
once when 25 are waiting, and `close` writes what is left. So a daemon killed with SIGKILL loses the
events of at most its last `FLUSH_SECONDS` (and any batch still being retried): drift and action events
are also in its log and its event sinks. A batch that fails is logged (`report`) and its events are
kept for the next flush, up to `MAX_BUFFERED` events, beyond which the oldest are dropped (and said so);
a batch the table refuses as invalid (an item over DynamoDB's 400 KB) is dropped and said so, rather
than holding up every later event.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from spd.aws.store_table import StoreTable, StoreTableError, key
from spd.events import Event
from spd.events.history import Entry
from spd.store.sqlite_store import StoreError

FLUSH_SECONDS = 1.0
BATCH = 25
"""BatchWriteItem's limit."""
MAX_BUFFERED = 10_000

Report = Callable[[str, dict[str, Any]], None]


def history_pk(stack: str, moment: datetime) -> str:
    return f"{stack}#history#{moment.astimezone(UTC).strftime('%Y-%m-%d')}"


def history_sk(at: datetime, suffix: str) -> str:
    return f"{int(at.timestamp() * 1_000_000):016d}#{suffix}"


def history_item(
    stack: str, at: datetime, suffix: str, event: str, fields: dict[str, Any], retention_days: float
) -> dict[str, Any]:
    item: dict[str, Any] = {
        **key(history_pk(stack, at), history_sk(at, suffix)),
        "event": {"S": event},
        "fields": {"S": json.dumps(fields, default=str, separators=(",", ":"))},
        "expires_at": {"N": str(int(at.timestamp() + retention_days * 86400))},
    }
    for name in ("region", "processor"):
        if fields.get(name) is not None:
            item[name] = {"S": str(fields[name])}
    return item


class HistoryTable:
    """`HistoryPort` over the shared table: buffered writes, one Query per day read."""

    def __init__(
        self,
        table: StoreTable,
        *,
        retention_days: Callable[[], float],
        report: Report = lambda name, fields: None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.table = table
        self.where = f"store table {table.name!r}"
        self._retention = retention_days
        self._report = report
        self._now = now
        self._buffer: list[dict[str, Any]] = []
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None

    def record(self, event: Event, *, stack: str, at: datetime) -> None:
        fields = dict(event.fields)
        self._buffer.append(history_item(stack, at, uuid.uuid4().hex, event.name, fields, self._retention()))
        if len(self._buffer) > MAX_BUFFERED:
            dropped = len(self._buffer) - MAX_BUFFERED
            del self._buffer[:dropped]
            self._report("history_events_dropped", {"table": self.table.name, "dropped": dropped})
        if self._writer is None:
            with contextlib.suppress(RuntimeError):  # no running loop: written at close
                self._writer = asyncio.get_running_loop().create_task(self._write_forever())
        if len(self._buffer) >= BATCH:
            self._wake.set()

    async def _write_forever(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), FLUSH_SECONDS)
            self._wake.clear()
            try:
                await self.flush()
            except StoreError as exc:
                self._report("history_write_failed", {"path": self.where, "error": str(exc)})

    async def flush(self) -> None:
        """Write everything buffered; on failure the unwritten events stay buffered."""
        while self._buffer:
            batch = self._buffer[:BATCH]
            try:
                answer = await self.table.call(
                    "batch_write_item",
                    RequestItems={self.table.name: [{"PutRequest": {"Item": item}} for item in batch]},
                )
            except StoreTableError as exc:
                if exc.code != "ValidationException":
                    raise
                # Events the table refuses as such (an item over 400 KB) would hold up all later ones.
                del self._buffer[: len(batch)]
                self._report(
                    "history_events_dropped",
                    {"table": self.table.name, "dropped": len(batch), "error": str(exc)},
                )
                continue
            unprocessed = answer.get("UnprocessedItems", {}).get(self.table.name, [])
            del self._buffer[: len(batch)]
            if unprocessed:  # throttled: back in front, tried again after a pause
                self._buffer[:0] = [request["PutRequest"]["Item"] for request in unprocessed]
                await asyncio.sleep(0.2)

    async def entries(
        self, stack: str, *, processor: str | None = None, since: datetime | None = None
    ) -> list[Entry]:
        now = self._now()
        first = since if since is not None else now - timedelta(days=self._retention())
        start = since if since is not None else first
        day = first.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        entries: list[Entry] = []
        while day <= max(now, first):
            items = await self.table.query_all(history_pk(stack, day), sk_from=history_sk(start, ""))
            entries.extend(self._entry(stack, item) for item in items)
            day += timedelta(days=1)
        return [e for e in entries if processor is None or e.processor == processor]

    def _entry(self, stack: str, item: dict[str, Any]) -> Entry:
        try:
            micros = int(item["sk"]["S"].partition("#")[0])
            fields = json.loads(item["fields"]["S"])
            if not isinstance(fields, dict):
                raise ValueError("not an object")
        except (KeyError, ValueError) as exc:
            raise StoreTableError(f"{self.where}: a history item is not an event ({exc})") from None
        return Entry(
            datetime.fromtimestamp(micros / 1_000_000, UTC),
            stack,
            item.get("region", {}).get("S"),
            item.get("processor", {}).get("S"),
            item["event"]["S"],
            fields,
        )

    async def prune(self, *, before: datetime) -> int:
        """Nothing to do: the table's TTL deletes items past their `expires_at`."""
        return 0

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer
            self._writer = None
        try:
            await self.flush()
        except StoreError as exc:
            self._report(
                "history_write_failed",
                {"path": self.where, "error": str(exc), "lost": len(self._buffer)},
            )
