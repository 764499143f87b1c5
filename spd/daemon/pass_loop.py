"""The daemon's passes: the reconciler, the timers that ask for passes, and what a pass reports.

Every pass is exactly the reconciler the CLI uses (`Reconciler.reconcile` for a full pass,
`Reconciler.sweep` for a status sweep); this module only decides when passes run and turns what they
report into metrics, health and sd_notify status lines. APScheduler (3.x, on the asyncio loop) fires a
full pass at start-up and every `interval`, and a status sweep every `status_interval`; `PassRunner`
makes sure two passes never overlap. The session windows schedule their cron jobs on the same scheduler.
"""

from __future__ import annotations

from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger

from spd.config.settings import Settings
from spd.connect import execution_settings, run_policy
from spd.daemon.component import Component, Config, Context
from spd.daemon.metrics import count_statuses
from spd.daemon.passes import FULL, SWEEP, PassRunner
from spd.daemon.preflight import PreflightTask
from spd.errors import SpdError
from spd.ha.lease import Role
from spd.ha.shards import AMBIENT_SHARD
from spd.model import DesiredState
from spd.reconcile.backoff import RestartBackoff
from spd.reconcile.plan import Policy
from spd.reconcile.reconciler import Reconciler, reconcile_fields


def utc_clock() -> str:
    return datetime.now(UTC).strftime("%H:%M:%SZ")


def reconfigure(reconciler: Reconciler, ctx: Context) -> None:
    """Bring the reconciler (and the health's interval) up to the config `ctx` holds now."""
    settings, desired = ctx.settings, ctx.desired
    reconciler.reconfigure(
        execution_settings(settings, desired.stack),
        desired.targets,
        extra_regions=tuple(settings.regions),
        backoff_initial=settings.failed_backoff_initial,
        backoff_max=settings.failed_backoff_max,
    )
    ctx.health.interval = settings.interval


class Passes(Component):
    """Full passes and status sweeps on timers, one at a time; `reconciler` is shared with the watch."""

    name = "passes"
    needs_lease = True

    def __init__(self) -> None:
        self.runner = PassRunner(full=self._full_pass, sweep=self._sweep)
        self._ctx: Context | None = None
        self._reconciler: Reconciler | None = None
        self._scheduler: AsyncIOScheduler | None = None
        self._sweep_failures = 0

    @property
    def ctx(self) -> Context:
        assert self._ctx is not None, "started"
        return self._ctx

    @property
    def reconciler(self) -> Reconciler:
        assert self._reconciler is not None, "started"
        return self._reconciler

    @property
    def scheduler(self) -> AsyncIOScheduler:
        assert self._scheduler is not None, "started"
        return self._scheduler

    async def start(self, ctx: Context) -> None:
        self._ctx = ctx
        settings = ctx.settings
        self._reconciler = Reconciler(
            ctx.gateway,
            execution_settings(settings, ctx.desired.stack),
            on_event=ctx.emit,
            backoff=RestartBackoff(settings.failed_backoff_initial, settings.failed_backoff_max),
            extra_regions=tuple(settings.regions),
            clock=ctx.clock,
            gate=ctx.gate,
        )
        self._scheduler = self._new_scheduler(settings)

    def _new_scheduler(self, settings: Settings) -> AsyncIOScheduler:
        """The scheduler with the passes' jobs; `Timers` starts it once every component added its own."""
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
        return scheduler

    async def reload(self, ctx: Context, old: Config, new: Config) -> None:
        """The new spec and settings apply from the next pass, which is asked for now rather than up to
        one interval later; the timers follow changed intervals."""
        reconfigure(self.reconciler, ctx)
        if old.settings.interval != new.settings.interval:
            self.scheduler.reschedule_job(FULL, trigger=IntervalTrigger(seconds=new.settings.interval))
        if old.settings.status_interval != new.settings.status_interval:
            trigger = IntervalTrigger(seconds=new.settings.status_interval)
            self.scheduler.reschedule_job(SWEEP, trigger=trigger)
        self.runner.request_full()

    def on_role(self, role: Role, why: str) -> None:
        if role is Role.LEADER:
            self.runner.request_full()
        else:
            # Whatever is in flight may have lost the lease: its next mutating call is refused anyway.
            self.runner.abandon()

    async def close(self, grace: float) -> None:
        """No new pass starts; the pass in flight gets `grace` seconds, then is cancelled."""
        abandoned = await self.runner.close(grace)
        if abandoned is not None:
            self.ctx.log.warning(
                "pass_abandoned",
                kind=abandoned,
                grace_period=grace,
                note="steps re-check live state, so the next run finishes what this one left",
            )

    def watch_target(self) -> tuple[Reconciler, DesiredState, Policy]:
        """What the watch reconciles one processor with: this reconciler, the current spec and policy."""
        ctx = self.ctx
        return self.reconciler, ctx.desired, run_policy(ctx.settings, ctx.desired.stack)

    # -- timers ---------------------------------------------------------------------------------------

    async def _on_full_timer(self) -> None:
        if self.ctx.standby() or self.ctx.stopping:
            return
        self.runner.request_full()

    async def _on_sweep_timer(self) -> None:
        if self.ctx.standby() or self.ctx.stopping:
            return
        if not self.runner.request_sweep():
            self.ctx.log.debug("status_sweep_skipped", reason=f"{self.runner.in_flight} in flight")

    # -- passes ---------------------------------------------------------------------------------------

    async def _full_pass(self) -> None:
        ctx = self.ctx
        if ctx.standby():
            return
        config = ctx.config
        ctx.announce_ready(f"first full pass running ({len(config.desired.processors)} processors)")
        policy = run_policy(config.settings, config.desired.stack)
        started = ctx.clock()
        try:
            result = await self.reconciler.reconcile(self._scoped(), policy)
        except Exception as exc:
            self._pass_failed(FULL, exc, ctx.clock() - started)
            return
        fields = reconcile_fields(result)
        ctx.health.succeeded()
        ctx.metrics.pass_succeeded(FULL, duration=result.duration, drifted=fields["drifted"])
        ctx.metrics.spec_statuses(
            count_statuses(
                p.observed.status if p.observed is not None else None
                for p in result.plan.processors
                if p.desired is not None and p.unreadable is None
            )
        )
        self._pass_status(
            f"full pass {utc_clock()}: {fields['processors']} processors, {fields['drifted']} drifted, "
            f"{fields['errors']} errors, {fields['api_calls']} API calls ({result.duration:.1f}s)"
        )

    async def _sweep(self) -> None:
        ctx = self.ctx
        if ctx.standby():
            return
        desired = self._scoped()
        started = ctx.clock()
        try:
            result = await self.reconciler.sweep(desired)
        except Exception as exc:
            self._pass_failed(SWEEP, exc, ctx.clock() - started)
            return
        self._sweep_failures = 0
        drifted = len(result.outcomes)
        ctx.metrics.pass_succeeded(SWEEP, duration=result.duration, drifted=drifted)
        ctx.metrics.spec_statuses(count_statuses(result.statuses.get(p.id) for p in desired.processors))
        self._pass_status(
            f"status sweep {utc_clock()}: {result.checked} processors listed, {drifted} drifted, "
            f"{result.errors} errors"
        )

    def _scoped(self) -> DesiredState:
        """The spec this pass works on (`Context.scope`: under `ha.mode: shards`, the held shards' part;
        the ambient credentials' extra `regions` only while their shard is held)."""
        ctx = self.ctx
        if ctx.shards is not None:
            ambient = AMBIENT_SHARD in ctx.shards.held()
            self.reconciler.extra_regions = tuple(ctx.settings.regions) if ambient else ()
        return ctx.scope(ctx.desired)

    def _pass_status(self, text: str) -> None:
        if self.ctx.shards is not None:
            text = f"{len(self.ctx.shards.held())} shards held; {text}"
        self.ctx.notifier.status(f"leader; {text}" if self.ctx.leadership is not None else text)

    def _pass_failed(self, kind: str, exc: Exception, duration: float) -> None:
        """A pass that failed as a whole (endpoint unreachable, List denied...): log it, retry next time."""
        ctx = self.ctx
        error = str(exc) or type(exc).__name__
        ctx.metrics.pass_failed(kind, duration=duration)
        if kind == FULL:
            ctx.health.failed(error)
            failures = ctx.health.consecutive_failures
        else:
            self._sweep_failures += 1
            failures = self._sweep_failures
        ctx.log.error(
            f"{kind}_failed",
            error=error,
            error_type=type(exc).__name__,
            duration=round(duration, 3),
            consecutive_failures=failures,
            # A traceback only for what spd did not expect; its own errors say all there is to say.
            exc_info=not isinstance(exc, SpdError),
        )
        ctx.notifier.status(f"{kind.replace('_', ' ')} failed {utc_clock()}: {error}"[:200])


