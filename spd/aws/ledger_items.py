"""The session ledger's items in the shared store's table: their keys, their attributes, and the records
read back from them (`spd.aws.ledger_table` writes them; `spd.aws.store_copy` writes them from SQLite rows).

Items of stack S (all keys strings; `P` is a processor's key `target|region|name`, `D` a UTC day):

| pk                | sk                   | what                                                         |
| ----------------- | -------------------- | ------------------------------------------------------------ |
| `S#sessions#D`    | `<at_ms:013>#<id>`   | one trigger's row (as the SQLite ledger's), processed, labels |
| `S#budget#D`      | `P`                  | `used`: the seconds the processor's sessions of day D count   |
| `S#open`          | `P`                  | the processor's open-session record: `state`, `since_ms`, `row` |
| `S#session#<id>`  | `-`                  | a started session's id -> its row, processor and budget item  |
| `S#note#<event>`  | `-`                  | one notification, stored once                                 |

Sessions are partitioned by stack and UTC day so that `spd sessions --since` is one Query per day, and
sorted by time within the day; the rest is read by key only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from spd.aws.store_table import key
from spd.model import ProcessorId
from spd.sessions.ledger_port import SessionRecord


def day_of(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d")


def processor_key(pid: ProcessorId) -> str:
    return f"{pid.target}|{pid.region}|{pid.name}"


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def number(value: float) -> dict[str, str]:
    return {"N": repr(value) if isinstance(value, float) else str(value)}


def text_or_null(value: str | None) -> dict[str, Any]:
    return {"NULL": True} if value is None else {"S": value}


class Keys:
    """The keys of one stack's items."""

    def __init__(self, stack: str) -> None:
        self.stack = stack

    def sessions(self, day: str) -> str:
        return f"{self.stack}#sessions#{day}"

    def budget(self, day: str, pid: ProcessorId) -> dict[str, Any]:
        return key(f"{self.stack}#budget#{day}", processor_key(pid))

    def open(self, pid: ProcessorId) -> dict[str, Any]:
        return key(f"{self.stack}#open", processor_key(pid))

    def session(self, session_id: str) -> dict[str, Any]:
        return key(f"{self.stack}#session#{session_id}", "-")

    def note(self, event_id: str) -> dict[str, Any]:
        return key(f"{self.stack}#note#{event_id}", "-")


def row_sk(at_ms: int, suffix: str) -> str:
    return f"{at_ms:013d}#{suffix}"


def row_item(
    pk: str,
    sk: str,
    *,
    at_ms: int,
    processor: str,
    region: str,
    target: str,
    trigger: str,
    outcome: str,
    requested_seconds: int | None,
    session_id: str | None,
    reason: str | None,
    completed_ms: int | None,
) -> dict[str, Any]:
    item: dict[str, Any] = {
        **key(pk, sk),
        "at_ms": number(at_ms),
        "processor": {"S": processor},
        "region": {"S": region},
        "target": {"S": target},
        "trigger": {"S": trigger},
        "outcome": {"S": outcome},
        "session_id": text_or_null(session_id),
        "reason": text_or_null(reason),
    }
    if requested_seconds is not None:
        item["requested"] = number(requested_seconds)
    if completed_ms is not None:
        item["completed_ms"] = number(completed_ms)
    return item


def row_ref(pk: str, sk: str) -> str:
    return f"{pk}\n{sk}"


def session_record(item: dict[str, Any]) -> SessionRecord:
    def text(name: str) -> str | None:
        value: str | None = item.get(name, {}).get("S")
        return value

    requested = item.get("requested", {}).get("N")
    processed = item.get("processed_ms", {}).get("N")
    return SessionRecord(
        at=datetime.fromtimestamp(int(item["at_ms"]["N"]) / 1000, UTC),
        processor=text("processor") or "",
        region=text("region") or "",
        target=text("target") or "",
        trigger=text("trigger") or "",
        outcome=text("outcome") or "",
        requested_seconds=None if requested is None else int(requested),
        session_id=text("session_id"),
        reason=text("reason"),
        processed_seconds=None if processed is None else float(processed) / 1000,
        labels=tuple(sorted(item.get("labels", {}).get("SS", ()))),
    )
