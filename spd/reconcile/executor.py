"""Carrying a plan out against the service, processor by processor, in parallel.

Called by the reconciler. Each processor's steps run in order (stop -> wait STOPPED -> update -> start;
stop -> delete -> wait gone -> create -> start for a replace) while different processors proceed
independently: one processor's failure is recorded in its outcome and never stops the others.

Every step is keyed by name and idempotent at the edge (`RegionPort.ensure_*`: a create that finds
its own processor, a delete of one already gone, a stop of one already stopped are success), so a run
killed at any point is finished by the next one with no duplicate and nothing lost. A step that fails
with a temporary error (`AwsError.temporary`: throttled, busy, name still reserved, 5xx) is tried again
by the one polling helper, `_poll`, which also does every wait for a status or for a processor to go;
a permanent error ends the processor's steps at once. Restarts of FAILED processors ask the restart
policy handed in (`spd.reconcile.backoff`; none for a one-shot run). Ownership is a security
property: every mutating call goes through `_Owned`, which re-reads the `spd:stack` tag immediately
before it, so a processor untagged or handed to another stack after the plan was made is never touched.
Adopting (`--adopt`) is the one step that acts on a processor not yet ours: its guard is the reverse
one (`MutationGate.adopt_refusal`), refusing a processor that has gained any `spd:stack` tag since it was observed.

Both checks are the mutation gate's (`spd.reconcile.mutation_gate.MutationGate`, the same object the daemon's
session Start asks): first the lease (`spd.daemon.leader`), then the tag as just read. When the lease
names a reason, the processor's remaining steps are abandoned untouched (`mutation_refused`), since
another daemon may hold the lease by now. The CLI's gate has no lease: a one-shot run always may.

The service is reached through the ports of `spd.reconcile.ports` (the aiobotocore gateway in production, the
in-memory `spd.reconcile.fake_gateway` in unit tests), never through `spd.aws`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar

from spd import events
from spd.errors import AwsError, EndpointError, NotFoundError, SpdError, WaitTimeoutError
from spd.events import Event, EventSink
from spd.model import STACK_TAG, Kind, ObservedProcessor, ProcessorId, Status, UpdateRequest, fleet_repr
from spd.reconcile.backoff import NO_BACKOFF, RestartPolicy
from spd.reconcile.mutation_gate import (
    OPEN,
    SEND_GUARD,
    MutationGate,
    NotLeader,
    NotOwned,
    Refusal,
    SendRefused,
    owner_refusal,
)
from spd.reconcile.plan import Action, ChangeKind, ProcessorPlan
from spd.reconcile.ports import Created, FleetGateway, RegionPort
from spd.reconcile.processor_locks import ProcessorLocks

Sleep = Callable[[float], Awaitable[None]]
_T = TypeVar("_T")

_STOPPED_LIKE = frozenset({Status.STOPPED, Status.FAILED})


@dataclass(frozen=True, slots=True)
class ExecutionSettings:
    stack: str
    concurrency: int = 16
    poll_interval: float = 2.0
    wait_timeout: float = 600.0
    name_reuse_timeout: float = 120.0


@dataclass
class ProcessorOutcome:
    """What happened to one processor: the steps done, and the error that ended it, if any."""

    id: ProcessorId
    planned: tuple[Action, ...]
    done: list[str] = field(default_factory=list)
    error: str | None = None
    deferred: str | None = None
    disowned: bool = False
    """Refused because the processor no longer carries this stack's tag (`error` says so)."""
    arn: str | None = None
    """The processor's ARN once known (lets the status sweep re-check its tag with one call)."""

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass(frozen=True, slots=True, repr=False)
class ApplyResult:
    outcomes: tuple[ProcessorOutcome, ...]

    def __repr__(self) -> str:
        return fleet_repr(self, outcomes=self.outcomes)

    @property
    def failed(self) -> tuple[ProcessorOutcome, ...]:
        return tuple(o for o in self.outcomes if not o.ok)

    @property
    def ok(self) -> bool:
        return not self.failed


class _Abandon(SpdError):
    """Stop working on this processor now; the reason is already in the outcome."""


@dataclass(frozen=True, slots=True)
class _NotYet:
    """A probe's answer to `_poll`: not done; `waiting` is the time-out message after the processor id,
    with `{after}` standing for the time waited.

    `error` is the temporary error that made a step's attempt fail: re-raised if time runs out, so
    the outcome names the service's own error. `delay` overrides the poll interval (throttling).
    """

    waiting: str
    error: AwsError | None = None
    delay: float | None = None


