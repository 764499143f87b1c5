"""The daemon's side of `ha.mode: shards`: the loop that keeps its member record and its shards, and the
guards the mutation gate asks.

Every heartbeat (a third of the lease) the loop makes: one conditional PutItem renewing the member
record, one conditional PutItem per held shard, and one strongly consistent Scan of the stack's items
(every shard and member record); then, when `spd.ha.shards.ShardBook.plan` says so, one conditional write
per shard taken and one conditional DeleteItem per shard released or dead member reaped. The decisions
are `spd.ha.shards`'s, the calls `spd.aws.lease_table.ShardTable`'s; time is this process's monotonic
clock only.

Guards (`spd.reconcile.mutation_gate`): `refusal(target)` for a call on a processor of that target (its
shard held and its last confirmed renewal within the safe part of the lease), `member_refusal()` for a
session Start (this daemon's member record safely fresh). Both read the clock when asked, so a process
paused past its lease (SIGSTOP) refuses on waking, before the loop has run again.

A shed shard stops being mutated at once and its record is deleted a heartbeat later (more than the
margin a call in flight may take), so the daemon that takes it never overlaps a call of ours.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from spd import events
from spd.aws.lease_table import LeaseTableError, ShardTable, new_version
from spd.config.settings import Settings
from spd.daemon.leader import LeasePlace
from spd.events import Event, EventSink
from spd.ha.lease import LeaseRecord, LeaseTiming, Role
from spd.ha.shards import AMBIENT_SHARD, ShardBook, fair_share, shard_of
from spd.model import DesiredState

ShardListener = Callable[[tuple[str, ...], tuple[str, ...]], None]
"""Told (acquired, lost or released) after a round in which the held shards changed."""


def wanted_shards(desired: DesiredState, settings: Settings) -> tuple[str, ...]:
    """The shards of this config: every target the spec reads in, and the ambient credentials when a
    processor or `regions` uses them."""
    shards = {shard_of(target) for target, _ in desired.scope}
    if settings.regions:
        shards.add(AMBIENT_SHARD)
    return tuple(sorted(shards))


def scoped(desired: DesiredState, held: Collection[str]) -> DesiredState:
    """The spec cut to the processors and targets of `held` shards: what this daemon's passes see."""
    return replace(
        desired,
        processors=tuple(p for p in desired.processors if shard_of(p.id.target) in held),
        targets=tuple(t for t in desired.targets if shard_of(t.name) in held),
    )


@dataclass
class _Release:
    version: str
    due: float


