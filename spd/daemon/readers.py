"""The daemon's components that act on what arrives: the session triggers and ledger, the queue readers
(watch, session results, session triggers) and the session windows' cron jobs.

Each wraps a module that does the work (`spd.daemon.watch`, `spd.daemon.session_results`,
`spd.daemon.session_triggers`, `spd.daemon.session_windows`) and only binds it to the daemon's context.
"""

from __future__ import annotations

from spd.connect import open_ledger
from spd.daemon.component import Component, Config, Context
from spd.daemon.pass_loop import Passes
from spd.daemon.session_results import ResultsReader, open_results_reader
from spd.daemon.session_triggers import SessionQueueReader, SessionTriggers, open_session_queue
from spd.daemon.session_windows import SessionWindows
from spd.daemon.watch import Watch, open_watch
from spd.sessions.ledger_port import LedgerPort


class Sessions(Component):
    """The session triggers (`POST /sessions`, the trigger queue, the windows) and the one ledger they
    and the results reader record in, opened on first use: a daemon that never sees a session writes
    nothing. Serves on a standby too, where every trigger is refused."""

    name = "sessions"

    def __init__(self) -> None:
        self._ctx: Context | None = None
        self._ledger: LedgerPort | None = None
        self._triggers: SessionTriggers | None = None

    @property
    def triggers(self) -> SessionTriggers:
        assert self._triggers is not None, "started"
        return self._triggers

    async def start(self, ctx: Context) -> None:
        self._ctx = ctx
        self._triggers = SessionTriggers(
            ctx.gateway,
            self.ledger,
            settings=ctx.current_settings,
            desired=ctx.current_desired,
            on_event=ctx.emit,
            active=ctx.active,
            gate=ctx.gate,
        )

    def ledger(self) -> LedgerPort:
        """The shared store's table when `store.table` is set, else `sessions.db` (`spd.connect`)."""
        if self._ledger is None:
            ctx = self._ctx
            assert ctx is not None, "started"
            self._ledger = open_ledger(
                ctx.settings,
                ctx.gateway,
                stack=ctx.desired.stack,
                spec_regions=(*ctx.desired.regions, *ctx.settings.regions),
                environ=ctx.environ,
            )
        return self._ledger

    async def close(self, grace: float) -> None:
        if self._ledger is not None:
            await self._ledger.close()


class Watching(Component):
    """The watch (`watch_queue_url`): reconciles one processor as soon as a change of it is reported."""

    name = "watch"
    needs_lease = True

    def __init__(self, passes: Passes) -> None:
        self._passes = passes
        self._watch: Watch | None = None

    async def start(self, ctx: Context) -> None:
        url = ctx.settings.watch_queue_url
        if not url:
            return
        self._watch = open_watch(
            ctx.gateway,
            url,
            target=self._passes.watch_target,
            settings=ctx.current_settings,
            spec_regions=ctx.desired.regions,
            environ=ctx.environ,
            log=ctx.current_log,
            registry=ctx.metrics.registry,
            clock=ctx.clock,
            active=ctx.active,
            owns=ctx.owns,
        )
        ctx.readers.append(self._watch)

    async def close(self, grace: float) -> None:
        if self._watch is not None:
            await self._watch.close(grace)


class Results(Component):
    """The session results reader (`results_queue_url`): what a session found, into the ledger."""

    name = "session_results"
    needs_lease = True

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._reader: ResultsReader | None = None

    async def start(self, ctx: Context) -> None:
        url = ctx.settings.results_queue_url
        if not url:
            return
        self._reader = open_results_reader(
            ctx.gateway,
            url,
            ledger=self._sessions.ledger(),
            regions=(*ctx.desired.regions, *ctx.settings.regions),
            environ=ctx.environ,
            on_event=ctx.emit,
            log=ctx.current_log,
            active=ctx.active,
        )
        ctx.readers.append(self._reader)

    async def close(self, grace: float) -> None:
        if self._reader is not None:
            await self._reader.close()  # reading stops at once; a message being stored finishes first


class SessionQueue(Component):
    """The session trigger queue (`session_queue_url`): one session start per message."""

    name = "session_queue"
    needs_lease = True

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions
        self._reader: SessionQueueReader | None = None

    async def start(self, ctx: Context) -> None:
        url = ctx.settings.session_queue_url
        if not url:
            return
        self._reader = open_session_queue(
            ctx.gateway,
            url,
            self._sessions.triggers,
            spec_regions=ctx.desired.regions,
            environ=ctx.environ,
            log=ctx.current_log,
        )
        ctx.readers.append(self._reader)

    async def close(self, grace: float) -> None:
        if self._reader is not None:
            await self._reader.close()


class Windows(Component):
    """The spec's session windows: cron jobs on the passes' scheduler, re-placed on every reload."""

    name = "session_windows"
    needs_lease = True

    def __init__(self, passes: Passes, sessions: Sessions) -> None:
        self._passes = passes
        self._sessions = sessions
        self._windows: SessionWindows | None = None

    async def start(self, ctx: Context) -> None:
        self._windows = SessionWindows(
            self._passes.scheduler,
            ctx.gateway,
            self._sessions.triggers,
            poll_interval=lambda: ctx.settings.poll_interval,
            on_event=ctx.emit,
            log=ctx.current_log,
            owns=ctx.owns,
        )
        self._windows.schedule(ctx.desired)

    async def reload(self, ctx: Context, old: Config, new: Config) -> None:
        if self._windows is not None:
            self._windows.schedule(new.desired)

    async def close(self, grace: float) -> None:
        if self._windows is not None:
            await self._windows.close()
