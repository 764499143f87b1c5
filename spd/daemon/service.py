"""`spd run`: the daemon that holds the live fleet equal to the spec.

Called by `spd.cli.run_cmd` through `run_daemon`. The daemon opens the gateway and runs a list of
components (`spd.daemon.component`): the passes (`spd.daemon.pass_loop`), the queue readers and session
windows (`spd.daemon.readers`), the history and sinks, the HTTP endpoint, the lease and the systemd
watchdog (`spd.daemon.plumbing`). Signals: SIGHUP reloads settings and spec (validated first; a broken one
keeps the old running) and hands the new config to every component; SIGTERM/SIGINT close the components
in reverse order, giving work in flight `grace_period` seconds, release the lease, then exit 0.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

import structlog

from spd.config.settings import RESTART_REQUIRED, Settings, load_settings
from spd.connect import open_gateway
from spd.daemon.component import Component, Config, Context
from spd.daemon.logs import configure_logging
from spd.daemon.notify import Notifier
from spd.daemon.pass_loop import Passes, Preflight, Timers, utc_clock
from spd.daemon.plumbing import Announce, Events, Http, Lease, Watchdog
from spd.daemon.readers import Results, SessionQueue, Sessions, Watching, Windows
from spd.daemon.session_triggers import exposure_problem
from spd.daemon.shard_leases import ShardLeases
from spd.errors import ConfigError, Diagnostic, SettingsError, SpdError, SpecError
from spd.ha.lease import Role
from spd.spec import load_spec

__all__ = ["RESTART_REQUIRED", "Config", "Daemon", "load_config", "run_daemon"]

Logger = structlog.stdlib.BoundLogger


ConfigLoader = Callable[[], Config]


def load_config(
    settings_file: Path | None, overrides: Mapping[str, Any], *, environ: Mapping[str, str] | None = None
) -> Config:
    """Settings (file, `SPD_*`, then command-line overrides) and the spec they name; ConfigError if bad."""
    settings = load_settings(settings_file, environ=environ, **overrides)
    where = str(settings_file or "settings")
    exposed = exposure_problem(settings)
    if exposed is not None:
        raise SettingsError([Diagnostic(where, 0, 0, "metrics_address", exposed)])
    loaded = load_spec(settings.spec, environ=environ)
    return Config(settings, loaded.desired, tuple(str(w) for w in loaded.warnings))


CLOSE_SLACK = 5.0
"""Seconds a component's close may run past the grace period (cancelling and cleaning up) before the
daemon stops waiting for it and goes on closing the others."""


class Daemon:
    """One running daemon: a gateway, and the list of components that run on it."""

    def __init__(
        self,
        config: Config,
        *,
        reload: ConfigLoader,
        log: Logger,
        notifier: Notifier,
        relog: Callable[[Settings], Logger] | None = None,
        environ: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = reload
        self._relog = relog
        self._stop = asyncio.Event()
        self._stop_reason: str | None = None
        self._reload_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self.context = Context(
            config,
            log,
            notifier,
            clock,
            os.environ if environ is None else environ,
            track=self._track,
        )
        self._passes = Passes()
        self.components = self._components()
        self.started: list[Component] = []

    def _components(self) -> list[Component]:
        """Started in this order, closed in the reverse one (those needing the lease before the rest)."""
        sessions = Sessions()
        http = Http(sessions)
        preflight = Preflight()
        return [
            Watchdog(),
            Events(),
            sessions,
            http,
            Announce(http),
            Lease(self._on_role),
            ShardLeases(self._passes, preflight),
            self._passes,
            Watching(self._passes),
            Results(sessions),
            SessionQueue(sessions),
            Windows(self._passes, sessions),
            preflight,
            Timers(self._passes),
        ]

    @property
    def log(self) -> Logger:
        """The logger in use (a reload may have replaced it)."""
        return self.context.log

    # -- life cycle -----------------------------------------------------------------------------------

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit code (0 after a clean or graceful stop)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        try:
            ctx = self.context
            async with open_gateway(ctx.settings, ctx.desired) as gateway:
                ctx.gateway_or_none = gateway
                try:
                    await self._start()
                    await self._stop.wait()
                    await self._shutdown()
                finally:
                    # A component that failed to start leaves those started before it to close.
                    await self._close(list(self.started), ctx.settings.grace_period)
        finally:
            # Not removed (that would restore the default action, and a late SIGTERM or SIGHUP would kill
            # the process mid-teardown with a signal status); from here on they are ignored.
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.add_signal_handler(sig, _ignore)
        self.log.info("daemon_stopped", reason=self._stop_reason)
        return 0

    async def _start(self) -> None:
        """Each component in order; `started` holds those that did (the only ones reloaded, told of a
        change of role, and closed)."""
        for component in self.components:
            await component.start(self.context)
            self.started.append(component)

    def request_stop(self, reason: str = "stop") -> None:
        if self._stop.is_set():
            # A second signal during the grace period: stop waiting for the pass in flight.
            self._passes.runner.abandon()
            return
        self._stop_reason = reason
        self._stop.set()

    def request_reload(self) -> None:
        if self._stop.is_set():
            return
        self._track(asyncio.create_task(self._reload(), name="spd-reload"))

    def _track(self, task: asyncio.Task[None]) -> None:
        """Keep a background task referenced until done; shutdown cancels what is left."""
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _shutdown(self) -> None:
        """Close what needs the lease, within one grace period for them all; then (whatever went wrong
        closing it) release the lease and close the rest. Each group in reverse start order."""
        ctx = self.context
        ctx.stopping = True
        grace = ctx.settings.grace_period
        in_flight = self._passes.runner.in_flight
        ctx.notifier.stopping(f"stopping ({self._stop_reason}); waiting up to {grace:g}s for {in_flight}")
        ctx.log.info("shutdown_started", signal=self._stop_reason, grace_period=grace, in_flight=in_flight)
        deadline = asyncio.get_running_loop().time() + grace
        try:
            await self._close([c for c in self.started if c.needs_lease], grace, deadline=deadline)
            for task in list(self._background):
                task.cancel()
            await asyncio.gather(*self._background, return_exceptions=True)
        finally:
            # Whatever went wrong stopping, the standby must not wait out a whole lease.
            await self._close(list(self.started), grace)

    async def _close(
        self, components: list[Component], grace: float, *, deadline: float | None = None
    ) -> None:
        """Each in reverse order and removed from `started`, each bounded by `grace` (or by what is left
        until `deadline`); one failing to close does not keep the next from closing."""
        loop = asyncio.get_running_loop()
        for component in reversed(components):
            if component not in self.started:
                continue
            self.started.remove(component)
            budget = grace if deadline is None else max(0.0, deadline - loop.time())
            try:
                await asyncio.wait_for(component.close(budget), budget + CLOSE_SLACK)
            except Exception as exc:
                self.log.error(
                    "component_close_failed",
                    component=component.name,
                    error=str(exc) or type(exc).__name__,
                    error_type=type(exc).__name__,
                )

    def _on_role(self, role: Role, why: str) -> None:
        ctx = self.context
        ctx.metrics.leader.set(1 if role is Role.LEADER else 0)
        if self._stop.is_set():
            return
        if role is Role.LEADER:
            ctx.health.last_success = None  # what it did as an earlier leader says nothing now
        for component in self.started:
            if component.needs_lease:
                component.on_role(role, why)
        if role is Role.LEADER:
            ctx.notifier.status(f"leader {utc_clock()}: {why}; first full pass running")
            return
        message = f"standby {utc_clock()}: {why}"[:200]
        if not ctx.announce_ready(message):
            ctx.notifier.status(message)

    # -- reload ---------------------------------------------------------------------------------------

    async def _reload(self) -> None:
        async with self._reload_lock:
            ctx = self.context
            ctx.notifier.reloading()
            old = ctx.config
            try:
                # Off the loop: a large spec takes a while to parse, and the watchdog must keep ticking.
                new = await asyncio.to_thread(self._load)
            except ConfigError as exc:
                self._reload_failed(old, [str(d) for d in exc.diagnostics if d.severity == "error"], exc)
                return
            except Exception as exc:
                self._reload_failed(old, [f"{type(exc).__name__}: {exc}"], exc)
                return
            restart_required = [
                k for k in RESTART_REQUIRED if getattr(old.settings, k) != getattr(new.settings, k)
            ]
            settings = new.settings.model_copy(update={k: getattr(old.settings, k) for k in restart_required})
            exposed = _exposure_after_reload(settings, restart_required)
            if exposed is not None:
                self._reload_failed(old, [str(d) for d in exposed.diagnostics], exposed)
                return
            await self._apply(old, replace(new, settings=settings), restart_required)

    async def _apply(self, old: Config, new: Config, restart_required: list[str]) -> None:
        """Swap the config in, hand it to every component, and say what changed."""
        ctx = self.context
        settings = new.settings
        changed = sorted(k for k in Settings.model_fields if getattr(old.settings, k) != getattr(settings, k))
        ctx.config = new
        if self._relog is not None and (
            old.settings.log_level != settings.log_level or old.settings.log_format != settings.log_format
        ):
            ctx.log = self._relog(settings)
        for component in self.started:
            await component.reload(ctx, old, new)
        ctx.metrics.reloads.labels("ok").inc()
        ctx.metrics.spec_processors.set(len(new.desired.processors))
        ctx.log.info(
            "config_reloaded",
            spec=str(settings.spec),
            stack=new.desired.stack,
            processors=len(new.desired.processors),
            changed_settings=changed,
            restart_required=restart_required,
        )
        if restart_required:
            ctx.log.warning(
                "config_restart_required",
                settings=restart_required,
                note="these settings take effect at the next restart; the running values are kept",
            )
        for warning in new.warnings:
            ctx.log.warning("spec_warning", warning=warning)
        ctx.notifier.ready(f"reloaded {utc_clock()}: {len(new.desired.processors)} processors")

    def _reload_failed(self, old: Config, errors: list[str], exc: Exception) -> None:
        ctx = self.context
        ctx.metrics.reloads.labels("failed").inc()
        ctx.log.error(
            "config_reload_failed",
            source=_config_source(exc),
            errors=errors,
            kept_spec=str(old.settings.spec),
            kept_processors=len(old.desired.processors),
        )
        ctx.notifier.ready(f"reload failed {utc_clock()} ({len(errors)} errors); previous spec kept")


def _exposure_after_reload(running: Settings, kept: list[str]) -> SettingsError | None:
    """Why settings that would run after a reload must not (None: they may). `running` is the new
    settings with the restart-only values kept from before (`kept` names those that differ): a reload
    checks those, not the file's alone, so dropping `api_token_file` while moving `metrics_address` to
    loopback cannot leave the kept listener beyond loopback without a token."""
    exposed = exposure_problem(running)
    if exposed is None:
        return None
    if "metrics_address" in kept:
        exposed += (
            f"; metrics_address changes only at a restart, so the running listener stays on "
            f"{running.metrics_address} until then: keep api_token_file, restart, then drop it"
        )
    return SettingsError([Diagnostic("settings", 0, 0, "api_token_file", exposed)])


def _ignore() -> None:
    """Signal handler for the last moments of a stopping daemon."""


def _config_source(exc: Exception) -> str:
    """Which input a failed load is blamed on; an error nobody foresaw is not pinned on the settings."""
    if isinstance(exc, SpecError):
        return "spec"
    if isinstance(exc, SettingsError):
        return "settings"
    return "unexpected"


def run_daemon(
    settings_file: Path | None,
    overrides: Mapping[str, Any],
    *,
    environ: Mapping[str, str] | None = None,
    stdout: TextIO | None = None,
) -> int:
    """Load settings and spec, then run the daemon until a stop signal; the exit code.

    An invalid spec or settings file at start-up is logged (`config_invalid`) and re-raised, so the CLI
    prints the located errors on stderr and exits 78.
    """
    env = os.environ if environ is None else environ
    out = sys.stdout if stdout is None else stdout

    def relog(settings: Settings) -> Logger:
        return configure_logging(level=settings.log_level, fmt=settings.log_format, stream=out, environ=env)

    def load() -> Config:
        return load_config(settings_file, overrides, environ=env)

    try:
        config = load()
    except ConfigError as exc:
        try:
            log = relog(load_settings(settings_file, environ=env, **overrides))
        except ConfigError:
            log = configure_logging(stream=out, environ=env)
        log.error(
            "config_invalid",
            source=_config_source(exc),
            errors=[str(d) for d in exc.diagnostics if d.severity == "error"],
        )
        raise
    notifier = Notifier.from_environ(env)
    daemon = Daemon(
        config, reload=load, log=relog(config.settings), notifier=notifier, relog=relog, environ=env
    )
    try:
        return asyncio.run(daemon.run())
    except SpdError as exc:
        # The CLI prints it on stderr and exits 1; the log gets it too, for the journal.
        daemon.log.error("daemon_failed", error=str(exc), error_type=type(exc).__name__)
        raise
    finally:
        # Closing the loop restored the default actions; the daemon is done, so ignore late signals.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        notifier.close()
