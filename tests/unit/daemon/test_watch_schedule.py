"""The watch's bursts: events about one processor gathered into one reconcile, and those arriving while
it reads asking for exactly one follow-up (no AWS here: the reconciler is a recorder)."""

from __future__ import annotations

import asyncio

import structlog
from prometheus_client import CollectorRegistry

from cloudtrail import body, call_event
from spd.aws.watch_queue import QueueMessage
from spd.daemon.watch import Watch
from spd.model import DesiredState, ProcessorId
from spd.reconcile.plan import Policy
from spd.reconcile.processor_locks import ProcessorLocks
from spd.spec import load_spec
from spdrun import home, write_spec

LOBBY = ProcessorId("us-east-1", "lobby")


class Recorder:
    """Stands in for the reconciler: records each reconcile and holds it until released."""

    def __init__(self) -> None:
        self.calls: list[ProcessorId] = []
        self.release = asyncio.Event()
        self.started = asyncio.Event()

    async def reconcile_processor(self, desired, policy, pid):
        self.calls.append(pid)
        self.started.set()
        await self.release.wait()
        raise RuntimeError("recorded only")


def make_watch(tmp_path, recorder, *, prune=False):
    desired: DesiredState = load_spec(write_spec(tmp_path / "spec.yaml", [home("lobby")])).desired
    return Watch(
        queue=None,  # type: ignore[arg-type]  # never read: messages are handed in
        target=lambda: (recorder, desired, Policy(desired.stack, prune=prune)),
        marker="spd/0.1.0 spd-stack/test-stack",
        debounce=lambda: 0.05,
        concurrency=4,
        log=lambda: structlog.get_logger(),
        registry=CollectorRegistry(),
        clock=asyncio.get_event_loop().time,
    )


def message(name="lobby", n=0):
    return QueueMessage(
        str(n), f"r{n}", body(call_event("UpdateStreamProcessor", name, user_agent="aws-cli/2"))
    )


async def test_a_burst_is_one_reconcile_and_changes_during_it_one_follow_up(tmp_path):
    recorder = Recorder()
    watch = make_watch(tmp_path, recorder)
    outcomes = [watch.handle(message(n=n)) for n in range(5)]
    assert outcomes == ["queued"] + ["coalesced"] * 4
    await asyncio.wait_for(recorder.started.wait(), 5)
    assert recorder.calls == [LOBBY]
    # The reconcile has read the processor: later changes need one more, however many they are.
    assert [watch.handle(message(n=n)) for n in range(5, 8)] == ["follow_up"] * 3
    recorder.started.clear()
    recorder.release.set()
    await asyncio.wait_for(recorder.started.wait(), 5)
    await asyncio.sleep(0.2)
    assert recorder.calls == [LOBBY, LOBBY]
    assert await watch.close(1) == 0
    assert watch.events.labels("coalesced")._value.get() == 4


async def test_processors_outside_the_spec_cost_nothing_unless_pruning(tmp_path):
    recorder = Recorder()
    recorder.release.set()
    watch = make_watch(tmp_path, recorder)
    assert watch.handle(message("stranger")) == "not_in_spec"
    other_region = QueueMessage(
        "x", "r", body(call_event("UpdateStreamProcessor", "lobby", user_agent="x", region="eu-west-1"))
    )
    assert watch.handle(other_region) == "region_not_in_spec"
    pruning = make_watch(tmp_path, recorder, prune=True)
    assert pruning.handle(message("stranger")) == "queued"  # maybe this stack's: the tag decides
    await pruning.close(1)
    await watch.close(1)


async def test_processor_locks_exclude_and_are_forgotten():
    locks = ProcessorLocks()
    order: list[str] = []

    async def hold(tag: str) -> None:
        async with locks.hold(LOBBY):
            order.append(f"{tag}+")
            await asyncio.sleep(0.02)
            order.append(f"{tag}-")

    await asyncio.gather(hold("a"), hold("b"))
    assert order == ["a+", "a-", "b+", "b-"]
    assert len(locks) == 0
