"""Reading the live service into an `ObservedState` (read only, never a mutating call).

Called by the reconciler. One ListStreamProcessors pass per (target, region), then Describe +
ListTagsForResource for the processors that matter (those the spec names, or every one when ownership of
all of them must be known: pruning and `spd status`), in parallel under a concurrency bound per (target,
region) and the gateway's pacers. A processor deleted between the List and its Describe simply is not
observed; one whose Describe or ListTagsForResource fails after the gateway's retries is recorded as
unreadable, and the rest proceed. A declared target whose credentials fail (its role cannot be assumed)
or whose List fails after retries (unreachable, throttled to exhaustion) is recorded once as a failed
target, with nothing of it observed, and the other targets proceed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Collection, Iterable

from spd.errors import AwsError, EndpointError, NotFoundError
from spd.model import AMBIENT_TARGET, ObservedProcessor, ObservedState, ProcessorId, Status
from spd.reconcile.ports import FleetGateway

Progress = Callable[[int, int], None]
Location = tuple[str, str]
"""(target, region)."""


def locations_of(items: Iterable[str | Location]) -> tuple[Location, ...]:
    """Sorted unique (target, region) pairs; a bare region is the ambient target's."""
    return tuple(sorted({(AMBIENT_TARGET, i) if isinstance(i, str) else i for i in items}))


async def list_statuses(
    gateway: FleetGateway, locations: Iterable[str | Location], failed: dict[str, str] | None = None
) -> dict[ProcessorId, Status]:
    """Status of every processor in `locations`: the status sweep's only input.

    A declared target that cannot be read is added to `failed` (target -> why) and contributes nothing;
    the ambient target's errors are raised, as before targets.
    """
    where = locations_of(locations)
    failures: dict[str, str] = {} if failed is None else failed
    targets = sorted({t for t, _ in where})
    for target, error in zip(
        targets, await asyncio.gather(*(gateway.check_target(t) for t in targets)), strict=True
    ):
        if error is not None:
            failures.setdefault(target, f"credentials: {error}")

    async def one(target: str, region: str) -> dict[ProcessorId, Status]:
        if target in failures:
            return {}
        try:
            return await (await gateway.region(region, target)).list_statuses()
        except (AwsError, EndpointError) as exc:
            if target == AMBIENT_TARGET:
                raise
            failures.setdefault(target, f"{region}: {exc}")
            return {}

    results = await asyncio.gather(*(one(t, r) for t, r in where))
    merged: dict[ProcessorId, Status] = {}
    for statuses in results:
        merged.update(statuses)
    if failures:
        merged = {pid: s for pid, s in merged.items() if pid.target not in failures}
    return merged


async def observe(
    gateway: FleetGateway,
    locations: Iterable[str | Location],
    *,
    names: Collection[str] | None,
    concurrency: int,
    progress: Progress | None = None,
) -> ObservedState:
    """Full observation of the listed processors whose name is in `names` (all when None)."""
    where = locations_of(locations)
    failed: dict[str, str] = {}
    statuses = await list_statuses(gateway, where, failed)
    wanted = [pid for pid in statuses if names is None or pid.name in names]
    del statuses
    # Concurrency is per (target, region), like the quotas it keeps spd within: `concurrency` workers per
    # location take its processors in turn. Not one task per processor: on a fleet of tens of thousands
    # over many targets, those waiting tasks (and their frames) were a large part of the peak memory.
    queues: dict[Location, deque[ProcessorId]] = {loc: deque() for loc in where}
    for pid in wanted:
        queues[pid.location].append(pid)
    done = 0
    found: list[ObservedProcessor] = []
    unreadable: list[tuple[ProcessorId, str]] = []

    async def worker(queue: deque[ProcessorId]) -> None:
        nonlocal done
        while queue:
            pid = queue.popleft()
            try:
                observed = await _read(gateway, pid, unreadable)
                if observed is not None:
                    found.append(observed)
            finally:
                done += 1
                if progress is not None:
                    progress(done, len(wanted))

    await asyncio.gather(*(worker(q) for q in queues.values() if q for _ in range(min(concurrency, len(q)))))
    order = {pid: i for i, pid in enumerate(wanted)}
    found.sort(key=lambda p: order.get(p.id, len(order)))
    return ObservedState(
        tuple(sorted({r for _, r in where})),
        tuple(found),
        tuple(sorted(unreadable, key=lambda u: (u[0].target, u[0].region, u[0].name))),
        tuple(sorted(failed.items())),
    )


async def observe_one(gateway: FleetGateway, pid: ProcessorId) -> ObservedState:
    """One processor, read as `observe` reads each (Describe + ListTagsForResource), without the List:
    the daemon's watch, told by an event which processor changed."""
    unreadable: list[tuple[ProcessorId, str]] = []
    found = await _read(gateway, pid, unreadable)
    return ObservedState((pid.region,), () if found is None else (found,), tuple(unreadable))


async def _read(
    gateway: FleetGateway, pid: ProcessorId, unreadable: list[tuple[ProcessorId, str]]
) -> ObservedProcessor | None:
    """Describe + tags of `pid`; None when it does not exist, or when unreadable (recorded there)."""
    client = await gateway.region(pid.region, pid.target)
    try:
        return await client.describe(pid.name)
    except NotFoundError:
        return None
    except AwsError as exc:
        # Retries are spent (or the error is permanent) for this one processor: the others
        # can still be planned and applied; this one is reported and left alone.
        unreadable.append((pid, str(exc)))
        return None