class ShardKeeper:
    """One daemon's member record and shards: the loop, the guards, and what /healthz shows."""

    def __init__(
        self,
        table: ShardTable,
        timing: LeaseTiming,
        wanted: Callable[[], Sequence[str]],
        *,
        on_event: EventSink = events.discard,
        on_change: ShardListener | None = None,
        clock: Callable[[], float] = time.monotonic,
        create_table: bool = True,
    ) -> None:
        self._table = table
        self._wanted = wanted
        self._emit = on_event
        self._on_change = on_change
        self._clock = clock
        self._create_table = create_table
        self._table_ready = False
        self._rounds = 0
        self._releases: dict[str, _Release] = {}
        self.book = ShardBook(table.holder, timing)
        self.problem: str | None = None
        self.quota = 0

    @classmethod
    async def open(
        cls,
        place: LeasePlace,
        *,
        wanted: Callable[[], Sequence[str]],
        on_event: EventSink = events.discard,
        on_change: ShardListener | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> ShardKeeper:
        return cls(
            await place.table(ShardTable),
            LeaseTiming(place.ha.lease_seconds),
            wanted,
            on_event=on_event,
            on_change=on_change,
            clock=clock,
            create_table=place.ha.create_table,
        )

    @property
    def holder(self) -> str:
        return self._table.holder

    @property
    def timing(self) -> LeaseTiming:
        return self.book.timing

    def held(self) -> tuple[str, ...]:
        """The shards this daemon holds and may mutate in now (their leases safely fresh)."""
        now = self._clock()
        return tuple(s for s in self.book.held() if self.book.refusal(s, now) is None)

    # -- the guards -----------------------------------------------------------------------------------

    def refusal(self, target: str) -> str | None:
        """The mutation gate's lease part for a processor of `target`."""
        return self.book.refusal(shard_of(target), self._clock())

    def member_refusal(self) -> str | None:
        """The mutation gate's lease part for a session Start."""
        return self.book.member_refusal(self._clock())

    def holds(self, target: str) -> bool:
        return self.refusal(target) is None

    def describe(self) -> dict[str, Any]:
        """What /healthz shows under `shards`."""
        wanted = list(self._wanted())
        members = self.book.live_members()
        return {
            "holder": self.holder,
            "table": self._table.table,
            "name": self._table.name,
            "lease_seconds": self.timing.lease,
            "held": list(self.held()),
            "shards": len(wanted),
            "quota": self.quota,
            "fair_share": fair_share(len(wanted), len(members)),
            "members": list(members),
            "member_fresh": self.member_refusal() is None,
            "lease_error": self.problem,
        }

    # -- the loop -------------------------------------------------------------------------------------

    async def run(self) -> None:
        while True:
            await self.tick()
            await asyncio.sleep(self.next_delay())

    def next_delay(self) -> float:
        """A heartbeat, or less when a held lease (or the member record) stops being safe sooner."""
        now, heartbeat = self._clock(), self.timing.heartbeat
        states = [self.book.member, *(self.book.shards[s] for s in self.book.held())]
        ends = [s.confirmed_at + self.timing.safe_for for s in states if s.confirmed_at is not None]
        return max(0.0, min([heartbeat, *(end - now for end in ends)]))

    async def tick(self) -> None:
        """One round: renew what is held, release what is due, read everything, take and shed."""
        before = set(self.book.held())
        try:
            if not self._table_ready:
                await self._table.ensure(create=self._create_table)
                self._table_ready = True
            await self._keep_member()
            await asyncio.gather(*(self._renew(shard) for shard in self.book.held()))
            await self._release_due()
            shards, members = await self._table.read_all()
        except LeaseTableError as exc:
            self._trouble(exc)
            self._changed(before)
            return
        self.problem = None
        wanted = tuple(self._wanted())
        steps = self.book.observe({s: shards.get(s) for s in wanted}, members, self._clock())
        decision = self.book.plan(wanted, steps, may_take=self._rounds > 0 and self._member_ok())
        self.quota = decision.quota
        self._rounds += 1
        for shard in decision.shed:
            self._shed(
                shard, "no longer in the spec" if shard not in wanted else f"beyond quota {decision.quota}"
            )
        try:
            await asyncio.gather(*(self._take(shard, shards.get(shard)) for shard in decision.take))
            await self._reap(members)
        except LeaseTableError as exc:
            self._trouble(exc)
        self._changed(before)

    def _member_ok(self) -> bool:
        return self.book.member.role is Role.LEADER

    async def _keep_member(self) -> None:
        """Renew the member record; (re)write it when this daemon has none (start-up, or after a pause
        long enough for another daemon to judge it dead and reap it)."""
        state = self.book.member
        member = self._table.member()
        version, sent = new_version(), self._clock()
        if state.role is Role.LEADER and state.refusal(sent) is None:
            assert state.version is not None
            if await member.renew(state.version, version):
                state.won(version, sent)
                return
        state.lost()
        version, sent = new_version(), self._clock()
        await member.announce(version)
        state.won(version, sent)

    async def _renew(self, shard: str) -> None:
        state = self.book.shards[shard]
        sent = self._clock()
        refusal = state.refusal(sent)
        if refusal is not None:
            self._lose(shard, refusal)
            return
        assert state.version is not None
        version = new_version()
        if await self._table.shard(shard).renew(state.version, version):
            state.won(version, sent)
        else:
            self._lose(shard, "the lease record changed: another daemon holds it")

    async def _take(self, shard: str, record: LeaseRecord | None) -> None:
        lease = self._table.shard(shard)
        version, sent = new_version(), self._clock()
        won = await lease.acquire(version) if record is None else await lease.take_over(record, version)
        if not won:
            return
        self.book.state(shard).won(version, sent)
        fields: dict[str, object] = {
            "shard": shard,
            "table": self._table.table,
            "holder": self.holder,
            "lease_seconds": self.timing.lease,
            "how": "lease was free" if record is None else "took over an expired lease",
        }
        if record is not None:
            fields["previous_holder"] = record.holder
        self._emit(Event(events.SHARD_ACQUIRED, fields))

    def _shed(self, shard: str, reason: str) -> None:
        """Stop mutating in `shard` now; its record is deleted once a call in flight is surely done."""
        state = self.book.shards[shard]
        assert state.version is not None
        self._releases[shard] = _Release(state.version, self._clock() + self.timing.margin)
        state.lost()
        self._emit(Event(events.SHARD_RELEASED, {"shard": shard, "holder": self.holder, "reason": reason}))

    async def _release_due(self) -> None:
        now = self._clock()
        for shard, release in list(self._releases.items()):
            if release.due <= now:
                del self._releases[shard]
                await self._table.shard(shard).release(release.version)

    async def _reap(self, members: Mapping[str, LeaseRecord]) -> None:
        """Delete the records of members judged dead, so the table does not keep every daemon ever run."""
        for name in sorted(self.book.dead):
            record = members.get(name)
            if record is not None and await self._table.member(name).reap(record):
                self.book.members.pop(name, None)

    async def release(self) -> None:
        """Give up every shard and the member record now (SIGTERM): the others take them at their next
        read instead of waiting out a lease."""
        for shard in self.book.held():
            version = self.book.shards[shard].version
            assert version is not None
            self._shed(shard, "released on shutdown")
            self._releases[shard] = _Release(version, self._clock())
        member = self.book.member
        try:
            for shard, release in list(self._releases.items()):
                del self._releases[shard]
                await self._table.shard(shard).release(release.version)
            if member.version is not None:
                await self._table.member().release(member.version)
        except LeaseTableError as exc:
            self._emit(Event(events.LEASE_ERROR, {"operation": "release", "error": str(exc)}))
        member.lost()

    def _lose(self, shard: str, reason: str) -> None:
        self.book.shards[shard].lost()
        self._emit(Event(events.SHARD_LOST, {"shard": shard, "holder": self.holder, "reason": reason}))

    def _trouble(self, exc: LeaseTableError) -> None:
        changed = self.problem != str(exc)
        self.problem = str(exc)
        if changed:
            self._emit(Event(events.LEASE_ERROR, {"operation": "shards", "error": str(exc)}))

    def _changed(self, before: set[str]) -> None:
        after = set(self.book.held())
        if after != before and self._on_change is not None:
            self._on_change(tuple(sorted(after - before)), tuple(sorted(before - after)))
