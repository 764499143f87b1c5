"""The lease against the emulator's DynamoDB, in process: races, clocks, and the executor's guard.

Each `Leadership` is given its own fake monotonic clock (as two hosts have), so the tests move time
without sleeping; DynamoDB itself is real (moto, through aiobotocore, on the emulator's port).
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import pytest

from builders import STACK, desired, face_config, state
from spd.aws.gateway import Gateway
from spd.aws.lease_table import LeaseTable
from spd.daemon.leader import Leadership
from spd.events import Event
from spd.ha.lease import LeaseTiming, Role
from spd.model import STACK_TAG, RunState
from spd.reconcile.executor import ExecutionSettings, Executor
from spd.reconcile.mutation_gate import MutationGate
from spd.reconcile.plan import Action, Policy
from spd.reconcile.reconciler import Reconciler

LEASE = 3.0
SETTINGS = ExecutionSettings(stack=STACK, poll_interval=0.02, wait_timeout=10)


class Clock:
    """A host's monotonic clock: its own origin, moved by the test."""

    def __init__(self, origin: float) -> None:
        self.now = origin

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _table_name() -> str:
    return f"leases-{uuid.uuid4().hex[:8]}"


async def _leadership(gw: Gateway, table: str, holder: str, clock: Clock, events: list[Event]) -> Leadership:
    client = await gw.service_client("dynamodb", "us-east-1")
    return Leadership(
        LeaseTable(client, table, "stack-x", holder, LEASE),
        LeaseTiming(LEASE),
        on_event=events.append,
        clock=clock,
    )


@pytest.fixture
def no_wall_clock(monkeypatch):
    """Fail the test if spd reads the wall clock (time.time) while the lease is at work."""
    real = time.time

    def guarded() -> float:
        caller = sys._getframe(1).f_globals.get("__name__", "")
        if caller.startswith("spd."):
            raise AssertionError(f"{caller} read the wall clock")
        return real()

    monkeypatch.setattr(time, "time", guarded)


async def test_two_standbys_racing_for_one_expired_lease_exactly_one_wins(emu):
    table = _table_name()
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        events: list[Event] = []
        old = await _leadership(gw, table, "old:1", Clock(0.0), events)
        await old.tick()
        assert old.role is Role.LEADER
        a = await _leadership(gw, table, "a:2", Clock(100.0), events)
        b = await _leadership(gw, table, "b:3", Clock(5000.0), events)
        await asyncio.gather(a.tick(), b.tick())  # both see the holder's version...
        assert (a.role, b.role) == (Role.STANDBY, Role.STANDBY)
        for standby in (a, b):
            standby._clock.advance(LEASE)  # type: ignore[attr-defined]
        # ... unchanged for a whole lease by their own clocks: both try to take it at once.
        await asyncio.gather(a.tick(), b.tick())
        assert sorted(str(x.role) for x in (a, b)) == ["leader", "standby"]
        acquired = [e for e in events if e.name == "leader_acquired" and e.fields["holder"] != "old:1"]
        assert len(acquired) == 1
        assert acquired[0].fields["previous_holder"] == "old:1"

        # The same race on a free lease (released): again exactly one.
        winner = a if a.role is Role.LEADER else b
        await winner.release()
        c = await _leadership(gw, table, "c:4", Clock(0.0), events)
        d = await _leadership(gw, table, "d:5", Clock(0.0), events)
        await asyncio.gather(c.tick(), d.tick())
        assert sorted(str(x.role) for x in (c, d)) == ["leader", "standby"]


async def test_clocks_minutes_apart_do_not_matter(emu, no_wall_clock):
    table = _table_name()
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        events: list[Event] = []
        # Hours apart, as two hosts' clocks may be; each counts only its own intervals.
        clock_a, clock_b = Clock(7200.0), Clock(30.0)
        a = await _leadership(gw, table, "a:1", clock_a, events)
        b = await _leadership(gw, table, "b:2", clock_b, events)
        await a.tick()
        await b.tick()
        assert (a.role, b.role) == (Role.LEADER, Role.STANDBY)
        # The holder renews every heartbeat: however long, the standby never takes over.
        for _ in range(10):
            for clock in (clock_a, clock_b):
                clock.advance(LEASE / 3)
            await a.tick()
            await b.tick()
            assert (a.role, b.role) == (Role.LEADER, Role.STANDBY)
            assert a.refusal() is None
        # The holder stops renewing; a whole lease later by the standby's own clock, it takes over ...
        clock_b.advance(LEASE / 3)
        await b.tick()
        assert b.role is Role.STANDBY
        clock_b.advance(LEASE)
        await b.tick()
        assert b.role is Role.LEADER
        # ... and the holder, a lease later by its clock, refuses to mutate before it even tried to renew.
        clock_a.advance(LEASE)
        assert a.refusal() is not None
        assert "past the safe" in str(a.refusal())
        await a.tick()
        assert a.role is Role.STANDBY
        # The record holds no time at all: nothing for another host to compare.
        client = await gw.service_client("dynamodb", "us-east-1")
        item = (await client.get_item(TableName=table, Key={"lease": {"S": "stack-x"}}))["Item"]
        assert sorted(item) == ["holder", "lease", "lease_seconds", "version"]


async def test_the_executor_asks_the_lease_before_every_mutating_call(emu):
    """A holder whose lease went unconfirmed (paused, cut off) makes no call, even before its loop runs."""
    table = _table_name()
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        await (await gw.region("us-east-1")).create(face_config("cam"), {STACK_TAG: STACK})
        clock = Clock(0.0)
        lease_events: list[Event] = []
        holder = await _leadership(gw, table, "a:1", clock, lease_events)
        await holder.tick()
        assert holder.role is Role.LEADER
        planned, _ = await Reconciler(gw, SETTINGS).plan(
            state(desired(face_config("cam"), run_state=RunState.RUNNING)), Policy(STACK)
        )
        (plan,) = planned.processors
        assert Action.START in plan.actions

        clock.advance(LEASE * 0.8)  # past lease - margin: a standby may hold it by now
        seen: list[Event] = []
        outcome = await Executor(
            gw, SETTINGS, gate=MutationGate(holder.refusal), on_event=seen.append
        ).apply_one(plan)
        assert "StartStreamProcessor" not in emu.stats()["calls"]
        assert outcome.deferred is not None
        assert outcome.deferred.startswith("not leader: ")
        (refused,) = [e for e in seen if e.name == "mutation_refused"]
        assert refused.fields["step"] == "start"
        assert holder.role is Role.LEADER  # the loop has not even run: the guard alone stopped it

        await holder.tick()  # and its loop, once it runs, steps down
        assert holder.role is Role.STANDBY
        assert [e.fields["reason"] for e in lease_events if e.name == "leader_lost"]