class _Owned:
    """The mutating calls on one processor, each preceded by a re-read of its ownership tag.

    The plan proved the processor ours when it was observed, but the tag can change between then and
    any later step (a replace or a wait can take minutes). So every start, stop, update, tag, untag and
    delete first reads the tag again (one ListTagsForResource; a Describe too while the ARN is unknown)
    and asks the mutation gate (`spd.reconcile.mutation_gate`: the lease, then the tag as just read) right before
    the call (`confirm`). Apart from CreateStreamProcessor (which sets the tag in the same call, asks the
    lease alone, and whose name-taken path checks the existing processor's tag through `check`),
    nothing else in the executor calls a mutating operation, so no step can forget the check.
    """

    def __init__(
        self,
        client: RegionPort,
        pid: ProcessorId,
        stack: str,
        outcome: ProcessorOutcome,
        refuse: Callable[[str, str | None], NoReturn],
        gate: MutationGate,
        halt: Callable[[str, str], NoReturn],
    ) -> None:
        self._client = client
        self._pid = pid
        self._stack = stack
        self._outcome = outcome
        self._refuse = refuse
        self._gate = gate
        self._halt = halt

    def _obey(self, refusal: Refusal | None, step: str) -> None:
        """Abandon the processor before `step` if the gate said no (the lease, or its owner)."""
        if isinstance(refusal, NotLeader):
            self._halt(step, refusal.reason)
        if isinstance(refusal, NotOwned):
            self._refuse(step, refusal.owner)

    def allowed(self, step: str) -> None:
        """Ask the lease alone, right before a call with no owner to check (a create)."""
        self._obey(self._gate.lease_refusal(), step)

    async def adopt(self) -> None:
        """Tag an untagged processor for this stack, after reading its tags again.

        The plan saw no `spd:stack` tag; if one has appeared since (another stack adopted it, or its
        owner tagged it), the processor is someone's and is refused. Once tagged, every later step of
        the processor goes through the usual gate, which now finds it ours.
        """
        if self._outcome.arn is None:
            current = await self._client.describe(self._pid.name)
            self._outcome.arn = current.arn
            owner = current.stack()
        else:
            owner = (await self._client.list_tags(self._outcome.arn)).get(STACK_TAG)
        self._obey(self._gate.adopt_refusal(owner), "adopt")
        assert self._outcome.arn is not None
        await self._client.tag(self._outcome.arn, {STACK_TAG: self._stack})

    def check(self, owner: str | None, step: str) -> None:
        """Refuse the processor unless `owner` (a freshly read tag value) is this stack."""
        self._obey(owner_refusal(self._stack, owner), step)

    async def confirm(self, step: str) -> None:
        """Right before `step`'s mutating call: read the tag now and ask the gate (the lease, then the
        tag). A processor that is gone is left to the step itself (which reports it, or treats it as
        done): only the lease is asked then."""
        try:
            owner = await self._current_owner()
        except NotFoundError:
            self.allowed(step)
            return
        self._obey(self._gate.refusal(self._stack, owner), step)

    async def _current_owner(self) -> str | None:
        """The `spd:stack` tag as it reads now (a Describe first while the ARN is unknown)."""
        if self._outcome.arn is None:
            current = await self._client.describe(self._pid.name)
            self._outcome.arn = current.arn
            return current.stack()
        return (await self._client.list_tags(self._outcome.arn)).get(STACK_TAG)

    async def start(self) -> bool:
        """Start it; False when it was already starting or running."""
        await self.confirm("start")
        return await self._client.ensure_started(self._pid.name)

    async def stop(self) -> bool:
        """Stop it; False when it was already stopped (or FAILED)."""
        await self.confirm("stop")
        return await self._client.ensure_stopped(self._pid.name)

    async def update(self, update: UpdateRequest) -> None:
        await self.confirm("update")
        await self._client.update(self._pid.name, update)

    async def delete(self) -> bool:
        """Delete it; False when it was already gone."""
        await self.confirm("delete")
        return await self._client.ensure_deleted(self._pid.name)

    async def tag(self, tags: Mapping[str, str]) -> None:
        await self.confirm("tag")
        assert self._outcome.arn is not None
        await self._client.tag(self._outcome.arn, tags)

    async def untag(self, keys: list[str]) -> None:
        await self.confirm("untag")
        assert self._outcome.arn is not None
        await self._client.untag(self._outcome.arn, keys)


