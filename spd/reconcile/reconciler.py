"""One reconcile pass (observe -> plan -> execute), and the cheap status sweep between passes.

The CLI (`plan`, `apply`, `status`) and the daemon call exactly these functions, so what a user sees in
`spd plan` is what the daemon does. Facts are reported as `Event`s through the `on_event` callback;
nothing here logs or prints.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from spd import events
from spd.events import Event, EventSink
from spd.model import DesiredState, ObservedProcessor, ObservedState, ProcessorId, Status, Target
from spd.reconcile.backoff import RestartBackoff
from spd.reconcile.executor import ApplyResult, ExecutionSettings, Executor, ProcessorOutcome
from spd.reconcile.mutation_gate import OPEN, MutationGate
from spd.reconcile.observe import Location, Progress, list_statuses, locations_of, observe, observe_one
from spd.reconcile.plan import Change, Plan, Policy, ProcessorPlan, Scope, plan
from spd.reconcile.ports import FleetGateway
from spd.reconcile.processor_locks import ProcessorLocks


@dataclass(frozen=True, slots=True)
class ReconcileResult:
    plan: Plan
    observed: ObservedState
    applied: ApplyResult
    duration: float
    api_calls: dict[str, int]

    @property
    def errors(self) -> int:
        return len(self.applied.failed)


@dataclass(frozen=True, slots=True)
class SweepResult:
    checked: int
    outcomes: tuple[ProcessorOutcome, ...]
    duration: float
    api_calls: dict[str, int]
    statuses: dict[ProcessorId, Status] = field(default_factory=dict)
    """Every listed processor's status (the daemon's processors-by-status metric reads it)."""

    @property
    def errors(self) -> int:
        return sum(1 for o in self.outcomes if not o.ok and not o.disowned)

    @property
    def disowned(self) -> int:
        """Processors left alone because their tag no longer names this stack."""
        return sum(1 for o in self.outcomes if o.disowned)


@dataclass
class Reconciler:
    """Binds a gateway and settings; `owned` remembers which processors the last full pass proved ours.

    `arns` remembers their ARNs, so a sweep re-checks a processor's tag before acting on it with one
    ListTagsForResource (a List response carries neither tags nor ARNs).
    """

    gateway: FleetGateway
    settings: ExecutionSettings
    on_event: EventSink = events.discard
    backoff: RestartBackoff | None = None
    extra_regions: tuple[str, ...] = ()
    clock: Callable[[], float] = time.monotonic
    owned: frozenset[ProcessorId] = field(default_factory=frozenset)
    arns: dict[ProcessorId, str] = field(default_factory=dict)
    locks: ProcessorLocks = field(default_factory=ProcessorLocks)
    """Held per processor while it is changed: `reconcile_processor` never overlaps a pass on it."""
    gate: MutationGate = OPEN
    """Asked before every mutating call (`spd.reconcile.mutation_gate`): the daemon's lease, then ownership."""
    failed_targets: dict[str, str] = field(default_factory=dict)
    """The targets the last pass or sweep reported as failed (target -> why): a sweep names a target
    only when its failure is new, so a broken target is logged once per pass, not twice a second."""

    def reconfigure(
        self,
        settings: ExecutionSettings,
        targets: Iterable[Target],
        *,
        extra_regions: tuple[str, ...],
        backoff_initial: float | None = None,
        backoff_max: float | None = None,
    ) -> None:
        """Take a reloaded config: the stack (in `settings`), its targets, the extra regions and the
        restart backoff's limits. A changed stack forgets which processors were proven owned: ownership
        proven for another stack says nothing about this one."""
        if settings.stack != self.settings.stack:
            self.owned = frozenset()
            self.arns = {}
        self.settings = settings
        self.extra_regions = extra_regions
        self.gateway.use_targets(targets, settings.stack)
        if self.backoff is not None:
            if backoff_initial is not None:
                self.backoff.initial = backoff_initial
            if backoff_max is not None:
                self.backoff.maximum = backoff_max

    def _executor(self, *, locked: bool = True) -> Executor:
        return Executor(
            self.gateway,
            self.settings,
            on_event=self.on_event,
            backoff=self.backoff,
            clock=self.clock,
            locks=self.locks if locked else None,
            gate=self.gate,
        )

    def regions(self, desired: DesiredState) -> tuple[str, ...]:
        return tuple(sorted(set(desired.regions) | set(self.extra_regions)))

    def locations(self, desired: DesiredState) -> tuple[Location, ...]:
        """The (target, region) pairs a pass reads: the spec's scope, and the ambient target in the
        settings' extra regions."""
        return locations_of([*desired.scope, *self.extra_regions])

    async def observe(
        self, desired: DesiredState, *, everything: bool, progress: Progress | None = None
    ) -> ObservedState:
        names = None if everything else {p.name for p in desired.processors}
        return await observe(
            self.gateway,
            self.locations(desired),
            names=names,
            concurrency=self.settings.concurrency,
            progress=progress,
        )

    async def plan_only(
        self, desired: DesiredState, policy: Policy, ids: Collection[ProcessorId]
    ) -> tuple[Plan, ObservedState]:
        """Re-read just these processors (a saved plan's: Describe + ListTagsForResource for them only)
        and plan them alone."""
        wanted = frozenset(ids)
        seen = await observe(
            self.gateway,
            {pid.location for pid in wanted},
            names={pid.name for pid in wanted},
            concurrency=self.settings.concurrency,
        )
        observed = ObservedState(
            seen.regions,
            tuple(p for p in seen.processors if p.id in wanted),
            tuple(u for u in seen.unreadable if u[0] in wanted),
            seen.failed_targets,
        )
        planned = plan(desired, observed, policy)
        kept = tuple(p for p in planned.processors if p.id in wanted)
        return Plan(planned.stack, kept, planned.failed_targets), observed

    async def plan(
        self, desired: DesiredState, policy: Policy, *, progress: Progress | None = None
    ) -> tuple[Plan, ObservedState]:
        """Observe what the plan needs (all processors when pruning, to find this stack's) and plan."""
        observed = await self.observe(desired, everything=policy.prune, progress=progress)
        result = plan(desired, observed, policy)
        self._remember_owned(observed)
        return result, observed

    async def apply(
        self, planned: Plan, *, progress: Callable[[ProcessorOutcome], None] | None = None
    ) -> ApplyResult:
        """Carry out the plan; a processor that could not be read is reported as failed, untouched."""
        applied = await self._executor().apply(planned.processors, progress=progress)
        unread = tuple(
            ProcessorOutcome(p.id, p.actions, error=f"not read, so not changed: {p.unreadable}")
            for p in planned.unreadable()
        )
        return ApplyResult(applied.outcomes + unread)

    async def reconcile(self, desired: DesiredState, policy: Policy) -> ReconcileResult:
        """A full pass: observe, report drift, converge, report the pass."""
        started = self.clock()
        before = self.gateway.stats.snapshot()
        planned, observed = await self.plan(desired, policy)
        for target, error in planned.failed_targets:
            self.on_event(Event(events.TARGET_FAILED, {"target": target, "error": error}))
        self.failed_targets = dict(planned.failed_targets)
        self.report_drift(planned)
        applied = await self.apply(planned)
        # What this pass created carries this stack's tag: the status sweeps may tend it from now on,
        # not only after the next full pass.
        self.owned |= {o.id for o in applied.outcomes if "create" in o.done}
        self._learn(applied.outcomes)
        duration = self.clock() - started
        calls = _delta(before, self.gateway.stats.snapshot())
        result = ReconcileResult(planned, observed, applied, duration, calls)
        self.on_event(Event(events.RECONCILE_COMPLETED, reconcile_fields(result)))
        return result

    async def reconcile_processor(
        self, desired: DesiredState, policy: Policy, pid: ProcessorId
    ) -> ReconcileResult:
        """One processor only (the daemon's watch): Describe + tags, plan, report drift, converge.

        The same planner and executor as a full pass, so the same rules hold: a processor of another
        stack (or of none) is never touched, one of this stack that left the spec is deleted only under
        `prune`. The processor's lock is held throughout, so a full pass never acts on it meanwhile.
        """
        started = self.clock()
        before = self.gateway.stats.snapshot()
        async with self.locks.hold(pid):
            observed = await observe_one(self.gateway, pid)
            # Targeting the name keeps the planner from planning (and the caller from paying for) the
            # rest of the spec; same-named processors of other regions are then dropped by id.
            only = frozenset({pid.name})
            if policy.only is not None:
                only &= policy.only
            planned = plan(desired, observed, replace(policy, only=only))
            planned = Plan(planned.stack, tuple(p for p in planned.processors if p.id == pid))
            self._remember_one(pid, observed)
            self.report_drift(planned)
            applied = await self._executor(locked=False).apply(planned.processors)
            unread = tuple(
                ProcessorOutcome(p.id, p.actions, error=f"not read, so not changed: {p.unreadable}")
                for p in planned.unreadable()
            )
            applied = ApplyResult(applied.outcomes + unread)
        if any("create" in o.done for o in applied.outcomes):
            self.owned |= {pid}
        self._learn(applied.outcomes)
        calls = _delta(before, self.gateway.stats.snapshot())
        return ReconcileResult(planned, observed, applied, self.clock() - started, calls)

    async def status(
        self, desired: DesiredState, *, progress: Progress | None = None
    ) -> tuple[Plan, ObservedState]:
        """`spd status`: every processor of the spec's regions read (owners included), planned as if
        pruning, so this stack's processors that left the spec show as such."""
        return await self.plan(desired, Policy(desired.stack, prune=True), progress=progress)

    async def sweep(self, desired: DesiredState) -> SweepResult:
        """ListStreamProcessors only: start or stop owned processors whose run state drifted.

        The List page becomes an observation with status only, planned by the same planner under
        `Scope.RUN_STATE`; ownership comes from the last full pass (`owned`), since a List response
        carries no tags. Processors not in `owned` (new, conflicting, deleted) wait for the next full pass.
        """
        started = self.clock()
        before = self.gateway.stats.snapshot()
        failed: dict[str, str] = {}
        statuses = await list_statuses(self.gateway, self.locations(desired), failed)
        listed = ObservedState(
            self.regions(desired),
            tuple(ObservedProcessor(pid, status, arn=self.arns.get(pid)) for pid, status in statuses.items()),
            failed_targets=tuple(sorted(failed.items())),
        )
        for target, error in sorted(failed.items()):
            if self.failed_targets.get(target) != error:
                self.on_event(Event(events.TARGET_FAILED, {"target": target, "error": error}))
        self.failed_targets = dict(failed)
        policy = Policy(desired.stack, scope=Scope.RUN_STATE, owned=self.owned)
        drifted = plan(desired, listed, policy).actionable()
        for p in drifted:
            for change in p.changes:
                self.on_event(_drift_event(p, change, source="status_sweep"))
        # The executor re-reads each processor's tag before starting or stopping it (one call per
        # action, not per listed processor): a processor untagged since the last full pass is left alone.
        applied = await self._executor().apply(drifted)
        self._learn(applied.outcomes)
        for pid, status in statuses.items():
            if status is Status.RUNNING and self.backoff is not None:
                self.backoff.healthy(pid)
        duration = self.clock() - started
        result = SweepResult(
            len(statuses), applied.outcomes, duration, _delta(before, self.gateway.stats.snapshot()), statuses
        )
        self.on_event(
            Event(
                events.STATUS_SWEEP_COMPLETED,
                {
                    "duration": round(duration, 3),
                    "processors": len(statuses),
                    "drifted": len(drifted),
                    "started": sum(1 for o in applied.outcomes if "start" in o.done),
                    "stopped": sum(1 for o in applied.outcomes if "stop" in o.done),
                    "errors": result.errors,
                    "disowned": result.disowned,
                    "api_calls": sum(result.api_calls.values()),
                },
            )
        )
        return result

    def report_drift(self, planned: Plan) -> None:
        """One `drift_detected` event per changed field of a processor that already exists."""
        for p in planned.processors:
            if p.unreadable is not None:
                self.on_event(
                    Event(
                        events.PROCESSOR_ERROR,
                        {**_where(p.id), "error": p.unreadable, "steps_done": []},
                    )
                )
                continue
            if p.observed is None:
                continue
            if p.observed.status is Status.FAILED:
                self.on_event(
                    Event(
                        events.PROCESSOR_FAILED,
                        {**_where(p.id), "status_message": p.observed.status_message or ""},
                    )
                )
            if p.block is not None:
                name = events.PROCESSOR_CONFLICT if p.conflict else events.PROCESSOR_BLOCKED
                self.on_event(Event(name, {**_where(p.id), "reason": p.block.text}))
                if p.conflict:
                    continue
            for change in p.changes:
                self.on_event(_drift_event(p, change, forces_replacement=change.forces_replacement))

    def _remember_owned(self, observed: ObservedState) -> None:
        stack = self.settings.stack
        self.owned = frozenset(p.id for p in observed.processors if p.stack() == stack)
        self.arns = {p.id: p.arn for p in observed.processors if p.id in self.owned and p.arn}

    def _remember_one(self, pid: ProcessorId, observed: ObservedState) -> None:
        """What one processor's read says about its owner (`owned` and `arns` otherwise come from full
        passes); an unreadable one keeps what was known."""
        if any(u[0] == pid for u in observed.unreadable):
            return
        found = observed.by_id().get(pid)
        if found is not None and found.stack() == self.settings.stack:
            self.owned |= {pid}
            if found.arn:
                self.arns[pid] = found.arn
        else:
            self.owned -= {pid}
            self.arns.pop(pid, None)

    def _learn(self, outcomes: Iterable[ProcessorOutcome]) -> None:
        """Keep what the executor found: new ARNs, and processors that stopped being ours."""
        for o in outcomes:
            if o.disowned:
                self.owned -= {o.id}
                self.arns.pop(o.id, None)
            elif o.arn is not None and o.id in self.owned:
                self.arns[o.id] = o.arn


