"""The shard keeper (`ha.mode: shards`) against the emulator's DynamoDB, in process: each keeper has its
own fake monotonic clock (as hosts have), so time moves without sleeping; the table is real (moto,
through aiobotocore, on the emulator's port)."""

from __future__ import annotations

import uuid

from spd import events
from spd.aws.gateway import Gateway
from spd.aws.lease_table import ShardTable
from spd.daemon.shards import ShardKeeper
from spd.events import Event
from spd.ha.lease import LeaseTiming

LEASE = 3.0
SHARDS = ("t0", "t1", "t2", "t3")


class Clock:
    def __init__(self, origin: float) -> None:
        self.now = origin

    def __call__(self) -> float:
        return self.now


async def _keeper(gw: Gateway, table: str, holder: str, clock: Clock, seen: list[Event]) -> ShardKeeper:
    client = await gw.service_client("dynamodb", "us-east-1")
    return ShardKeeper(
        ShardTable(client, table, "stack-x", holder, LEASE),
        LeaseTiming(LEASE),
        lambda: SHARDS,
        on_event=seen.append,
        clock=clock,
    )


async def _rounds(keepers: list[tuple[ShardKeeper, Clock]], n: int) -> None:
    for _ in range(n):
        for keeper, clock in keepers:
            await keeper.tick()
            clock.now += LEASE / 3


async def test_two_keepers_split_the_shards_then_one_leaving_hands_them_over(emu):
    table = f"shards-{uuid.uuid4().hex[:8]}"
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        seen: list[Event] = []
        a_clock, b_clock = Clock(0.0), Clock(500.0)
        a = await _keeper(gw, table, "a", a_clock, seen)
        b = await _keeper(gw, table, "b", b_clock, seen)
        await _rounds([(a, a_clock), (b, b_clock)], 8)
        assert sorted(a.held() + b.held()) == list(SHARDS)
        assert len(a.held()) == len(b.held()) == 2
        assert a.describe()["members"] == ["a", "b"]
        assert a.refusal("t9") is not None
        assert all(a.refusal(s) is None for s in a.held())
        assert a.member_refusal() is None

        mine = a.held()
        await a.release()
        assert a.held() == ()
        assert a.member_refusal() is not None
        released = [e for e in seen if e.name == events.SHARD_RELEASED]
        assert {e.fields["shard"] for e in released} == set(mine)
        await _rounds([(b, b_clock)], 2)  # released, not expired: taken at the next read
        assert b.held() == SHARDS
        assert b.describe()["members"] == ["b"]


async def test_a_dead_keepers_shards_wait_a_whole_lease_and_its_member_record_is_reaped(emu):
    table = f"shards-{uuid.uuid4().hex[:8]}"
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        seen: list[Event] = []
        a_clock, b_clock = Clock(0.0), Clock(500.0)
        a = await _keeper(gw, table, "a", a_clock, seen)
        b = await _keeper(gw, table, "b", b_clock, seen)
        await _rounds([(a, a_clock), (b, b_clock)], 8)
        orphaned = set(a.held())
        # a stops (paused or dead); b sees its versions stand still: nothing taken before a lease.
        await _rounds([(b, b_clock)], 2)  # b's clock is now just under a lease past its last sight
        assert set(b.held()).isdisjoint(orphaned)
        await _rounds([(b, b_clock)], 3)
        assert b.held() == SHARDS
        how = {e.fields["shard"]: e.fields["how"] for e in seen if e.name == events.SHARD_ACQUIRED}
        assert {how[s] for s in orphaned} == {"took over an expired lease"}
        _, members = await b._table.read_all()
        assert set(members) == {"b"}
        # a wakes: its guards refuse before its loop runs; its round then drops every shard.
        a_clock.now += 10 * LEASE
        assert all(a.refusal(s) is not None for s in orphaned)
        await a.tick()
        assert a.book.held() == ()
        lost = {e.fields["shard"] for e in seen if e.name == events.SHARD_LOST}
        assert lost == orphaned
