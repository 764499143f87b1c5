"""The daemon's side of the lease: a loop that renews or watches it, and the guard the executor asks.

With `ha.table` set, the daemon's `lease` component (`spd.daemon.plumbing.Lease`) runs `Leadership.run`
as a task beside the passes' scheduler.
Every `heartbeat` (a third of the lease) the loop makes one DynamoDB call: the leader a conditional
renewal, a standby one strongly consistent GetItem (plus, when it decides to, one conditional write to
take the lease). The decisions are `spd.ha.lease.LeaseState`'s; the calls `spd.aws.lease_table`'s. Time is
this process's monotonic clock only (`clock`), never the wall clock, never another host's.

The executor's guard is `Leadership.refusal`: asked before every mutating call, it says no as soon as
this daemon is standby or its last confirmed renewal is past the safe part of the lease, even if the
loop has not run since (a process paused by SIGSTOP finds, on waking, that its lease may have gone).

A table that is missing and cannot be created, or access denied, leaves the daemon standby with the
reason in `problem` (shown on /healthz), retried every heartbeat.
"""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from spd import events
from spd.aws.gateway import Gateway
from spd.aws.lease_table import LeaseTable, LeaseTableError, ShardTable, new_version
from spd.config.fallback_region import fallback_region
from spd.config.settings import HaSettings
from spd.events import Event, EventSink
from spd.ha.lease import LeaseRecord, LeaseState, LeaseTiming, Role, Step

RoleListener = Callable[[Role, str], None]
"""Told (role, why) after the first round and on every change of role."""


def default_holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lease_region(ha: HaSettings, spec_regions: Sequence[str], environ: Mapping[str, str]) -> str:
    """The table's region: the setting, else `fallback_region`'s (the spec's first, the environment's)."""
    return ha.region or fallback_region(environ, spec_regions)


Table = TypeVar("Table", LeaseTable, ShardTable)


@dataclass(frozen=True, slots=True)
class LeasePlace:
    """Where a daemon's lease records are: the `ha` settings' table, in its region, for this stack.
    Both modes (`leader`, `shards`) reach their table the same way."""

    gateway: Gateway
    ha: HaSettings
    stack: str
    spec_regions: Sequence[str]
    environ: Mapping[str, str]

    async def table(self, kind: type[Table]) -> Table:
        """A `kind` of lease table over a DynamoDB client of the table's region, for this holder."""
        ha = self.ha
        assert ha.table is not None
        client = await self.gateway.service_client(
            "dynamodb", lease_region(ha, self.spec_regions, self.environ)
        )
        return kind(client, ha.table, ha.name or self.stack, ha.holder or default_holder(), ha.lease_seconds)