def _delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {op: n - before.get(op, 0) for op, n in after.items() if n - before.get(op, 0)}


def reconcile_fields(result: ReconcileResult) -> dict[str, Any]:
    """The fields of `reconcile_completed` (also used by the CLI's apply summary)."""
    done: Counter[str] = Counter()
    for outcome in result.applied.outcomes:
        for step in outcome.done:
            done[step] += 1
    summary = result.plan.summary()
    return {
        "duration": round(result.duration, 3),
        "api_calls": sum(result.api_calls.values()),
        "api_calls_by_operation": result.api_calls,
        "processors": len(result.plan.processors),
        "planned": {k: v for k, v in summary.items() if v},
        "done": dict(done),
        "drifted": sum(1 for p in result.plan.processors if p.drifted and p.observed is not None),
        "errors": result.errors,
    }


def _drift_event(p: ProcessorPlan, change: Change, **extra: Any) -> Event:
    """`drift_detected` for one field of one processor, as full passes and sweeps both report it."""
    fields = {
        **_where(p.id),
        "field": change.field,
        "desired": change.after,
        "observed": change.before,
    }
    return Event(events.DRIFT_DETECTED, {**fields, **extra})


def _where(pid: ProcessorId) -> dict[str, Any]:
    """The fields that name a processor in every event: name, region and target."""
    return {"processor": pid.name, "region": pid.region, "target": pid.target}
