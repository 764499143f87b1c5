"""The one start path of a connected-home session, for every trigger source.

`SessionStarter.trigger` (a trigger body) and `SessionStarter.start` (a checked `SessionRequest`, e.g.
from a window) do, in order: validate (`spd.sessions.trigger`), check the day's budget (the ledger),
read the processor (one Describe and its tags), refuse it unless it carries this stack's `spd:stack`
tag (spd never starts a processor it does not own), coalesce when it is already STARTING or RUNNING
(a session is open), and otherwise call StartStreamProcessor with the start selector and the
StopSelector. A start that races another one gets the service's ResourceInUseException
(`SessionOpenError`) and is coalesced too. Every trigger ends in exactly one `SessionOutcome`
(started, coalesced or refused), recorded in the ledger and reported as one event, so none is lost
and none is counted twice. Called by `spd session start` and by the daemon's HTTP, SQS and window
paths.

Two rules make a Start safe to send:

- the ledger knows it first: the budget check and an intent row are one ledger write
  (`Ledger.reserve`) made before any call; when it fails (disk full, damaged file) the trigger is
  refused (`ledger_unavailable`, temporary) and nothing is called. The intent row is completed with
  the outcome afterwards; if that write fails the row stays an intent, counted against the budget.
- only a process that may act sends it: the mutation gate (`spd.reconcile.mutation_gate.MutationGate`, the same
  object the reconcile executor asks in a daemon; without a lease it checks ownership alone) is asked
  immediately before StartStreamProcessor, after the Describe and ListTags: the lease first, then the
  `spd:stack` tag as just read. A daemon paused during that Describe and resumed after a standby took
  the lease is refused there (`not_leader`, temporary: an SQS message stays for the new leader).

The service is reached through `spd.reconcile.ports.FleetGateway`, never `spd.aws` (unit tests use the in-memory
`spd.reconcile.fake_gateway`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from spd import events
from spd.errors import AwsError, EndpointError, NotFoundError, SessionOpenError
from spd.events import Event, EventSink
from spd.model import DesiredState, FragmentNumber, Kind, ProcessorId, ProducerTimestamp, Status
from spd.reconcile import mutation_gate
from spd.reconcile.mutation_gate import OPEN, MutationGate, NotLeader, NotOwned, Refusal, owner_refusal
from spd.reconcile.ports import FleetGateway
from spd.sessions.ledger import Ledger, SqliteLedger
from spd.sessions.ledger_port import (
    Completion,
    LedgerError,
    LedgerPort,
    Reservation,
    ReservationRequest,
    RowRef,
    TriggerRow,
)
from spd.sessions.trigger import (
    RefusalReason,
    SessionRequest,
    TriggerRefused,
    TriggerSource,
    session_request,
)
from spd.store.sqlite_store import StoreError

Clock = Callable[[], datetime]

SESSION_OPEN = frozenset({Status.STARTING, Status.RUNNING})
"""The statuses of a processor whose session is open: another Start would be refused."""


def utc_now() -> datetime:
    return datetime.now(UTC)


class Outcome(StrEnum):
    STARTED = "started"
    COALESCED = "coalesced"
    REFUSED = "refused"


_EVENT_NAMES = {
    Outcome.STARTED: events.SESSION_STARTED,
    Outcome.COALESCED: events.SESSION_COALESCED,
    Outcome.REFUSED: events.SESSION_REFUSED,
}


@dataclass(frozen=True, slots=True)
class SessionOutcome:
    """What one trigger came to. `reason` is a sentence (coalesced and refused); `refusal` its code."""

    outcome: Outcome
    processor: str
    region: str | None
    trigger: TriggerSource
    session_id: str | None = None
    reason: str | None = None
    refusal: RefusalReason | None = None
    requested_seconds: int | None = None
    selector: str | None = None
    """`producer_timestamp_ms=N` or `fragment_number=F`, once known."""
    temporary: bool = False
    """A refusal that may pass: a service error (throttling, 5xx, unreachable endpoint), this process no
    longer (safely) the lease holder, a ledger that cannot be written. An SQS message is kept for it."""
    target: str = ""
    """The processor's target (`""`: the ambient credentials, or not known for a malformed trigger)."""

    def fields(self) -> dict[str, Any]:
        """The event's fields (also `spd session start --output json`)."""
        out: dict[str, Any] = {
            "outcome": self.outcome.value,
            "processor": self.processor,
            "region": self.region,
            "target": self.target,
            "trigger": self.trigger.value,
            "session_id": self.session_id,
            "reason": self.reason,
        }
        if self.refusal is not None:
            out["refusal"] = self.refusal.value
        if self.requested_seconds is not None:
            out["max_duration_seconds"] = self.requested_seconds
        if self.selector is not None:
            out["selector"] = self.selector
        return out

    def document(self) -> dict[str, Any]:
        """The outcome as a JSON document (`spd session start --output json`, the HTTP API's answer):
        the event's fields, the ambient target null as in every document (events say "")."""
        return {**self.fields(), "target": self.target or None}

    @property
    def event(self) -> Event:
        return Event(_EVENT_NAMES[self.outcome], self.fields())


