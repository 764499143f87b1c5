"""`observe` holds at most `concurrency` reads in flight per (target, region), with that many tasks:
not a task per processor (on tens of thousands of processors those waiting tasks were much of the
peak memory of `spd plan`)."""

from __future__ import annotations

import asyncio

from builders import face_config
from spd.aws.gateway import Gateway
from spd.model import STACK_TAG
from spd.reconcile.observe import observe

FLEET = 40
CONCURRENCY = 3


async def test_observe_runs_a_bounded_number_of_tasks(emu):
    async with Gateway.open(endpoint_url=emu.url, max_attempts=1) as gw:
        for region in ("us-east-1", "eu-west-1"):
            client = await gw.region(region)
            for i in range(FLEET // 2):
                await client.create(face_config(f"cam{i:02d}", region=region), {STACK_TAG: "s"})
        baseline = len(asyncio.all_tasks())
        most = 0

        def progress(done: int, total: int) -> None:
            nonlocal most
            most = max(most, len(asyncio.all_tasks()) - baseline)

        seen = await observe(
            gw, ("us-east-1", "eu-west-1"), names=None, concurrency=CONCURRENCY, progress=progress
        )
    assert len({p.id for p in seen.processors}) == FLEET
    # Two locations x CONCURRENCY workers, and the HTTP client's own few; before, one per processor.
    assert 0 < most <= 4 * CONCURRENCY < FLEET