class Executor:
    def __init__(
        self,
        gateway: FleetGateway,
        settings: ExecutionSettings,
        *,
        on_event: EventSink = events.discard,
        backoff: RestartPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        locks: ProcessorLocks | None = None,
        gate: MutationGate = OPEN,
    ) -> None:
        """`locks`: held per processor while `apply` acts on it (shared with the daemon's watch);
        `gate`: asked before every mutating call (the daemon's lease; none for a one-shot run)."""
        self._gateway = gateway
        self._locks = locks
        self._gate = gate
        self._settings = settings
        self._emit = on_event
        self._restarts: RestartPolicy = backoff if backoff is not None else NO_BACKOFF
        self._clock = clock
        self._sleep = sleep

    async def apply(
        self, plans: Iterable[ProcessorPlan], *, progress: Callable[[ProcessorOutcome], None] | None = None
    ) -> ApplyResult:
        # Concurrency is per (target, region): each account and region has its own quotas.
        semaphores: dict[tuple[str, str], asyncio.Semaphore] = {}

        async def run(p: ProcessorPlan) -> ProcessorOutcome:
            semaphore = semaphores.setdefault(p.id.location, asyncio.Semaphore(self._settings.concurrency))
            async with semaphore:
                if self._locks is None:
                    outcome = await self.apply_one(p)
                else:
                    async with self._locks.hold(p.id):
                        outcome = await self.apply_one(p)
            if progress is not None:
                progress(outcome)
            return outcome

        outcomes = await asyncio.gather(*(run(p) for p in plans if p.actionable))
        return ApplyResult(tuple(outcomes))

    async def apply_one(self, plan: ProcessorPlan) -> ProcessorOutcome:
        outcome = ProcessorOutcome(plan.id, plan.actions)
        if plan.observed is not None:
            outcome.arn = plan.observed.arn
        gate = self._gate.for_target(plan.id.target)
        sending = SEND_GUARD.set(gate.lease)  # asked again as each mutating request leaves
        try:
            client = await self._gateway.region(plan.id.region, plan.id.target)
            target = _Owned(
                client,
                plan.id,
                self._settings.stack,
                outcome,
                lambda step, owner: self._disown(outcome, step, owner),
                gate,
                lambda step, reason: self._halt(outcome, step, reason),
            )
            await self._run(plan, client, target, outcome)
        except _Abandon:
            pass
        except SendRefused as refused:
            with contextlib.suppress(_Abandon):
                self._halt(outcome, refused.operation, refused.reason)
        except (AwsError, EndpointError, WaitTimeoutError) as exc:
            outcome.error = str(exc)
            self._event(events.PROCESSOR_ERROR, plan.id, error=str(exc), steps_done=list(outcome.done))
        finally:
            SEND_GUARD.reset(sending)
        return outcome

    def _halt(self, outcome: ProcessorOutcome, step: str, reason: str) -> NoReturn:
        """Abandon the processor before `step`: the leadership guard said this process may not mutate."""
        outcome.deferred = f"not leader: {reason}"
        self._event(
            events.MUTATION_REFUSED, outcome.id, step=step, reason=reason, steps_done=list(outcome.done)
        )
        raise _Abandon()

    def _disown(self, outcome: ProcessorOutcome, step: str, owner: str | None) -> NoReturn:
        """Record that the processor is not ours (any more) and abandon it before `step`."""
        now = "no spd:stack tag" if owner is None else f"{STACK_TAG}={owner}"
        if step == "adopt":
            outcome.error = (
                f"refused before adopt: {outcome.id} was untagged when planned but now carries {now}; "
                "not touched"
            )
        else:
            outcome.error = (
                f"refused before {step}: {outcome.id} no longer carries {STACK_TAG}={self._settings.stack} "
                f"(now {now}); not touched"
            )
        outcome.disowned = True
        self._event(events.OWNERSHIP_LOST, outcome.id, step=step, owner=owner, steps_done=list(outcome.done))
        raise _Abandon()

    # -- the workflows --------------------------------------------------------------------------------

    async def _run(
        self, plan: ProcessorPlan, client: RegionPort, target: _Owned, outcome: ProcessorOutcome
    ) -> None:
        actions = set(plan.actions)
        observed = plan.observed
        if Action.ADOPT in actions:
            await self._retrying(target.adopt, plan.id, "adopt")
            outcome.done.append("adopt")
            self._event(events.PROCESSOR_ADOPTED, plan.id, stack=self._settings.stack)
        if Action.DELETE in actions:
            assert observed is not None
            await self._remove(client, target, observed, outcome)
            self._event(events.PROCESSOR_DELETED, plan.id)
            return
        if Action.REPLACE in actions:
            assert observed is not None
            assert plan.desired is not None
            await self._remove(client, target, observed, outcome)
            await self._create(client, target, plan, outcome)
            self._event(
                events.PROCESSOR_REPLACED,
                plan.id,
                fields=[c.field for c in plan.changes if c.forces_replacement],
            )
        elif Action.CREATE in actions:
            await self._create(client, target, plan, outcome)
            self._event(events.PROCESSOR_CREATED, plan.id, kind=_kind(plan))
        if Action.UPDATE in actions:
            await self._update(client, target, plan, outcome)
        if Action.STOP in actions:
            await self._stop(client, target, plan, outcome)
        if Action.START in actions:
            await self._start(client, target, plan, outcome)

    async def _create(
        self, client: RegionPort, target: _Owned, plan: ProcessorPlan, outcome: ProcessorOutcome
    ) -> None:
        desired = plan.desired
        assert desired is not None

        async def create() -> Created:
            target.allowed("create")
            created = await client.ensure_created(desired.config, desired.tag_dict)
            if created.existing is not None:
                # The name is taken: maybe by our own create from a run that died before it could
                # record it (adopted), maybe by someone else's processor (refused, untouched).
                target.check(created.existing.stack(), "create")
            return created

        # A name still reserved after a delete is temporary: tried again until name_reuse_timeout.
        created = await self._retrying(create, plan.id, "create", self._settings.name_reuse_timeout)
        outcome.arn = created.arn
        outcome.done.append("create")

    async def _update(
        self, client: RegionPort, target: _Owned, plan: ProcessorPlan, outcome: ProcessorOutcome
    ) -> None:
        observed = plan.observed
        assert observed is not None
        assert observed.arn is not None
        if plan.tags.add:
            await target.tag(dict(plan.tags.add))
        if plan.tags.remove:
            await target.untag(list(plan.tags.remove))
        if not plan.tags.empty:
            outcome.done.append("tag")
        if not plan.update.empty:
            if observed.status not in _STOPPED_LIKE:
                # A connected-home session in flight (or a transition) must end before an update.
                await self._wait_for(client, plan.id, _STOPPED_LIKE)
            await self._retrying(lambda: target.update(plan.update), plan.id, "update")
            outcome.done.append("update")
        self._event(
            events.PROCESSOR_UPDATED,
            plan.id,
            fields=[c.field for c in plan.changes if c.kind is not ChangeKind.STATUS],
        )

    async def _stop(
        self, client: RegionPort, target: _Owned, plan: ProcessorPlan, outcome: ProcessorOutcome
    ) -> None:
        # Still STARTING is busy (temporary): tried again until it can be stopped.
        stopped = await self._retrying(target.stop, plan.id, "stop")
        outcome.done.append("stop")
        if not stopped:
            return
        self._restarts.healthy(plan.id)
        self._event(events.PROCESSOR_STOPPED, plan.id)

    async def _start(
        self, client: RegionPort, target: _Owned, plan: ProcessorPlan, outcome: ProcessorOutcome
    ) -> None:
        observed = plan.observed
        created = any(step == "create" for step in outcome.done)
        status = Status.STOPPED if created or observed is None else observed.status
        restart_note: dict[str, object] = {}
        if status is Status.FAILED:
            restart_note = self._allow_restart(plan.id, outcome)
            message = observed.status_message if observed is not None else None
            if message is None:
                # A status sweep knows only the status; the operator needs the reason.
                current = await self._describe(client, plan.id.name)
                message = current.status_message if current is not None else None
            self._event(events.PROCESSOR_FAILED, plan.id, status_message=message or "")
        if status in (Status.STOPPING, Status.UPDATING):
            await self._wait_for(client, plan.id, _STOPPED_LIKE)
        await self._retrying(target.start, plan.id, "start")
        outcome.done.append("start")
        self._event(events.PROCESSOR_STARTED, plan.id, previous_status=status.value, **restart_note)

    def _allow_restart(self, pid: ProcessorId, outcome: ProcessorOutcome) -> dict[str, object]:
        """Ask the restart policy before restarting a FAILED processor; abandon if it is too soon."""
        decision = self._restarts.admit(pid, self._clock())
        if not decision.allowed:
            outcome.deferred = "restart deferred by backoff"
            self._event(events.RESTART_DEFERRED, pid, failures=decision.failures, retry_in=decision.delay)
            raise _Abandon()
        if decision.delay is None:
            return {}
        return {"restart": decision.failures, "next_restart_after": decision.delay}

    async def _remove(
        self, client: RegionPort, target: _Owned, observed: ObservedProcessor, outcome: ProcessorOutcome
    ) -> None:
        """Stop if needed, delete, and wait until the name is gone. Ownership is re-read first."""
        current = await self._describe(client, observed.id.name)
        if current is None:
            return
        target.check(current.stack(), "delete")
        outcome.arn = current.arn
        face_search = current.config is not None and current.config.kind is Kind.FACE_SEARCH
        if face_search and current.status is Status.STARTING:
            current = await self._wait_for(client, observed.id, {Status.RUNNING} | _STOPPED_LIKE)
        if face_search and current.status is Status.RUNNING:
            await self._retrying(target.stop, observed.id, "stop")
            outcome.done.append("stop")
        if current.status not in _STOPPED_LIKE:
            await self._wait_for(client, observed.id, _STOPPED_LIKE)
        if not await self._retrying(target.delete, observed.id, "delete"):
            return
        outcome.done.append("delete")
        await self._wait_gone(client, observed.id)

    # -- waiting ---------------------------------------------------------------------------------------

    async def _describe(self, client: RegionPort, name: str) -> ObservedProcessor | None:
        try:
            return await client.describe(name)
        except NotFoundError:
            return None

    async def _poll(
        self,
        probe: Callable[[], Awaitable[_T | _NotYet]],
        pid: ProcessorId,
        timeout: float | None = None,
    ) -> _T:
        """Call `probe` every poll interval until it answers something other than `_NotYet`.

        The one loop of the executor: waits for a status, for a processor to go, and tries of a step
        that failed with a temporary error all come through here. When `timeout` (default: the wait
        time-out) runs out, the last temporary error is raised, or `WaitTimeoutError`.
        """
        limit = self._settings.wait_timeout if timeout is None else timeout
        deadline = self._clock() + limit
        while True:
            answer = await probe()
            if not isinstance(answer, _NotYet):
                return answer
            if self._clock() >= deadline:
                if answer.error is not None:
                    raise answer.error
                raise WaitTimeoutError(f"{pid} {answer.waiting.format(after=f'{limit:.0f}s')}")
            await self._sleep(answer.delay if answer.delay is not None else self._settings.poll_interval)

    async def _retrying(
        self,
        step: Callable[[], Awaitable[_T]],
        pid: ProcessorId,
        name: str,
        timeout: float | None = None,
    ) -> _T:
        """Run a step; a temporary error (`AwsError.temporary`) has it tried again, a permanent one ends it."""

        async def attempt() -> _T | _NotYet:
            try:
                return await step()
            except AwsError as exc:
                if not exc.temporary:
                    raise
                return _NotYet(f"could not {name} after {{after}}", exc, exc.retry_after)

        return await self._poll(attempt, pid, timeout)

    async def _wait_for(
        self, client: RegionPort, pid: ProcessorId, targets: Iterable[Status]
    ) -> ObservedProcessor:
        wanted = frozenset(targets)
        waiting = "/".join(sorted(s.value for s in wanted))

        async def probe() -> ObservedProcessor | _NotYet:
            try:
                current = await client.describe(pid.name, with_tags=False)
            except NotFoundError:
                raise WaitTimeoutError(f"{pid} disappeared while waiting for {sorted(wanted)}") from None
            if current.status in wanted:
                return current
            return _NotYet(f"still {current.status.value} after {{after}} (waiting for {waiting})")

        return await self._poll(probe, pid)

    async def _wait_gone(self, client: RegionPort, pid: ProcessorId) -> None:
        async def probe() -> bool | _NotYet:
            return (
                True
                if await client.status(pid.name) is None
                else _NotYet("still exists {after} after delete")
            )

        await self._poll(probe, pid)

    def _event(self, name: str, pid: ProcessorId, **fields: object) -> None:
        self._emit(Event(name, {"processor": pid.name, "region": pid.region, "target": pid.target, **fields}))


def _kind(plan: ProcessorPlan) -> str:
    return plan.desired.config.kind.value if plan.desired is not None else "unknown"