class Leadership:
    """One daemon's lease: its state, the loop that keeps it, and the guard."""

    def __init__(
        self,
        table: LeaseTable,
        timing: LeaseTiming,
        *,
        on_event: EventSink = events.discard,
        on_role: RoleListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        create_table: bool = True,
    ) -> None:
        self._table = table
        self._create_table = create_table
        self._state = LeaseState(timing)
        self._emit = on_event
        self._on_role = on_role
        self._clock = clock
        self._table_ready = False
        self._announced = False
        self.problem: str | None = None
        """Why the lease table cannot be used right now (None when it can)."""
        self.seen_holder: str | None = None
        """The holder named by the record at the last read (while standby)."""

    @classmethod
    async def open(
        cls,
        place: LeasePlace,
        *,
        on_event: EventSink = events.discard,
        on_role: RoleListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> Leadership:
        return cls(
            await place.table(LeaseTable),
            LeaseTiming(place.ha.lease_seconds),
            on_event=on_event,
            on_role=on_role,
            clock=clock,
            create_table=place.ha.create_table,
        )

    @property
    def role(self) -> Role:
        return self._state.role

    @property
    def holder(self) -> str:
        return self._table.holder

    @property
    def timing(self) -> LeaseTiming:
        return self._state.timing

    def describe(self) -> dict[str, Any]:
        """The lease as /healthz shows it."""
        return {
            "role": str(self.role),
            "holder": self.holder,
            "table": self._table.table,
            "lease": self._table.name,
            "lease_seconds": self.timing.lease,
            "current_holder": self.holder if self.role is Role.LEADER else self.seen_holder,
            "lease_error": self.problem,
        }

    def refusal(self) -> str | None:
        """The executor's guard: None while this daemon may mutate, else why not."""
        return self._state.refusal(self._clock())

    async def run(self) -> None:
        """Keep or watch the lease until cancelled."""
        while True:
            await self.tick()
            await asyncio.sleep(self.next_delay())

    def next_delay(self) -> float:
        """A heartbeat, or less when the holder's lease stops being safe sooner (then it steps down on
        time, not up to a heartbeat late; the guard already refuses mutations from that moment)."""
        heartbeat = self.timing.heartbeat
        confirmed = self._state.confirmed_at
        if self._state.role is not Role.LEADER or confirmed is None:
            return heartbeat
        return max(0.0, min(heartbeat, confirmed + self.timing.safe_for - self._clock()))

    async def tick(self) -> None:
        """One round: renew (leader) or read and maybe take (standby)."""
        if self._state.role is Role.LEADER:
            await self._renew()
        else:
            await self._watch()
        if not self._announced:
            self._announced = True
            if self._state.role is Role.STANDBY and self._on_role is not None:
                self._on_role(Role.STANDBY, self._standby_reason())

    async def release(self) -> None:
        """Give the lease up now (SIGTERM), so a standby takes it at its next read."""
        if self._state.role is not Role.LEADER:
            return
        version = self._state.version
        assert version is not None
        self._lose("released on shutdown")
        try:
            await self._table.release(version)
        except LeaseTableError as exc:
            self._emit(Event(events.LEASE_ERROR, {"operation": "release", "error": str(exc)}))

    # -- the rounds --------------------------------------------------------------------------------

    async def _renew(self) -> None:
        refusal = self._state.refusal(self._clock())
        if refusal is not None:
            self._lose(refusal)
            return
        current = self._state.version
        assert current is not None
        version = new_version()
        sent = self._clock()
        try:
            renewed = await self._table.renew(current, version)
        except LeaseTableError as exc:
            # Kept trying every heartbeat; the guard stops mutations once the lease is no longer safe.
            self._trouble("renew", exc)
            return
        self.problem = None
        if renewed:
            self._state.won(version, sent)
        else:
            self._lose("the lease record changed: another daemon holds it")

    async def _watch(self) -> None:
        try:
            if not self._table_ready:
                await self._table.ensure(create=self._create_table)
                self._table_ready = True
            record = await self._table.read()
        except LeaseTableError as exc:
            self._trouble("read", exc)
            return
        self.problem = None
        self.seen_holder = record.holder if record is not None else None
        step = self._state.observe(record, self._clock())
        if step is Step.WAIT or step is Step.RENEW:
            return
        version = new_version()
        sent = self._clock()
        try:
            if step is Step.ACQUIRE:
                won = await self._table.acquire(version)
            else:
                assert record is not None
                won = await self._table.take_over(record, version)
        except LeaseTableError as exc:
            self._trouble(step.value, exc)
            return
        if won:
            self._state.won(version, sent)
            self._announced = True
            self._emit(Event(events.LEADER_ACQUIRED, self._acquired_fields(step, record)))
            if self._on_role is not None:
                self._on_role(Role.LEADER, "holds the lease")

    def _acquired_fields(self, step: Step, record: LeaseRecord | None) -> dict[str, object]:
        fields: dict[str, object] = {
            "lease": self._table.name,
            "table": self._table.table,
            "holder": self.holder,
            "lease_seconds": self.timing.lease,
            "how": "took over an expired lease" if step is Step.TAKE_OVER else "lease was free",
        }
        if record is not None:
            fields["previous_holder"] = record.holder
        return fields

    def _lose(self, reason: str) -> None:
        self._state.lost()
        self._emit(
            Event(events.LEADER_LOST, {"lease": self._table.name, "holder": self.holder, "reason": reason})
        )
        if self._on_role is not None:
            self._on_role(Role.STANDBY, reason)

    def _trouble(self, operation: str, exc: LeaseTableError) -> None:
        changed = self.problem != str(exc)
        self.problem = str(exc)
        if changed:
            self._emit(Event(events.LEASE_ERROR, {"operation": operation, "error": str(exc)}))

    def _standby_reason(self) -> str:
        if self.problem is not None:
            return f"lease table unusable: {self.problem}"
        return f"lease held by {self.seen_holder}" if self.seen_holder else "waiting for the lease"
