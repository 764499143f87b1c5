"""`spd run`: the daemon that holds the live fleet equal to the spec.

Called by `spd.cli.run_cmd` through `run_daemon`. Every pass is exactly the reconciler the CLI uses
(`Reconciler.reconcile` for a full pass, `Reconciler.sweep` for a status sweep); this module only decides
when passes run and turns what they report into log lines, metrics, health and sd_notify messages.

Timing: APScheduler (3.x, on the asyncio loop) fires a full pass at start-up and every `interval`, and a
status sweep every `status_interval`; `PassRunner` makes sure two passes never overlap. Signals: SIGHUP
reloads settings and spec (validated first; a broken one keeps the old running), SIGTERM/SIGINT stop
scheduling and give the pass in flight `grace_period` seconds before abandoning it, then exit 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from spd import __version__
from spd.aws.gateway import CallStats, Gateway
from spd.backoff import RestartBackoff
from spd.connect import execution_settings, open_gateway, run_policy
from spd.daemon.api_token import token_file_problem
from spd.daemon.event_out import EventOutlet, open_outlet
from spd.daemon.http import Response, serve
from spd.daemon.leader import Leadership
from spd.daemon.logs import configure_logging, level_number
from spd.daemon.metrics import DaemonMetrics, Health, count_statuses
from spd.daemon.notify import Notifier, watchdog_period
from spd.daemon.passes import FULL, SWEEP, PassRunner
from spd.daemon.preflight import PreflightTask
from spd.daemon.session_results import ResultsReader, open_results_reader
from spd.daemon.session_triggers import (
    SESSIONS_PATH,
    SessionQueueReader,
    SessionTriggers,
    exposure_problem,
    open_session_queue,
)
from spd.daemon.session_windows import SessionWindows
from spd.daemon.watch import Watch, open_watch
from spd.errors import ConfigError, Diagnostic, SettingsError, SpdError, SpecError
from spd.events import Event
from spd.lease import Role
from spd.model import DesiredState
from spd.mutation_gate import MutationGate
from spd.plan import Policy
from spd.reconciler import Reconciler, reconcile_fields
from spd.sessions.ledger import Ledger
from spd.settings import RESTART_REQUIRED, Settings, load_settings, state_directory
from spd.spec import load_spec

Logger = structlog.stdlib.BoundLogger


@dataclass(frozen=True, slots=True)
class Config:
    """Settings and spec, loaded and validated together (at start-up and on every SIGHUP)."""

    settings: Settings
    desired: DesiredState
    warnings: tuple[str, ...] = ()


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
    if settings.api_token_file is not None:
        # Stricter than the settings' own check (world-readable): group access is refused too, as the
        # daemon refuses it per request (spd.daemon.api_token).
        token = token_file_problem(settings.api_token_file)
        if token is not None:
            env = os.environ if environ is None else environ
            if any(name.upper() == "SPD_API_TOKEN_FILE" for name in env):
                raise SettingsError([Diagnostic("environment", 0, 0, "SPD_API_TOKEN_FILE", token)])
            raise SettingsError([Diagnostic(where, 0, 0, "api_token_file", token)])
    loaded = load_spec(settings.spec, environ=environ)
    return Config(settings, loaded.desired, tuple(str(w) for w in loaded.warnings))


def _utc_clock() -> str:
    return datetime.now(UTC).strftime("%H:%M:%SZ")


class Daemon:
    """One running daemon: a gateway, a reconciler, a scheduler, a health endpoint, a notifier."""

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
        self._config = config
        self._load = reload
        self._log = log
        self._relog = relog
        self._notifier = notifier
        self._environ = os.environ if environ is None else environ
        self._clock = clock
        settings = config.settings
        self._backoff = RestartBackoff(settings.failed_backoff_initial, settings.failed_backoff_max)
        self._health = Health(settings.interval, clock, stopped_readers=self._stopped_readers)
        self._gateway: Gateway | None = None
        self._outlet: EventOutlet | None = None
        self._metrics = DaemonMetrics(
            stats=self._call_stats,
            notify_dropped=lambda: notifier.dropped,
            sinks=lambda: self._outlet.sinks if self._outlet is not None else None,
            spec=lambda: self._config.desired,
        )
        self._reconciler: Reconciler | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._passes = PassRunner(full=self._full_pass, sweep=self._sweep)
        self._stop = asyncio.Event()
        self._stop_reason: str | None = None
        self._reload_lock = asyncio.Lock()
        self._background: set[asyncio.Task[None]] = set()
        self._preflight = PreflightTask(track=self._track)
        self._ready = False
        self._sweep_failures = 0
        self._watch: Watch | None = None
        self._results: ResultsReader | None = None
        self._leadership: Leadership | None = None
        self._ledger: Ledger | None = None
        self._sessions: SessionTriggers | None = None
        self._session_queue: SessionQueueReader | None = None
        self._windows: SessionWindows | None = None

    @property
    def log(self) -> Logger:
        """The logger in use (a reload may have replaced it)."""
        return self._log

    # -- life cycle -----------------------------------------------------------------------------------

    async def run(self) -> int:
        """Serve until SIGTERM/SIGINT; returns the exit code (0 after a clean or graceful stop)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop, sig.name)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        watchdog: asyncio.Task[None] | None = None
        try:
            async with contextlib.AsyncExitStack() as stack:
                settings = self._config.settings
                self._gateway = await stack.enter_async_context(open_gateway(settings, self._config.desired))
                self._outlet = await stack.enter_async_context(
                    open_outlet(
                        settings,
                        self._gateway,
                        stack=lambda: self._config.desired.stack,
                        retention=lambda: self._config.settings.history_retention,
                        log=lambda: self._log,
                        environ=self._environ,
                    )
                )
                # One gate for every mutating call, the passes' and the session Starts' alike.
                gate = MutationGate(self._lease_refusal)
                self._reconciler = Reconciler(
                    self._gateway,
                    execution_settings(settings, self._config.desired.stack),
                    on_event=self._on_event,
                    backoff=self._backoff,
                    extra_regions=tuple(settings.regions),
                    clock=self._clock,
                    gate=gate,
                )
                if settings.ha.table is not None:
                    self._leadership = await self._open_leadership(settings)
                    self._health.lease = self._leadership.describe
                self._sessions = SessionTriggers(
                    self._gateway,
                    self._open_ledger,
                    settings=lambda: self._config.settings,
                    desired=lambda: self._config.desired,
                    on_event=self._on_event,
                    active=lambda: not self._standby(),
                    gate=gate,
                )
                stack.callback(self._close_ledger)
                address = await self._serve_http(stack, settings.metrics_address)
                self._metrics.spec_processors.set(len(self._config.desired.processors))
                self._log.info(
                    "daemon_started",
                    version=__version__,
                    pid=os.getpid(),
                    spec=str(settings.spec),
                    stack=self._config.desired.stack,
                    processors=len(self._config.desired.processors),
                    interval=settings.interval,
                    status_interval=settings.status_interval,
                    metrics_address=address,
                    endpoint="local" if settings.local else (settings.endpoint_url or "aws"),
                )
                self._report_warnings(self._config)
                period = watchdog_period(self._environ, pid=os.getpid())
                if period is not None and self._notifier.enabled:
                    watchdog = asyncio.create_task(self._watchdog(period), name="spd-watchdog")
                lease_task = self._start_leadership()
                self._start_scheduler(settings)
                if settings.watch_queue_url:
                    self._watch = open_watch(
                        self._gateway,
                        settings.watch_queue_url,
                        target=self._watch_target,
                        settings=lambda: self._config.settings,
                        spec_regions=self._config.desired.regions,
                        environ=self._environ,
                        log=lambda: self._log,
                        registry=self._metrics.registry,
                        clock=self._clock,
                        active=lambda: not self._standby(),
                    )
                if settings.results_queue_url:
                    self._results = open_results_reader(
                        self._gateway,
                        settings.results_queue_url,
                        ledger=self._open_ledger(),
                        regions=(*self._config.desired.regions, *settings.regions),
                        environ=self._environ,
                        on_event=self._on_event,
                        log=lambda: self._log,
                        active=lambda: not self._standby(),
                    )
                if settings.session_queue_url:
                    self._session_queue = open_session_queue(
                        self._gateway,
                        settings.session_queue_url,
                        self._sessions,
                        spec_regions=self._config.desired.regions,
                        environ=self._environ,
                        log=lambda: self._log,
                    )
                self._start_windows()
                self._start_preflight("start")
                await self._stop.wait()
                try:
                    await self._shutdown()
                finally:
                    # Whatever went wrong stopping, the standby must not wait out a whole lease.
                    await self._stop_leadership(lease_task)
        finally:
            if watchdog is not None:
                watchdog.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await watchdog
            # Not removed (that would restore the default action, and a late SIGTERM or SIGHUP would kill
            # the process mid-teardown with a signal status); from here on they are ignored.
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.add_signal_handler(sig, _ignore)
        self._log.info("daemon_stopped", reason=self._stop_reason)
        return 0

    def request_stop(self, reason: str = "stop") -> None:
        if self._stop.is_set():
            # A second signal during the grace period: stop waiting for the pass in flight.
            self._passes.abandon()
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

    def _start_preflight(self, trigger: str) -> None:
        """The preflight in the background; not on a standby, which observes nothing (its one call is the
        lease read): it runs the preflight when it becomes leader, against the spec it holds then."""
        if self._gateway is None:
            return
        if self._standby():
            self._preflight.cancel()
            self._log.debug("preflight_skipped", trigger=trigger, reason="standby: runs on becoming leader")
            return
        config = self._config
        self._preflight.start(self._gateway, config.desired, config.settings, self._log, trigger=trigger)

    def _start_scheduler(self, settings: Settings) -> None:
        scheduler = AsyncIOScheduler(
            timezone=UTC,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        )
        # The jobs only ask PassRunner for a pass and return at once, so APScheduler never has a job
        # running when the next one is due; the first full pass runs now, not one interval later.
        scheduler.add_job(
            self._on_full_timer,
            IntervalTrigger(seconds=settings.interval),
            id=FULL,
            next_run_time=datetime.now(UTC),
        )
        scheduler.add_job(self._on_sweep_timer, IntervalTrigger(seconds=settings.status_interval), id=SWEEP)
        scheduler.start()
        self._scheduler = scheduler

    def _reschedule(self, old: Settings, new: Settings) -> None:
        if self._scheduler is None:
            return
        if old.interval != new.interval:
            self._scheduler.reschedule_job(FULL, trigger=IntervalTrigger(seconds=new.interval))
        if old.status_interval != new.status_interval:
            self._scheduler.reschedule_job(SWEEP, trigger=IntervalTrigger(seconds=new.status_interval))

    async def _on_full_timer(self) -> None:
        if self._standby():
            return
        self._passes.request_full()

    async def _on_sweep_timer(self) -> None:
        if self._standby():
            return
        if not self._passes.request_sweep():
            self._log.debug("status_sweep_skipped", reason=f"{self._passes.in_flight} in flight")

    async def _shutdown(self) -> None:
        grace = self._config.settings.grace_period
        in_flight = self._passes.in_flight
        self._notifier.stopping(f"stopping ({self._stop_reason}); waiting up to {grace:g}s for {in_flight}")
        self._log.info("shutdown_started", signal=self._stop_reason, grace_period=grace, in_flight=in_flight)
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
        if self._results is not None:
            await self._results.close()  # reading stops at once; a message being stored finishes first
        if self._session_queue is not None:
            await self._session_queue.close()
        if self._windows is not None:
            await self._windows.close()
        abandoned, _ = await asyncio.gather(
            self._passes.close(grace),
            self._watch.close(grace) if self._watch is not None else asyncio.sleep(0, 0),
        )
        if abandoned is not None:
            self._log.warning(
                "pass_abandoned",
                kind=abandoned,
                grace_period=grace,
                note="steps re-check live state, so the next run finishes what this one left",
            )
        for task in list(self._background):
            task.cancel()
        await asyncio.gather(*self._background, return_exceptions=True)

    # -- sessions (spd.daemon.session_triggers, spd.daemon.session_windows) ---------------------------------

    def _open_ledger(self) -> Ledger:
        if self._ledger is None:
            self._ledger = Ledger.open(state_directory(self._config.settings))
        return self._ledger

    def _close_ledger(self) -> None:
        if self._ledger is not None:
            self._ledger.close()

    def _start_windows(self) -> None:
        assert self._scheduler is not None
        assert self._gateway is not None
        assert self._sessions is not None
        self._windows = SessionWindows(
            self._scheduler,
            self._gateway,
            self._sessions,
            poll_interval=lambda: self._config.settings.poll_interval,
            on_event=self._on_event,
            log=lambda: self._log,
        )
        self._windows.schedule(self._config.desired)

    # -- the lease (spd.daemon.leader) -----------------------------------------------------------------

    async def _open_leadership(self, settings: Settings) -> Leadership:
        assert self._gateway is not None
        return await Leadership.open(
            self._gateway,
            settings.ha,
            stack=self._config.desired.stack,
            spec_regions=self._config.desired.regions,
            environ=self._environ,
            on_event=self._on_event,
            on_role=self._on_role,
            clock=self._clock,
        )

    def _lease_refusal(self) -> str | None:
        """The lease as the mutation gate asks it: None without `ha` (a lone daemon may)."""
        return None if self._leadership is None else self._leadership.refusal()

    def _standby(self) -> bool:
        """True while another daemon (may) hold the lease: no pass, no sweep, nothing observed."""
        return self._leadership is not None and self._leadership.role is not Role.LEADER

    def _start_leadership(self) -> asyncio.Task[None] | None:
        if self._leadership is None:
            return None
        return asyncio.create_task(self._leadership.run(), name="spd-lease")

    async def _stop_leadership(self, task: asyncio.Task[None] | None) -> None:
        """After the pass in flight is over: stop renewing, then release so a standby takes over now."""
        if task is None or self._leadership is None:
            return
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        await self._leadership.release()

    def _on_role(self, role: Role, why: str) -> None:
        self._metrics.leader.set(1 if role is Role.LEADER else 0)
        if self._stop.is_set():
            return
        if role is Role.LEADER:
            self._health.last_success = None  # what it did as an earlier leader says nothing now
            self._passes.request_full()
            self._start_preflight("leader")
            self._notifier.status(f"leader {_utc_clock()}: {why}; first full pass running")
            return
        # Whatever is in flight may have lost the lease: its next mutating call is refused anyway.
        self._passes.abandon()
        self._preflight.cancel()
        message = f"standby {_utc_clock()}: {why}"[:200]
        if not self._ready:
            self._ready = True
            self._notifier.ready(message)
        else:
            self._notifier.status(message)

    async def _watchdog(self, period: float) -> None:
        # Pinged from the event loop itself: if the loop wedges, the pings stop and systemd restarts us.
        while True:
            self._notifier.watchdog()
            await asyncio.sleep(period)

    # -- passes ---------------------------------------------------------------------------------------

    def _prepare(self) -> tuple[Reconciler, Config]:
        """The reconciler, brought up to the current config (a reload only swaps `_config`)."""
        config = self._config
        reconciler = self._reconciler
        assert reconciler is not None
        execution = execution_settings(config.settings, config.desired.stack)
        if execution.stack != reconciler.settings.stack:
            # Ownership proven for another stack says nothing about this one.
            reconciler.owned = frozenset()
            reconciler.arns = {}
        reconciler.settings = execution
        reconciler.extra_regions = tuple(config.settings.regions)
        assert self._gateway is not None
        self._gateway.use_targets(config.desired.targets, config.desired.stack)
        self._backoff.initial = config.settings.failed_backoff_initial
        self._backoff.maximum = config.settings.failed_backoff_max
        self._health.interval = config.settings.interval
        return reconciler, config

    async def _full_pass(self) -> None:
        if self._standby():
            return
        reconciler, config = self._prepare()
        if not self._ready:
            self._ready = True
            self._notifier.ready(f"first full pass running ({len(config.desired.processors)} processors)")
        policy = run_policy(config.settings, config.desired.stack)
        started = self._clock()
        try:
            result = await reconciler.reconcile(config.desired, policy)
        except Exception as exc:
            self._pass_failed(FULL, exc, self._clock() - started)
            return
        fields = reconcile_fields(result)
        self._health.succeeded()
        self._metrics.pass_succeeded(FULL, duration=result.duration, drifted=fields["drifted"])
        self._metrics.spec_statuses(
            count_statuses(
                p.observed.status if p.observed is not None else None
                for p in result.plan.processors
                if p.desired is not None and p.unreadable is None
            )
        )
        self._pass_status(
            f"full pass {_utc_clock()}: {fields['processors']} processors, {fields['drifted']} drifted, "
            f"{fields['errors']} errors, {fields['api_calls']} API calls ({result.duration:.1f}s)"
        )

    async def _sweep(self) -> None:
        if self._standby():
            return
        reconciler, config = self._prepare()
        started = self._clock()
        try:
            result = await reconciler.sweep(config.desired)
        except Exception as exc:
            self._pass_failed(SWEEP, exc, self._clock() - started)
            return
        self._sweep_failures = 0
        drifted = len(result.outcomes)
        self._metrics.pass_succeeded(SWEEP, duration=result.duration, drifted=drifted)
        self._metrics.spec_statuses(
            count_statuses(result.statuses.get(p.id) for p in config.desired.processors)
        )
        self._pass_status(
            f"status sweep {_utc_clock()}: {result.checked} processors listed, {drifted} drifted, "
            f"{result.errors} errors"
        )

    def _watch_target(self) -> tuple[Reconciler, DesiredState, Policy]:
        reconciler, config = self._prepare()
        return reconciler, config.desired, run_policy(config.settings, config.desired.stack)

    def _pass_status(self, text: str) -> None:
        self._notifier.status(f"leader; {text}" if self._leadership is not None else text)

    def _pass_failed(self, kind: str, exc: Exception, duration: float) -> None:
        """A pass that failed as a whole (endpoint unreachable, List denied...): log it, retry next time."""
        error = str(exc) or type(exc).__name__
        self._metrics.pass_failed(kind, duration=duration)
        if kind == FULL:
            self._health.failed(error)
            failures = self._health.consecutive_failures
        else:
            self._sweep_failures += 1
            failures = self._sweep_failures
        self._log.error(
            f"{kind}_failed",
            error=error,
            error_type=type(exc).__name__,
            duration=round(duration, 3),
            consecutive_failures=failures,
            # A traceback only for what spd did not expect; its own errors say all there is to say.
            exc_info=not isinstance(exc, SpdError),
        )
        self._notifier.status(f"{kind.replace('_', ' ')} failed {_utc_clock()}: {error}"[:200])

    def _on_event(self, event: Event) -> None:
        self._metrics.event(event)
        self._log.log(level_number(event.level), event.name, **event.fields)
        if self._outlet is not None:
            self._outlet.emit(event)

    # -- reload ---------------------------------------------------------------------------------------

    async def _reload(self) -> None:
        async with self._reload_lock:
            self._notifier.reloading()
            old = self._config
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
            changed = sorted(
                k for k in Settings.model_fields if getattr(old.settings, k) != getattr(settings, k)
            )
            self._config = replace(new, settings=settings)
            if self._relog is not None and (
                old.settings.log_level != settings.log_level or old.settings.log_format != settings.log_format
            ):
                self._log = self._relog(settings)
            self._reschedule(old.settings, settings)
            if self._windows is not None:
                self._windows.schedule(new.desired)
            self._metrics.reloads.labels("ok").inc()
            self._metrics.spec_processors.set(len(new.desired.processors))
            self._log.info(
                "config_reloaded",
                spec=str(settings.spec),
                stack=new.desired.stack,
                processors=len(new.desired.processors),
                changed_settings=changed,
                restart_required=restart_required,
            )
            if restart_required:
                self._log.warning(
                    "config_restart_required",
                    settings=restart_required,
                    note="these settings take effect at the next restart; the running values are kept",
                )
            self._report_warnings(new)
            self._notifier.ready(f"reloaded {_utc_clock()}: {len(new.desired.processors)} processors")
            # Apply the new spec now rather than up to one interval later.
            self._passes.request_full()
            self._start_preflight("reload")

    def _reload_failed(self, old: Config, errors: list[str], exc: Exception) -> None:
        self._metrics.reloads.labels("failed").inc()
        self._log.error(
            "config_reload_failed",
            source=_config_source(exc),
            errors=errors,
            kept_spec=str(old.settings.spec),
            kept_processors=len(old.desired.processors),
        )
        self._notifier.ready(f"reload failed {_utc_clock()} ({len(errors)} errors); previous spec kept")

    def _report_warnings(self, config: Config) -> None:
        for warning in config.warnings:
            self._log.warning("spec_warning", warning=warning)

    # -- HTTP -----------------------------------------------------------------------------------------

    async def _serve_http(self, stack: contextlib.AsyncExitStack, address: str) -> str | None:
        """Listen for /healthz and /metrics until `stack` closes; the bound address (None: disabled)."""
        if not address:
            return None
        try:
            posts = {SESSIONS_PATH: self._sessions.handle_http} if self._sessions is not None else {}
            listening = await serve(
                address, {"/healthz": self._healthz, "/metrics": self._metrics_page}, posts
            )
        except OSError as exc:
            raise SpdError(f"cannot listen on {address} (metrics_address): {exc.strerror or exc}") from None
        stack.push_async_callback(_close_server, listening.server)
        return listening.address

    def _call_stats(self) -> CallStats | None:
        return self._gateway.stats if self._gateway is not None else None

    def _stopped_readers(self) -> dict[str, str]:
        """The queue readers whose task ended by itself, and why (`/healthz` is 503 while any has)."""
        readers = (self._watch, self._results, self._session_queue)
        return {r.name: r.stopped for r in readers if r is not None and r.stopped is not None}

    def _healthz(self) -> Response:
        code, body = self._health.render()
        return code, "application/json", body

    def _metrics_page(self) -> Response:
        return 200, "text/plain; version=0.0.4; charset=utf-8", self._metrics.render()


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


async def _close_server(server: asyncio.Server) -> None:
    server.close()
    await server.wait_closed()


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