class Preflight(Component):
    """The preflight in the background: at start-up, on every reload and on becoming leader."""

    name = "preflight"
    needs_lease = True

    def __init__(self) -> None:
        self._ctx: Context | None = None
        self._task: PreflightTask | None = None

    async def start(self, ctx: Context) -> None:
        self._ctx = ctx
        self._task = PreflightTask(track=ctx.track)
        self.run("start")

    async def reload(self, ctx: Context, old: Config, new: Config) -> None:
        self.run("reload")

    def on_role(self, role: Role, why: str) -> None:
        if role is Role.LEADER:
            self.run("leader")
        elif self._task is not None:
            self._task.cancel()

    async def close(self, grace: float) -> None:
        if self._task is not None:
            self._task.cancel()

    def run(self, trigger: str) -> None:
        """Not on a standby, which observes nothing (its one call is the lease read): it runs the
        preflight when it becomes leader, against the spec it holds then."""
        ctx, task = self._ctx, self._task
        assert ctx is not None, "started"
        assert task is not None, "started"
        if ctx.standby():
            task.cancel()
            ctx.log.debug("preflight_skipped", trigger=trigger, reason="standby: runs on becoming leader")
            return
        task.start(ctx.gateway, ctx.scope(ctx.desired), ctx.settings, ctx.log, trigger=trigger)

    @property
    def started(self) -> bool:
        return self._task is not None


class Timers(Component):
    """Starts the passes' scheduler, last, once the passes and the session windows added their jobs;
    so it is closed first: no timer fires while the rest of the daemon closes."""

    name = "timers"
    needs_lease = True

    def __init__(self, passes: Passes) -> None:
        self._passes = passes
        self._scheduler: AsyncIOScheduler | None = None

    async def start(self, ctx: Context) -> None:
        self._scheduler = self._passes.scheduler
        self._scheduler.start()

    async def close(self, grace: float) -> None:
        if self._scheduler is not None:
            self._scheduler.shutdown(wait=False)
