"""The session ledger's port: what the start path, the results reader and `spd sessions` ask of it.

Two adapters implement `LedgerPort`: `spd.sessions.ledger.SqliteLedger` (the local file, one host) and
`spd.aws.ledger_table.LedgerTable` (the shared DynamoDB table, every host). The composition root
(`spd.connect.open_ledger`) picks one from the settings; nothing else knows which it has. The methods
are async because the shared one makes network calls; the local one answers at once.

Both keep one rule: the budget check and the intent row are one atomic write (`reserve`), made before
any StartStreamProcessor, so two writers cannot both spend the last seconds of a day's budget. The
shared one adds a second answer, `Reservation.in_flight`: another writer's start of the same processor
is in progress, so this trigger is coalesced into it instead of racing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

from spd.model import ProcessorId
from spd.sessions.notifications import Notification
from spd.store.sqlite_store import StoreError

STARTING = "starting"
"""The outcome of an intent row: written before the Start, replaced by the trigger's outcome after it."""
INTENT_REASON = (
    "no outcome recorded yet: in progress, or interrupted around its Start; counted against the budget"
)
BUDGETED = ("started", STARTING)
"""The outcomes whose requested seconds count against the day's budget."""

RowRef = int | str
"""An intent row, as `reserve` names it for `complete` (an SQLite rowid, a table item's key)."""


class LedgerError(StoreError):
    """The ledger cannot be written (or read) now: the disk is full, the file damaged, the directory gone,
    the shared table missing or unreachable."""


@dataclass(frozen=True, slots=True)
class SessionRecord:
    """One trigger's row, with what the notifications added to it."""

    at: datetime
    processor: str
    region: str
    target: str
    """The processor's target; `""` for the ambient credentials."""
    trigger: str
    outcome: str
    requested_seconds: int | None
    session_id: str | None
    reason: str | None
    processed_seconds: float | None
    """From the session's STREAM_PROCESSING_COMPLETE notification; None until it arrived."""
    labels: tuple[str, ...]
    """Labels detected in the session, sorted, each once."""


@dataclass(frozen=True, slots=True)
class Reservation:
    """What `reserve` decided: the intent row written, or none (the budget is spent, or a start of the
    processor is in flight elsewhere)."""

    row: RowRef | None
    """The intent row to `complete`; None when nothing was reserved."""
    used: float
    """Session seconds of the processor already counted today (intents included), before this one."""
    in_flight: str | None = None
    """Why nothing was reserved when it is not the budget: another writer is starting this processor
    (the trigger is then coalesced into that start)."""


@dataclass(frozen=True, slots=True)
class ReservationRequest:
    """What `reserve` is asked: a Start of `processor` for `requested_seconds` at most, under a day's
    budget of `budget_seconds` (None: no budget)."""

    at: datetime
    processor: ProcessorId
    trigger: str
    requested_seconds: int
    budget_seconds: int | None


@dataclass(frozen=True, slots=True)
class Completion:
    """What `complete` writes into an intent row: the trigger's outcome after the Start."""

    at: datetime
    outcome: str
    session_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class TriggerRow:
    """A trigger's row written at once, without an intent before it (refused before any Start)."""

    at: datetime
    processor: str
    region: str
    trigger: str
    outcome: str
    target: str = ""
    """The processor's target; `""` for the ambient credentials."""
    requested_seconds: int | None = None
    session_id: str | None = None
    reason: str | None = None


def utc_day(moment: datetime) -> tuple[datetime, datetime]:
    """The UTC day holding `moment`, as [start, end)."""
    start = moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    return start, start + timedelta(days=1)


class LedgerPort(Protocol):
    """The session ledger, open. Every method may raise `LedgerError` (nothing else of the store's)."""

    async def reserve(self, request: ReservationRequest) -> Reservation:
        """Before a Start: the day's budget check and the intent row, in one atomic write."""
        ...

    async def complete(self, row: RowRef, completion: Completion) -> None:
        """The outcome of the intent `row`; a session not started gives its reserved seconds back."""
        ...

    async def record_trigger(self, row: TriggerRow) -> None:
        """One trigger's outcome, written at once (refused before any intent)."""
        ...

    async def record_notification(self, notification: Notification, *, received: datetime) -> bool:
        """Store a notification once; False when its event was stored before (a redelivery)."""
        ...

    async def processor_of(self, session_id: str) -> ProcessorId | None:
        """Which processor a session belongs to, if it was started through this ledger."""
        ...

    async def seconds_used(self, processor: ProcessorId, day_of: datetime) -> float:
        """Session seconds of `processor` counted on the UTC day of `day_of`."""
        ...

    async def sessions(
        self, *, since: datetime, processors: Iterable[str] | None = None
    ) -> list[SessionRecord]:
        """Every trigger recorded since `since`, oldest first, with processed seconds and labels."""
        ...

    async def close(self) -> None: ...
