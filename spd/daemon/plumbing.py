"""The daemon's components that serve the others: the systemd watchdog, the event history and sinks,
the HTTP endpoint, the start-up announcement and the lease.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

from spd import __version__
from spd.daemon.component import Component, Context
from spd.daemon.event_out import open_outlet
from spd.daemon.http import Response, serve
from spd.daemon.leader import Leadership, RoleListener
from spd.daemon.notify import watchdog_period
from spd.daemon.readers import Sessions
from spd.daemon.session_triggers import SESSIONS_PATH
from spd.errors import SpdError


async def _cancel(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Watchdog(Component):
    """Pings systemd's watchdog from the event loop itself: if the loop wedges, the pings stop and
    systemd restarts the daemon. First in the list, so it pings until the very end of a shutdown."""

    name = "watchdog"

    def __init__(self) -> None:
        self._task: asyncio.Task[None] | None = None

    async def start(self, ctx: Context) -> None:
        period = watchdog_period(ctx.environ, pid=os.getpid())
        if period is not None and ctx.notifier.enabled:
            self._task = asyncio.create_task(self._ping(ctx, period), name="spd-watchdog")

    @staticmethod
    async def _ping(ctx: Context, period: float) -> None:
        while True:
            ctx.notifier.watchdog()
            await asyncio.sleep(period)

    async def close(self, grace: float) -> None:
        await _cancel(self._task)


class Events(Component):
    """The history (its file, or the shared store's table) and the event sinks: every drift and action
    event is recorded and published."""

    name = "events"

    def __init__(self) -> None:
        self._exits = contextlib.AsyncExitStack()

    async def start(self, ctx: Context) -> None:
        ctx.outlet = await self._exits.enter_async_context(
            open_outlet(
                ctx.settings,
                ctx.gateway,
                stack=lambda: ctx.desired.stack,
                retention=lambda: ctx.settings.history_retention,
                log=ctx.current_log,
                environ=ctx.environ,
                spec_regions=ctx.desired.regions,
            )
        )

    async def close(self, grace: float) -> None:
        """Delivers what the sinks still hold (at most `min(DRAIN_TIMEOUT, grace_period)` seconds)."""
        await self._exits.aclose()


class Http(Component):
    """`/healthz`, `/metrics` and `POST /sessions` on `metrics_address` (empty: no listener)."""

    name = "http"

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._server: asyncio.Server | None = None
        self.address: str | None = None
        """The bound address (None: disabled)."""

    async def start(self, ctx: Context) -> None:
        address = ctx.settings.metrics_address
        if not address:
            return

        def healthz() -> Response:
            code, body = ctx.health.render()
            return code, "application/json", body

        def metrics() -> Response:
            return 200, "text/plain; version=0.0.4; charset=utf-8", ctx.metrics.render()

        try:
            posts = {SESSIONS_PATH: self._sessions.triggers.handle_http}
            listening = await serve(address, {"/healthz": healthz, "/metrics": metrics}, posts)
        except OSError as exc:
            raise SpdError(f"cannot listen on {address} (metrics_address): {exc.strerror or exc}") from None
        self._server = listening.server
        self.address = listening.address

    async def close(self, grace: float) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()


class Announce(Component):
    """`daemon_started` (with the bound HTTP address) and the spec's warnings, once the daemon serves."""

    name = "announce"

    def __init__(self, http: Http) -> None:
        self._http = http

    async def start(self, ctx: Context) -> None:
        settings, desired = ctx.settings, ctx.desired
        ctx.metrics.spec_processors.set(len(desired.processors))
        ctx.log.info(
            "daemon_started",
            version=__version__,
            pid=os.getpid(),
            spec=str(settings.spec),
            stack=desired.stack,
            processors=len(desired.processors),
            interval=settings.interval,
            status_interval=settings.status_interval,
            metrics_address=self._http.address,
            endpoint="local" if settings.local else (settings.endpoint_url or "aws"),
        )
        for warning in ctx.config.warnings:
            ctx.log.warning("spec_warning", warning=warning)

    async def close(self, grace: float) -> None:
        return None


class Lease(Component):
    """The lease under `ha.table` (`spd.daemon.leader`): kept or watched until the daemon stops, then
    released so a standby takes over at once. The components that need it are closed before."""

    name = "lease"

    def __init__(self, on_role: RoleListener) -> None:
        self._on_role = on_role
        self._leadership: Leadership | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, ctx: Context) -> None:
        ha = ctx.settings.ha
        if ha.table is None or ha.mode != "leader":  # shards: `spd.daemon.shard_leases`
            return
        self._leadership = await Leadership.open(
            ctx.lease_place(),
            on_event=ctx.emit,
            on_role=self._on_role,
            clock=ctx.clock,
        )
        ctx.leadership = self._leadership
        ctx.health.lease = self._leadership.describe
        self._task = asyncio.create_task(self._leadership.run(), name="spd-lease")

    async def close(self, grace: float) -> None:
        """Stop renewing, then release."""
        if self._leadership is None:
            return
        await _cancel(self._task)
        await self._leadership.release()
