"""The daemon's watch: CloudTrail events from an SQS queue, each reconciling only the processor it names.

Started by `spd.daemon.service.Daemon` when `watch_queue_url` is set. An EventBridge rule delivers
Rekognition's "AWS API Call via CloudTrail" events to the queue; the watch long-polls it, and for each
event that records a change to a stream processor of the spec (or, under `prune`, of the spec's regions)
runs `Reconciler.reconcile_processor` for that one processor: Describe + tags, the planner, the executor,
the same ownership rules as a full pass. Full passes still run every `interval` as the safety net.

- Its own calls are not drift: spd marks every call's User-Agent (`spd.aws.gateway.user_agent_marker`,
  which names the stack) and CloudTrail records it; events carrying this daemon's marker are dropped.
  Another stack's daemon's calls are events like anyone's.
- Bursts: the first event about a processor schedules its reconcile `watch_debounce` seconds later;
  events until then join it. Events arriving while that reconcile runs ask for one follow-up, however
  many they are (the reconcile in flight may have read the processor before their change).
- Under `ha.mode: shards` every daemon reads the queue, and a message about a processor whose shard
  another daemon holds is made visible again at once (ChangeMessageVisibility 0) instead of deleted:
  the holder receives it at one of its next polls, at once rather than a visibility timeout later, and
  nothing is lost. A queue with a redrive policy needs a `maxReceiveCount` well above the number of
  daemons, since a message may be received by a few non-holders first.
- Every message is deleted once handled: parsed and scheduled, ignored, or malformed (logged, never
  retried). A daemon stopped between the two loses nothing: its next start begins with a full pass.
  Reading, deleting and surviving a message that cannot even be handled (`watch_message_failed`) are
  the shared reader loop's (`spd.daemon.queue_loop`).
- Overlap with full passes: a per-processor lock (`spd.reconcile.processor_locks`), not the daemon's `PassRunner`.
  A full pass of a large fleet takes minutes; queueing watch reconciles behind it would put the latency
  back at the pass's length. Instead the executor holds a processor's lock while a pass acts on it and
  a watch reconcile holds it from its read to its last step, so no processor has two writers at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog
from prometheus_client import CollectorRegistry
from prometheus_client import Counter as PromCounter

from spd.aws.gateway import Gateway
from spd.aws.watch_queue import QueueMessage, WatchQueue
from spd.config.settings import Settings
from spd.daemon.queue_loop import QueueReader, open_queue
from spd.errors import SpdError
from spd.events.watch_events import (
    WATCH_EVENT,
    CallEvent,
    MalformedEvent,
    ignored_reason,
    parse_message,
)
from spd.model import DesiredState, ProcessorId
from spd.reconcile.plan import Policy
from spd.reconcile.reconciler import Reconciler

Logger = structlog.stdlib.BoundLogger
Target = Callable[[], tuple[Reconciler, DesiredState, Policy]]
"""What to reconcile against, asked afresh for every reconcile (a reload swaps the spec)."""

WATCH_RECONCILED = "watch_reconciled"
USER_AGENT_MAX = 512
"""Characters of a call's User-Agent in a `watch_event` line: an SDK's runs past 200, and spd's marker
(what tells its own calls apart) comes last, so a shorter cut would hide the very part that matters."""

OUTCOMES = (
    "queued",
    "coalesced",
    "follow_up",
    "own_call",
    "not_in_spec",
    "region_not_in_spec",
    "not_a_change",
    "failed_call",
    "not_a_stream_processor",
    "malformed",
    "not_my_shard",
)


class Watch:
    """Reads the queue until closed; one reconcile task per processor at most."""

    def __init__(
        self,
        queue: WatchQueue,
        *,
        target: Target,
        marker: str,
        debounce: Callable[[], float],
        concurrency: int,
        log: Callable[[], Logger],
        registry: CollectorRegistry,
        clock: Callable[[], float],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        active: Callable[[], bool] = lambda: True,
        owns: Callable[[ProcessorId], bool] = lambda _: True,
    ) -> None:
        """`active`: False while this daemon is a standby (high availability): then nothing is read.
        `owns`: False for a processor another daemon works on (`ha.mode: shards`): left to it."""
        self._owns = owns
        self._queue = queue
        self._target = target
        self._marker = marker
        self._debounce = debounce
        self._slots = asyncio.Semaphore(concurrency)
        self._log = log
        self._clock = clock
        self._sleep = sleep
        self._tasks: dict[ProcessorId, asyncio.Task[None]] = {}
        self._reading: set[ProcessorId] = set()
        self._again: set[ProcessorId] = set()
        self._reader = QueueReader(
            queue,
            name="watch",
            handle=self._handle_one,
            active=active,
            log=log,
            sleep=sleep,
            on_reading=self._on_reading,
        )
        self.events = PromCounter(
            "spd_watch_events",
            "Messages read from the watch queue, by outcome (queued, coalesced, own_call, malformed...).",
            ["outcome"],
            registry=registry,
        )
        for outcome in OUTCOMES:
            self.events.labels(outcome)

    @property
    def name(self) -> str:
        return self._reader.name

    @property
    def stopped(self) -> str | None:
        """Why the reader stopped by itself (`spd.daemon.queue_loop.QueueReader.stopped`)."""
        return self._reader.stopped

    def start(self) -> None:
        self._reader.start()

    async def close(self, grace: float) -> int:
        """Stop reading; give reconciles in flight `grace` seconds; the number that had to be cancelled."""
        await self._reader.close()
        self._again.clear()
        tasks = set(self._tasks.values())
        if not tasks:
            return 0
        _, pending = await asyncio.wait(tasks, timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        return len(pending)

    # -- reading --------------------------------------------------------------------------------------

    def _on_reading(self, reading: bool) -> None:
        if reading:
            # Logged when reading begins: at start-up, or on becoming leader under `ha`.
            self._log().info("watch_started", queue=self._queue.url, region=self._queue.region)
        else:
            # A standby reads nothing: the leader's watch handles (and deletes) every message.
            self._log().info("watch_paused", queue=self._queue.url, reason="standby")

    async def _handle_one(self, message: QueueMessage) -> bool:
        if self.handle(message) != "not_my_shard":
            return True
        try:
            await self._queue.release(message)
        except SpdError as exc:  # it comes back after its visibility timeout instead
            self._log().warning("watch_release_failed", message_id=message.message_id, error=str(exc))
        return False

    def handle(self, message: QueueMessage) -> str:
        """Parse one message and schedule what it asks for; its outcome (as counted and logged)."""
        try:
            event = parse_message(message.body)
        except MalformedEvent as exc:
            self._record("malformed", message, None, None, level="warning", error=str(exc))
            return "malformed"
        reason = ignored_reason(event, marker=self._marker)
        _, desired, policy = self._target()
        pid = event.processor_id(desired)
        if reason is None and pid is not None:
            reason = _relevance(pid, desired, policy)
        if reason is not None or pid is None:
            outcome = reason or "not_a_stream_processor"
            self._record(outcome, message, event, pid, level="debug" if outcome == "own_call" else "info")
            return outcome
        if not self._owns(pid):
            self._record("not_my_shard", message, event, pid, level="debug")
            return "not_my_shard"
        outcome = self._schedule(pid)
        self._record(outcome, message, event, pid, level="info")
        return outcome

    def _record(
        self,
        outcome: str,
        message: QueueMessage,
        event: CallEvent | None,
        pid: ProcessorId | None,
        *,
        level: str,
        **extra: Any,
    ) -> None:
        self.events.labels(outcome).inc()
        fields: dict[str, Any] = {"outcome": outcome, "message_id": message.message_id}
        if event is not None:
            fields.update(
                processor=event.processor,
                region=event.region,
                target=None if pid is None else pid.target,
                event_name=event.event_name,
                user_agent=event.user_agent[:USER_AGENT_MAX],
            )
        ignored = outcome not in ("queued", "coalesced", "follow_up")
        fields["ignored"] = outcome if ignored else None
        getattr(self._log(), level)(WATCH_EVENT, **fields, **extra)

    # -- reconciling ----------------------------------------------------------------------------------

    def _schedule(self, pid: ProcessorId) -> str:
        if pid not in self._tasks:
            self._tasks[pid] = asyncio.create_task(self._reconcile_soon(pid), name=f"spd-watch-{pid.name}")
            return "queued"
        if pid in self._reading:
            self._again.add(pid)
            return "follow_up"
        return "coalesced"

    async def _reconcile_soon(self, pid: ProcessorId) -> None:
        try:
            while True:
                await self._sleep(self._debounce())
                async with self._slots:
                    self._reading.add(pid)
                    try:
                        await self._reconcile(pid)
                    finally:
                        self._reading.discard(pid)
                if pid not in self._again:
                    return
                self._again.discard(pid)
        finally:
            self._tasks.pop(pid, None)

    async def _reconcile(self, pid: ProcessorId) -> None:
        reconciler, desired, policy = self._target()
        started = self._clock()
        try:
            result = await reconciler.reconcile_processor(desired, policy, pid)
        except Exception as exc:
            self._log().error(
                "watch_reconcile_failed",
                processor=pid.name,
                region=pid.region,
                target=pid.target,
                error=str(exc) or type(exc).__name__,
                error_type=type(exc).__name__,
                exc_info=not isinstance(exc, SpdError),
            )
            return
        done = sorted({step for o in result.applied.outcomes for step in o.done})
        planned = sorted({str(a) for p in result.plan.processors for a in p.actions})
        self._log().info(
            WATCH_RECONCILED,
            processor=pid.name,
            region=pid.region,
            target=pid.target,
            planned=planned,
            done=done,
            drifted=sum(1 for p in result.plan.processors if p.drifted and p.observed is not None),
            errors=result.errors,
            api_calls=sum(result.api_calls.values()),
            api_calls_by_operation=result.api_calls,
            duration=round(self._clock() - started, 3),
        )


def open_watch(
    gateway: Gateway,
    url: str,
    *,
    target: Target,
    settings: Callable[[], Settings],
    spec_regions: tuple[str, ...],
    environ: Mapping[str, str],
    log: Callable[[], Logger],
    registry: CollectorRegistry,
    clock: Callable[[], float],
    active: Callable[[], bool] = lambda: True,
    owns: Callable[[ProcessorId], bool] = lambda _: True,
) -> Watch:
    """A started watch of `url`, whose region is the URL's (AWS queue URLs name it), else the spec's
    first region, else the first of `regions`, else the environment's (`spd.config.fallback_region`)."""
    current = settings()
    watch = Watch(
        open_queue(gateway, url, spec_regions or tuple(current.regions), environ),
        target=target,
        marker=gateway.marker,
        debounce=lambda: settings().watch_debounce,
        concurrency=current.concurrency,
        log=log,
        registry=registry,
        clock=clock,
        active=active,
        owns=owns,
    )
    watch.start()
    return watch


def _relevance(pid: ProcessorId, desired: DesiredState, policy: Policy) -> str | None:
    """Why a full pass would leave `pid` alone whatever its state (None: reconcile it)."""
    if pid.region not in desired.regions:
        return "region_not_in_spec"
    if not policy.prune and all(p.id != pid for p in desired.processors):
        return "not_in_spec"
    return None