def describe_selector(request: SessionRequest) -> str:
    selector = request.selector
    if isinstance(selector, ProducerTimestamp):
        return f"producer_timestamp_ms={selector.millis}"
    assert isinstance(selector, FragmentNumber)
    return f"fragment_number={selector.number}"


def _named(body: str | bytes | Mapping[str, Any]) -> tuple[str, str | None, str]:
    """The processor (region, target) a body names, as best it can be read, for recording a refusal."""
    decoded: Any = body
    if isinstance(body, str | bytes):
        try:
            decoded = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return "", None, ""
    if not isinstance(decoded, Mapping):
        return "", None, ""
    processor, region, target = decoded.get("processor"), decoded.get("region"), decoded.get("target")
    return (
        processor if isinstance(processor, str) else "",
        region if isinstance(region, str) else None,
        target if isinstance(target, str) else "",
    )


class SessionStarter:
    """Starts sessions for one stack through one gateway, recording each outcome in the ledger.

    `ledger` may be None (no budget can then be checked, nothing is recorded), or a function that
    opens it when first needed (a ledger that cannot be opened refuses the trigger like one that cannot
    be written); `clock` gives the trigger's arrival time (the default start selector, the budget's day,
    the ledger row); `gate` is asked right before every StartStreamProcessor (the lease, then the tag).
    """

    def __init__(
        self,
        *,
        gateway: FleetGateway,
        stack: str,
        ledger: LedgerPort | Ledger | Callable[[], LedgerPort | Ledger] | None,
        clock: Clock = utc_now,
        on_event: EventSink = events.discard,
        gate: MutationGate = OPEN,
    ) -> None:
        self._gateway = gateway
        self._stack = stack
        self._ledger = ledger
        self._clock = clock
        self._on_event = on_event
        self._gate = gate

    def _open_ledger(self) -> LedgerPort | None:
        """The ledger, opened now if need be; `LedgerError` when it cannot be. A local `Ledger` given
        as such is used through its port (`SqliteLedger`)."""
        ledger = self._ledger
        if ledger is not None and not isinstance(ledger, Ledger) and callable(ledger):
            try:
                ledger = ledger()
            except LedgerError:
                raise
            except (StoreError, OSError, sqlite3.Error) as exc:
                raise LedgerError(f"the session ledger cannot be opened: {exc}") from exc
        return SqliteLedger(ledger) if isinstance(ledger, Ledger) else ledger

    async def request(
        self, body: str | bytes | Mapping[str, Any], desired: DesiredState, *, source: TriggerSource
    ) -> SessionRequest | SessionOutcome:
        """The start request a trigger body from `source` asks for against the spec `desired`, or its
        refusal, already recorded and reported (the body is read once, whoever starts the request)."""
        now = self._clock()
        try:
            return session_request(body, desired, source=source, arrival_ms=int(now.timestamp() * 1000))
        except TriggerRefused as refused:
            processor, region, target = _named(body)
            return await self._finish(
                now,
                SessionOutcome(
                    Outcome.REFUSED,
                    processor,
                    region,
                    source,
                    reason=refused.message,
                    refusal=refused.reason,
                    target=target,
                ),
            )

    async def trigger(
        self, body: str | bytes | Mapping[str, Any], desired: DesiredState, *, source: TriggerSource
    ) -> SessionOutcome:
        """Handle one trigger body from `source` against the spec `desired`."""
        request = await self.request(body, desired, source=source)
        if isinstance(request, SessionOutcome):
            return request
        return await self.start(request)

    async def start(self, request: SessionRequest) -> SessionOutcome:
        """Start a checked request (budget, ownership and coalescing are still checked here)."""
        return await self._start(request, self._clock())

    async def _start(self, request: SessionRequest, now: datetime) -> SessionOutcome:
        pid = request.processor
        base = _base_outcome(request)
        reservation = await self._reserve(request, now, base)
        if isinstance(reservation, SessionOutcome):
            return reservation
        if reservation is not None and reservation.row is None:
            return await self._not_reserved(request, reservation, now, base)
        intent = None if reservation is None else reservation.row

        async def refused(reason: RefusalReason, message: str, *, temporary: bool = False) -> SessionOutcome:
            outcome = replace(base, reason=message, refusal=reason, temporary=temporary)
            return await self._finish(now, outcome, intent)

        async def refusal(why: Refusal) -> SessionOutcome:
            reason, message, temporary = _gate_words(why, pid)
            return await refused(reason, message, temporary=temporary)

        # The lease alone first: a standby makes no call at all.
        not_leader = self._gate.lease_refusal()
        if not_leader is not None:
            return await refusal(not_leader)
        try:
            client = await self._gateway.region(pid.region, pid.target)
            observed = await client.describe(pid.name)
        except NotFoundError:
            return await refused(
                RefusalReason.NOT_FOUND, f"processor {pid} does not exist (run spd apply first)"
            )
        except (AwsError, EndpointError) as exc:
            return await refused(RefusalReason.SERVICE_ERROR, str(exc), temporary=_temporary(exc))
        # Ownership as read just now (Describe, then ListTagsForResource): spd starts only its own, and
        # coalesces only into its own (the gate's rule, before anything else is concluded).
        owner = observed.stack()
        not_ours = owner_refusal(self._stack, owner)
        if not_ours is not None:
            return await refusal(not_ours)
        if observed.config is not None and observed.config.kind is not Kind.CONNECTED_HOME:
            return await refused(RefusalReason.FACE_SEARCH, f"processor {pid} is a face_search processor")
        if observed.status in SESSION_OPEN:
            return await self._finish(
                now,
                replace(
                    base, outcome=Outcome.COALESCED, reason=f"a session is open ({observed.status.value})"
                ),
                intent,
            )
        # The gate right before the call: the reads above can take long enough (a slow service, a
        # process paused meanwhile) for another daemon to have taken the lease.
        gate_says = self._gate.refusal(self._stack, owner)
        if gate_says is not None:
            return await refusal(gate_says)
        starting = client.start_session(pid.name, request.selector, request.max_duration_seconds)
        sending = mutation_gate.SEND_GUARD.set(
            self._gate.lease
        )  # asked again as the Start leaves (its pacer slot)
        try:
            return await self._started(starting, now, base, intent)
        finally:
            mutation_gate.SEND_GUARD.reset(sending)

    async def _not_reserved(
        self, request: SessionRequest, reservation: Reservation, now: datetime, base: SessionOutcome
    ) -> SessionOutcome:
        """No intent was written: another writer of the shared ledger is starting this processor right
        now (its session is the one this trigger asks for: coalesced), or the day's budget is spent."""
        if reservation.in_flight is not None:
            coalesced = replace(base, outcome=Outcome.COALESCED, reason=reservation.in_flight)
            return await self._finish(now, coalesced)
        message = (
            f"over the daily budget: {reservation.used:g} of {request.budget_seconds_per_day} session seconds "
            f"used today (UTC), this session asks {request.max_duration_seconds}"
        )
        return await self._finish(now, replace(base, reason=message, refusal=RefusalReason.BUDGET))

    async def _started(
        self, starting: Awaitable[str], now: datetime, base: SessionOutcome, intent: RowRef | None
    ) -> SessionOutcome:
        """StartStreamProcessor's answer: started, coalesced when another start won the race, or refused."""
        try:
            session_id = await starting
        except SessionOpenError:
            reason = "a session is open (another start won the race)"
            outcome = replace(base, outcome=Outcome.COALESCED, reason=reason)
        except mutation_gate.SendRefused as refused:  # the lease lapsed while the Start waited for its slot
            message = f"not started: {refused.reason}"
            outcome = replace(base, reason=message, refusal=RefusalReason.NOT_LEADER, temporary=True)
        except (AwsError, EndpointError) as exc:
            outcome = replace(
                base, reason=str(exc), refusal=RefusalReason.SERVICE_ERROR, temporary=_temporary(exc)
            )
        else:
            outcome = replace(base, outcome=Outcome.STARTED, session_id=session_id or None)
        return await self._finish(now, outcome, intent)

    async def _reserve(
        self, request: SessionRequest, now: datetime, base: SessionOutcome
    ) -> Reservation | SessionOutcome | None:
        """The budget's reservation (None without a ledger), or the refusal when the ledger cannot be
        written."""
        pid = request.processor
        try:
            ledger = self._open_ledger()
            return (
                None
                if ledger is None
                else await ledger.reserve(
                    ReservationRequest(
                        at=now,
                        processor=pid,
                        trigger=request.source.value,
                        requested_seconds=request.max_duration_seconds,
                        budget_seconds=request.budget_seconds_per_day,
                    )
                )
            )
        except LedgerError as exc:
            # Nothing can be recorded, so nothing is started: a Start the ledger does not know would
            # escape the budget. Temporary: the trigger may succeed once the ledger can be written.
            outcome = replace(
                base,
                reason=f"not started: {exc}",
                refusal=RefusalReason.LEDGER_UNAVAILABLE,
                temporary=True,
            )
            self._on_event(outcome.event)
            return outcome

    async def _finish(
        self, now: datetime, outcome: SessionOutcome, intent: RowRef | None = None
    ) -> SessionOutcome:
        """Record `outcome` (completing the intent row `intent`, else as a row of its own) and report it.

        A ledger that fails here does not change the outcome (a session started is started): it is
        reported as `session_ledger_failed`; an intent row left uncompleted still counts."""
        try:
            ledger = self._open_ledger()
            if ledger is not None and intent is not None:
                await ledger.complete(
                    intent,
                    Completion(
                        at=self._clock(),
                        outcome=outcome.outcome.value,
                        session_id=outcome.session_id,
                        reason=outcome.reason,
                    ),
                )
            elif ledger is not None:
                await ledger.record_trigger(
                    TriggerRow(
                        at=now,
                        processor=outcome.processor,
                        region=outcome.region or "",
                        target=outcome.target,
                        trigger=outcome.trigger.value,
                        outcome=outcome.outcome.value,
                        requested_seconds=outcome.requested_seconds,
                        session_id=outcome.session_id,
                        reason=outcome.reason,
                    )
                )
        except LedgerError as exc:
            self._on_event(
                Event(
                    events.SESSION_LEDGER_FAILED,
                    {
                        **outcome.fields(),
                        "error": str(exc),
                        "note": "the intent row stays, counted against the budget"
                        if intent is not None
                        else "this trigger is not in the ledger",
                    },
                )
            )
        self._on_event(outcome.event)
        return outcome


def _temporary(exc: AwsError | EndpointError) -> bool:
    return True if isinstance(exc, EndpointError) else exc.temporary


def _base_outcome(request: SessionRequest) -> SessionOutcome:
    """What every outcome of `request` says (refused until shown otherwise)."""
    pid = request.processor
    return SessionOutcome(
        Outcome.REFUSED,
        pid.name,
        pid.region,
        request.source,
        requested_seconds=request.max_duration_seconds,
        selector=describe_selector(request),
        target=pid.target,
    )


def _gate_words(why: Refusal, pid: ProcessorId) -> tuple[RefusalReason, str, bool]:
    """The gate's answer as the session path words it: the reason, the message, whether temporary."""
    if isinstance(why, NotLeader):
        return RefusalReason.NOT_LEADER, f"not started: {why.reason}", True
    assert isinstance(why, NotOwned)
    whose = "has no spd:stack tag" if why.owner is None else f"belongs to stack {why.owner!r}"
    return RefusalReason.NOT_OWNED, f"processor {pid} {whose}; spd starts only its own", False
