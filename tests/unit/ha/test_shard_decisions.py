"""The shard decisions of `ha.mode: shards` (spd.ha.shards), driven by a fake clock and a fake table."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

import pytest

from spd.ha.lease import LeaseRecord, LeaseTiming, Role, Step
from spd.ha.shards import AMBIENT_SHARD, ShardBook, fair_share, quotas, shard_of

LEASE = 6.0
TIMING = LeaseTiming(LEASE)
SHARDS = tuple(f"t{i:02d}" for i in range(12))


def test_quotas_add_up_and_favour_those_holding_most() -> None:
    assert quotas(12, {"a": 4, "b": 4, "c": 4}) == {"a": 4, "b": 4, "c": 4}
    assert quotas(12, {"a": 4, "b": 4, "c": 4, "d": 0}) == {"a": 3, "b": 3, "c": 3, "d": 3}
    # 4 shards over 3: the two holding two keep... one of them, by id; the empty one gets one.
    assert quotas(4, {"a": 2, "b": 2, "c": 0}) == {"a": 2, "b": 1, "c": 1}
    assert quotas(4, {"a": 0, "b": 2, "c": 2}) == {"b": 2, "c": 1, "a": 1}
    assert sum(quotas(13, {"a": 0, "b": 9, "c": 1, "d": 3}).values()) == 13
    assert fair_share(12, 3) == 4
    assert fair_share(13, 4) == 4
    assert fair_share(3, 0) == 3


def test_the_ambient_target_is_a_shard_of_its_own() -> None:
    assert shard_of("") == AMBIENT_SHARD
    assert shard_of("prod") == "prod"


@dataclass
class FakeTable:
    """Conditional writes on records, as DynamoDB would settle them."""

    shards: dict[str, LeaseRecord] = field(default_factory=dict)
    members: dict[str, LeaseRecord] = field(default_factory=dict)

    def write(self, shard: str, holder: str, seen: LeaseRecord | None) -> str | None:
        current = self.shards.get(shard)
        if current != seen:
            return None
        version = uuid.uuid4().hex
        self.shards[shard] = LeaseRecord(holder, version, LEASE)
        return version


@dataclass
class Daemon:
    """A daemon's book, and the round its keeper would run (renew, read, take, shed)."""

    name: str
    table: FakeTable
    book: ShardBook = field(init=False)
    alive: bool = True

    def __post_init__(self) -> None:
        self.book = ShardBook(self.name, TIMING)

    def round(self, now: float, wanted: tuple[str, ...] = SHARDS) -> None:
        if not self.alive:
            return
        member = self.book.member
        member.won(uuid.uuid4().hex, now)
        self.table.members[self.name] = LeaseRecord(self.name, member.version or "", LEASE)
        for shard in self.book.held():
            state = self.book.shards[shard]
            if state.refusal(now) is not None:  # the danger zone: the keeper steps down, no write
                state.lost()
                continue
            mine = LeaseRecord(self.name, state.version or "", LEASE)
            version = self.table.write(shard, self.name, mine)
            if version is None:
                state.lost()
            else:
                state.won(version, now)
        steps = self.book.observe({s: self.table.shards.get(s) for s in wanted}, self.table.members, now)
        decision = self.book.plan(wanted, steps)
        for shard in decision.shed:
            self.book.shards[shard].lost()
            self.table.shards.pop(shard, None)
        for shard in decision.take:
            seen = self.table.shards.get(shard)
            version = self.table.write(shard, self.name, seen)
            if version is not None:
                self.book.state(shard).won(version, now)


def run(daemons: list[Daemon], start: float, rounds: int) -> float:
    now = start
    for _ in range(rounds):
        for daemon in daemons:
            daemon.round(now)
        now += TIMING.heartbeat
    return now


def holders(table: FakeTable) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for shard, record in sorted(table.shards.items()):
        out.setdefault(record.holder, []).append(shard)
    return out


def assert_exclusive(daemons: list[Daemon], now: float) -> None:
    """No shard is safely held by two daemons at once."""
    for shard in SHARDS:
        allowed = [d.name for d in daemons if d.alive and d.book.refusal(shard, now) is None]
        assert len(allowed) <= 1, (shard, allowed)


def test_three_daemons_spread_twelve_shards_four_each() -> None:
    table = FakeTable()
    daemons = [Daemon(n, table) for n in ("a", "b", "c")]
    now = run(daemons, 0.0, 12)
    assert sorted(len(v) for v in holders(table).values()) == [4, 4, 4]
    assert all(len(d.book.held()) == 4 for d in daemons)
    assert_exclusive(daemons, now)


