"""The daemon's `shards` component: under `ha.mode: shards`, keeps this daemon's member record and its
fair share of the shard leases (`spd.daemon.shards.ShardKeeper`), and tells the rest of the daemon when
the shards it holds change: a shard just acquired gets a full pass (and the preflight) at once, so a
drift left by a daemon that died is repaired within a lease and a pass of the death.
"""

from __future__ import annotations

import asyncio
import contextlib

from spd.daemon.component import Component, Context
from spd.daemon.pass_loop import Passes, Preflight, utc_clock
from spd.daemon.shards import ShardKeeper, wanted_shards


class ShardLeases(Component):
    """Started right after the leader lease (and like it, closed after every component that mutates),
    so on SIGTERM the shards are released only once no pass or watch reconcile still acts on them."""

    name = "shards"

    def __init__(self, passes: Passes, preflight: Preflight) -> None:
        self._passes = passes
        self._preflight = preflight
        self._ctx: Context | None = None
        self._keeper: ShardKeeper | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, ctx: Context) -> None:
        ha = ctx.settings.ha
        if ha.table is None or ha.mode != "shards":
            return
        self._ctx = ctx
        self._keeper = await ShardKeeper.open(
            ctx.lease_place(),
            wanted=lambda: wanted_shards(ctx.desired, ctx.settings),
            on_event=ctx.emit,
            on_change=self._changed,
            clock=ctx.clock,
        )
        ctx.shards = self._keeper
        ctx.health.shards = self._keeper.describe
        ctx.metrics.shards_held.set(0)
        self._task = asyncio.create_task(self._keeper.run(), name="spd-shards")

    def _changed(self, acquired: tuple[str, ...], lost: tuple[str, ...]) -> None:
        ctx, keeper = self._ctx, self._keeper
        assert ctx is not None
        assert keeper is not None
        held = keeper.held()
        ctx.metrics.shards_held.set(len(held))
        described = keeper.describe()
        ctx.notifier.status(
            f"shards {utc_clock()}: holds {len(held)} of {described['shards']} "
            f"({', '.join(held) or 'none'}); {len(described['members'])} members"[:200]
        )
        if acquired and not ctx.stopping:
            self._passes.runner.request_full()
            if self._preflight.started:
                self._preflight.run("shard_acquired")

    async def close(self, grace: float) -> None:
        """Stop renewing, then release every shard and the member record."""
        if self._keeper is None:
            return
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._keeper.release()
        if self._ctx is not None:
            self._ctx.metrics.shards_held.set(0)
