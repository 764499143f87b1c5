"""Many active daemons (`ha.mode: shards`): which shards this daemon takes, keeps and sheds; no I/O.

Every target of the spec (the ambient credentials count as one) is a *shard* with its own lease item in
`ha.table`, kept under `spd.ha.lease`'s protocol (record versions, no clock compared across hosts, the
holder stops mutating at lease - margin). Live daemons announce themselves there too: a *member* item
whose version the daemon renews every heartbeat. Another daemon judges a member dead the same clock-free
way it judges a lease expired: the same version seen for a whole lease by its own monotonic clock.

The balance follows the lease taking and shedding of Kinesis's client library, simplified because every
daemon sees every record in one read:

* the fair share is ceil(shards / live members); each member's *quota* is that or one less, the larger
  quotas going to the members holding the most now (ties by id), so a balanced fleet moves nothing
  and quotas sum to the number of shards;
* a daemon under its quota takes shards that are free (no record) or expired (a version that stood
  still for a whole lease), never one a live holder keeps renewing;
* a daemon over its quota (a member joined, or a target left the spec) sheds the surplus itself: it
  stops mutating in them at once and deletes their records a margin later, so the daemon short of its
  quota takes them at its next read. No daemon ever takes a lease from a live holder.

Used by `spd.daemon.shards`, which does the DynamoDB calls (`spd.aws.lease_table`) and asks `plan`
once per heartbeat.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from spd.ha.lease import LeaseRecord, LeaseState, LeaseTiming, Role, Step
from spd.model import AMBIENT_TARGET

AMBIENT_SHARD = "(ambient)"
"""The shard of the ambient credentials' processors (a target name can never contain parentheses)."""


def shard_of(target: str) -> str:
    """The shard that holds a target's processors."""
    return AMBIENT_SHARD if target == AMBIENT_TARGET else target


def quotas(shards: int, counts: Mapping[str, int]) -> dict[str, int]:
    """Each live member's quota (`counts`: how many shards each holds now): ceil or floor of the fair
    share, the ceilings to those holding most (ties by id), so the quotas add up to `shards`."""
    if not counts:
        return {}
    base, extra = divmod(shards, len(counts))
    order = sorted(counts, key=lambda m: (-counts[m], m))
    return {member: base + (1 if rank < extra else 0) for rank, member in enumerate(order)}


def fair_share(shards: int, members: int) -> int:
    """ceil(shards / members): the most any daemon holds once the fleet is balanced."""
    return -(-shards // max(1, members))


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do about the shards this heartbeat."""

    take: tuple[str, ...] = ()
    """Shards to write a record for (free: create it; expired: replace the stale version)."""
    shed: tuple[str, ...] = ()
    """Held shards beyond the quota, or no longer in the spec: stop mutating, then release."""
    quota: int = 0
    members: tuple[str, ...] = ()
    """The members judged live (this one included)."""


@dataclass
class ShardBook:
    """One daemon's view of the shard and member records, kept by its own monotonic clock.

    `observe` is called with everything one read returned; `plan` then says what to take and shed.
    The per-record states are `spd.ha.lease.LeaseState`s, so every shard has exactly the leader lease's
    guarantees: `refusal(shard, now)` is the guard before a mutating call on a processor of that shard.
    """

    me: str
    timing: LeaseTiming
    shards: dict[str, LeaseState] = field(default_factory=dict)
    members: dict[str, LeaseState] = field(default_factory=dict)
    """The other members' records, as watched (a take-over step means: dead)."""
    member: LeaseState = field(init=False)
    """This daemon's own member record (LEADER while its renewals are confirmed)."""
    records: dict[str, LeaseRecord | None] = field(default_factory=dict)
    """The shard records at the last read (None: no record)."""
    dead: set[str] = field(default_factory=set)
    """Members whose record stood still for a whole lease at the last read."""

    def __post_init__(self) -> None:
        self.member = LeaseState(self.timing)

    def state(self, shard: str) -> LeaseState:
        if shard not in self.shards:
            self.shards[shard] = LeaseState(self.timing)
        return self.shards[shard]

    def held(self) -> tuple[str, ...]:
        return tuple(sorted(s for s, st in self.shards.items() if st.role is Role.LEADER))

    def refusal(self, shard: str, now: float) -> str | None:
        """Why no mutating call may be made now on a processor of `shard` (None: it may)."""
        state = self.shards.get(shard)
        if state is None or state.role is not Role.LEADER:
            return f"shard {shard!r} is not held by this daemon"
        why = state.refusal(now)
        return None if why is None else f"shard {shard!r}: {why}"

    def member_refusal(self, now: float) -> str | None:
        """Why this daemon must not start a session now: its member record is not safely fresh."""
        why = self.member.refusal(now)
        return None if why is None else f"member record: {why}".replace("not the leader (standby)", "absent")

    def observe(
        self, shards: Mapping[str, LeaseRecord | None], members: Mapping[str, LeaseRecord], now: float
    ) -> dict[str, Step]:
        """Take in one read: every shard's record (None: none) and every member record (this daemon's
        own included or not). The step each shard not held allows (ACQUIRE, TAKE_OVER or WAIT)."""
        self.records = dict(shards)
        steps = {shard: self.state(shard).observe(record, now) for shard, record in shards.items()}
        for gone in set(self.members) - set(members):
            del self.members[gone]
        self.dead = set()
        for name, record in members.items():
            if name == self.me:
                continue
            watched = self.members.setdefault(name, LeaseState(self.timing))
            if watched.observe(record, now) is Step.TAKE_OVER:
                self.dead.add(name)
        return {shard: step for shard, step in steps.items() if step is not Step.RENEW}

    def live_members(self) -> tuple[str, ...]:
        return tuple(sorted({self.me, *(m for m in self.members if m not in self.dead)}))

    def plan(self, wanted: Collection[str], steps: Mapping[str, Step], *, may_take: bool = True) -> Decision:
        """Take free or expired shards while under the quota; shed held ones beyond it or not `wanted`."""
        live = self.live_members()
        held = set(self.held())
        counts = dict.fromkeys(live, 0)
        for shard in wanted:
            record = self.records.get(shard)
            holder = record.holder if record is not None else None
            if shard in held:
                holder = self.me
            elif holder == self.me:
                holder = None  # shed, its record not yet deleted: no longer counted as this daemon's
            if holder in counts:
                counts[holder] += 1
        quota = quotas(len(wanted), counts)[self.me]
        keep = sorted(held & set(wanted), key=self._preference)
        shed = sorted((held - set(wanted)) | set(keep[quota:]))
        take: list[str] = []
        room = quota - min(len(keep), quota)
        if may_take and room > 0:
            free = [s for s in wanted if s not in held and steps.get(s) in (Step.ACQUIRE, Step.TAKE_OVER)]
            take = sorted(free, key=self._preference)[:room]
        return Decision(tuple(sorted(take)), tuple(shed), quota, live)

    def _preference(self, shard: str) -> str:
        """A per-daemon order over shards (a hash of both names): racing daemons reach for different
        free shards first, and a daemon sheds the shards it prefers least."""
        return hashlib.sha256(f"{self.me}\0{shard}".encode()).hexdigest()
