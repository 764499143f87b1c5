"""Reading the live service into an `ObservedState` (read only, never a mutating call).

Called by the reconciler. One ListStreamProcessors pass per region, then Describe + ListTagsForResource
for the processors that matter (those the spec names, or every one when ownership of all of them must
be known: pruning and `spd status`), in parallel under a concurrency bound and the gateway's pacer.
A processor deleted between the List and its Describe simply is not observed; one whose Describe or
ListTagsForResource fails after the gateway's retries is recorded as unreadable, and the rest proceed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Iterable

from spd.aws.gateway import Gateway
from spd.errors import AwsError, NotFoundError
from spd.model import ObservedProcessor, ObservedState, ProcessorId, Status

Progress = Callable[[int, int], None]


async def list_statuses(gateway: Gateway, regions: Iterable[str]) -> dict[ProcessorId, Status]:
    """Status of every processor in `regions`: the status sweep's only input."""
    regions = sorted(set(regions))
    clients = [await gateway.region(r) for r in regions]
    results = await asyncio.gather(*(c.list_statuses() for c in clients))
    merged: dict[ProcessorId, Status] = {}
    for statuses in results:
        merged.update(statuses)
    return merged


async def observe(
    gateway: Gateway,
    regions: Iterable[str],
    *,
    names: Collection[str] | None,
    concurrency: int,
    progress: Progress | None = None,
) -> ObservedState:
    """Full observation of the listed processors whose name is in `names` (all when None)."""
    regions = tuple(sorted(set(regions)))
    statuses = await list_statuses(gateway, regions)
    wanted = [pid for pid in statuses if names is None or pid.name in names]
    semaphore = asyncio.Semaphore(concurrency)
    done = 0

    unreadable: list[tuple[ProcessorId, str]] = []

    async def one(pid: ProcessorId) -> ObservedProcessor | None:
        nonlocal done
        async with semaphore:
            try:
                return await _read(gateway, pid, unreadable)
            finally:
                done += 1
                if progress is not None:
                    progress(done, len(wanted))

    observed = await asyncio.gather(*(one(pid) for pid in wanted))
    return ObservedState(
        regions,
        tuple(p for p in observed if p is not None),
        tuple(sorted(unreadable, key=lambda u: (u[0].region, u[0].name))),
    )


async def observe_one(gateway: Gateway, pid: ProcessorId) -> ObservedState:
    """One processor, read as `observe` reads each (Describe + ListTagsForResource), without the List:
    the daemon's watch, told by an event which processor changed."""
    unreadable: list[tuple[ProcessorId, str]] = []
    found = await _read(gateway, pid, unreadable)
    return ObservedState((pid.region,), () if found is None else (found,), tuple(unreadable))


async def _read(
    gateway: Gateway, pid: ProcessorId, unreadable: list[tuple[ProcessorId, str]]
) -> ObservedProcessor | None:
    """Describe + tags of `pid`; None when it does not exist, or when unreadable (recorded there)."""
    client = await gateway.region(pid.region)
    try:
        return await client.describe(pid.name)
    except NotFoundError:
        return None
    except AwsError as exc:
        # Retries are spent (or the error is permanent) for this one processor: the others
        # can still be planned and applied; this one is reported and left alone.
        unreadable.append((pid, str(exc)))
        return None