def test_a_fourth_daemon_takes_a_share_from_the_others_shedding() -> None:
    table = FakeTable()
    daemons = [Daemon(n, table) for n in ("a", "b", "c")]
    now = run(daemons, 0.0, 12)
    daemons.append(Daemon("d", table))
    for _ in range(9):  # three leases
        now = run(daemons, now, 1)
        assert_exclusive(daemons, now)
    assert sorted(len(d.book.held()) for d in daemons) == [3, 3, 3, 3]


def test_a_dead_daemons_shards_are_taken_after_a_lease_not_before() -> None:
    table = FakeTable()
    daemons = [Daemon(n, table) for n in ("a", "b", "c")]
    now = run(daemons, 0.0, 12)
    dead = daemons[0]
    orphaned = set(dead.book.held())
    dead.alive = False
    died = now
    while holders(table).get("a"):
        now = run(daemons, now, 1)
        assert now - died < LEASE + 2 * TIMING.heartbeat + 0.01
        taken = {s for s in orphaned if table.shards[s].holder != "a"}
        if taken:
            assert now - died >= LEASE - TIMING.heartbeat  # never before the version stood a lease
    now = run(daemons, now, 6)
    assert sorted(len(d.book.held()) for d in daemons[1:]) == [6, 6]
    assert_exclusive(daemons, now)


def test_a_paused_holder_refuses_on_waking_and_loses_what_was_taken() -> None:
    table = FakeTable()
    a, b = Daemon("a", table), Daemon("b", table)
    now = run([a, b], 0.0, 12)
    shard = a.book.held()[0]
    paused_at = now
    now = run([b], now, 12)  # a is stopped: b takes everything after a lease
    assert table.shards[shard].holder == "b"
    # a wakes: before its loop runs, the guard already refuses (its renewal is older than lease - margin).
    assert now - paused_at > TIMING.safe_for
    assert a.book.refusal(shard, now) is not None
    assert a.book.member_refusal(now) is not None
    a.round(now)
    assert shard not in a.book.held()
    assert_exclusive([a, b], now)


def test_the_guard_closes_in_the_danger_zone() -> None:
    book = ShardBook("a", TIMING)
    assert book.refusal("t00", 0.0) == "shard 't00' is not held by this daemon"
    book.state("t00").won("v1", 10.0)
    assert book.refusal("t00", 10.0 + TIMING.safe_for - 0.01) is None
    assert "past the safe" in (book.refusal("t00", 10.0 + TIMING.safe_for) or "")
    assert book.member_refusal(0.0) == "member record: absent"


def test_a_member_is_dead_only_after_its_version_stood_a_whole_lease() -> None:
    book = ShardBook("a", TIMING)
    record = LeaseRecord("b", "v1", LEASE)
    book.observe({}, {"b": record}, 0.0)
    assert book.live_members() == ("a", "b")
    book.observe({}, {"b": record}, LEASE - 0.01)
    assert book.live_members() == ("a", "b")
    book.observe({}, {"b": record}, LEASE)
    assert book.live_members() == ("a",)
    book.observe({}, {"b": LeaseRecord("b", "v2", LEASE)}, LEASE + 1)
    assert book.live_members() == ("a", "b")


def test_shards_gone_from_the_spec_are_shed_and_none_taken_before_allowed() -> None:
    book = ShardBook("a", TIMING)
    steps = book.observe(dict.fromkeys(SHARDS), {}, 0.0)
    assert set(steps.values()) == {Step.ACQUIRE}
    assert book.plan(SHARDS, steps, may_take=False).take == ()
    decision = book.plan(SHARDS, steps)
    assert len(decision.take) == 12
    for shard in decision.take:
        book.state(shard).won("v", 0.0)
    decision = book.plan(SHARDS[:5], {})
    assert set(decision.shed) == set(SHARDS[5:])
    assert book.shards["t00"].role is Role.LEADER


@pytest.mark.parametrize("members", [2, 3, 5])
def test_every_shard_ends_held_by_exactly_one_daemon(members: int) -> None:
    table = FakeTable()
    daemons = [Daemon(f"d{i}", table) for i in range(members)]
    now = run(daemons, 0.0, 15)
    assert set(table.shards) == set(SHARDS)
    assert sum(len(d.book.held()) for d in daemons) == len(SHARDS)
    assert max(len(d.book.held()) for d in daemons) == fair_share(len(SHARDS), members)
    assert_exclusive(daemons, now)
