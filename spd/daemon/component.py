"""The one shape of every part of a running daemon, and the one context they share.

`spd.daemon.service.Daemon` runs a list of `Component`s: it starts them in order, reloads them on SIGHUP,
and closes them in reverse order on SIGTERM, each close bounded by the grace period. A component gets
what it needs from the `Context` (the current settings and spec, the log, the gateway, the event sink,
the metrics and health) instead of a callback per value, so adding a part of the daemon means writing one
class and adding it to the list, not threading a dozen lambdas through the daemon.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from spd.aws.gateway import CallStats, Gateway
from spd.config.settings import Settings
from spd.daemon.event_out import EventOutlet
from spd.daemon.leader import Leadership, LeasePlace
from spd.daemon.logs import level_number
from spd.daemon.metrics import DaemonMetrics, Health, SinkCounts
from spd.daemon.notify import Notifier
from spd.daemon.shards import ShardKeeper, scoped
from spd.events import Event
from spd.ha.lease import Role
from spd.model import DesiredState, ProcessorId
from spd.reconcile.mutation_gate import MutationGate

Logger = structlog.stdlib.BoundLogger


@dataclass(frozen=True, slots=True)
class Config:
    """Settings and spec, loaded and validated together (at start-up and on every SIGHUP)."""

    settings: Settings
    desired: DesiredState
    warnings: tuple[str, ...] = ()


class Reader(Protocol):
    """A queue reader as `/healthz` sees it: its name, and why it stopped by itself (None: it runs)."""

    @property
    def name(self) -> str: ...

    @property
    def stopped(self) -> str | None: ...


@dataclass(eq=False)
class Context:
    """What every component may use. The daemon swaps `config` and `log` on a reload, so a component
    reads them here when it needs them (or passes the bound `current_*` methods to code that asks later)
    rather than keeping a copy."""

    config: Config
    log: Logger
    notifier: Notifier
    clock: Callable[[], float]
    environ: Mapping[str, str]
    track: Callable[[asyncio.Task[None]], None]
    """Keep a background task referenced until done; the daemon cancels what is left at shutdown."""
    gateway_or_none: Gateway | None = None
    """Set by the daemon once the connection is open, before any component starts."""
    outlet: EventOutlet | None = None
    """History and sinks, once their component started: `emit` records there too."""
    leadership: Leadership | None = None
    """The lease, under `ha.table`, once its component started."""
    shards: ShardKeeper | None = None
    """The shard leases and member record, under `ha.mode: shards`, once their component started."""
    readers: list[Reader] = field(default_factory=list)
    """The queue readers started so far, for `/healthz`."""
    stopping: bool = False
    """Set when shutdown begins: timers stop asking for passes."""
    ready: bool = False
    """Whether systemd was told READY=1 for the start-up (`announce_ready`)."""
    health: Health = field(init=False)
    metrics: DaemonMetrics = field(init=False)
    gate: MutationGate = field(init=False)
    """One gate for every mutating call, the passes' and the session Starts' alike: the lease, then
    ownership."""

    def __post_init__(self) -> None:
        sharded = self.settings.ha.table is not None and self.settings.ha.mode == "shards"
        self.gate = MutationGate(self.lease_refusal, self.target_refusal if sharded else None)
        self.health = Health(self.settings.interval, self.clock, stopped_readers=self.stopped_readers)
        self.metrics = DaemonMetrics(
            stats=self.call_stats,
            notify_dropped=self._notify_dropped,
            sinks=self.sink_counts,
            spec=self.current_desired,
        )

    @property
    def settings(self) -> Settings:
        return self.config.settings

    @property
    def desired(self) -> DesiredState:
        return self.config.desired

    @property
    def gateway(self) -> Gateway:
        assert self.gateway_or_none is not None, "components start after the gateway opens"
        return self.gateway_or_none

    def lease_place(self) -> LeasePlace:
        """Where this daemon's lease records are (either `ha.mode`), from the settings and spec in force."""
        return LeasePlace(
            self.gateway, self.settings.ha, self.desired.stack, self.desired.regions, self.environ
        )

    def current_settings(self) -> Settings:
        return self.config.settings

    def current_desired(self) -> DesiredState:
        return self.config.desired

    def current_log(self) -> Logger:
        return self.log

    def emit(self, event: Event) -> None:
        """Every core event: counted, logged, then recorded in the history and published to the sinks."""
        self.metrics.event(event)
        self.log.log(level_number(event.level), event.name, **event.fields)
        if self.outlet is not None:
            self.outlet.emit(event)

    def standby(self) -> bool:
        """True while another daemon (may) hold the lease: no pass, no sweep, nothing observed."""
        return self.leadership is not None and self.leadership.role is not Role.LEADER

    def active(self) -> bool:
        return not self.standby()

    def lease_refusal(self) -> str | None:
        """The lease as the mutation gate asks it: None without `ha` (a lone daemon may). Under
        `ha.mode: shards` (a session Start): this daemon's member record being safely fresh."""
        if self.settings.ha.table is not None and self.settings.ha.mode == "shards":
            return "shard leases not started" if self.shards is None else self.shards.member_refusal()
        return None if self.leadership is None else self.leadership.refusal()

    def target_refusal(self, target: str) -> str | None:
        """Under `ha.mode: shards`, the lease of `target`'s shard as the mutation gate asks it."""
        return "shard leases not started" if self.shards is None else self.shards.refusal(target)

    def owns(self, pid: ProcessorId) -> bool:
        """Whether this daemon works on `pid`: always, except under `ha.mode: shards`, where only on
        the processors of the shards it (safely) holds."""
        return self.shards is None or self.shards.holds(pid.target)

    def scope(self, desired: DesiredState) -> DesiredState:
        """The part of `desired` this daemon works on: all of it, except under `ha.mode: shards`,
        where only the processors and targets of the shards it holds."""
        if self.shards is None:
            return desired
        return scoped(desired, self.shards.held())

    def announce_ready(self, status: str) -> bool:
        """READY=1 with `status` the first time only; False when it was already sent."""
        if self.ready:
            return False
        self.ready = True
        self.notifier.ready(status)
        return True

    def stopped_readers(self) -> dict[str, str]:
        """The queue readers whose task ended by itself, and why (`/healthz` is 503 while any has)."""
        return {r.name: r.stopped for r in self.readers if r.stopped is not None}

    def call_stats(self) -> CallStats | None:
        return self.gateway_or_none.stats if self.gateway_or_none is not None else None

    def sink_counts(self) -> SinkCounts | None:
        return self.outlet.sinks if self.outlet is not None else None

    def _notify_dropped(self) -> int:
        return self.notifier.dropped


class Component(ABC):
    """One part of the daemon. `needs_lease`: it acts only while this daemon holds the lease (always,
    without `ha.table`); such a component is told of every change of role (`on_role`) and is closed
    before the lease is released, so a standby never takes over while it still acts."""

    name: str
    needs_lease: bool = False

    @abstractmethod
    async def start(self, ctx: Context) -> None:
        """Start (at daemon start-up, in list order); raise SpdError when the daemon cannot run."""

    async def reload(self, ctx: Context, old: Config, new: Config) -> None:  # noqa: B027 - optional
        """Apply a reloaded config (`ctx.config` is already `new`); most components read it when needed."""

    def on_role(self, role: Role, why: str) -> None:  # noqa: B027 - optional
        """The lease was won (`Role.LEADER`) or lost; called only on components with `needs_lease`."""

    @abstractmethod
    async def close(self, grace: float) -> None:
        """Stop; work in flight gets at most `grace` seconds. Called once, in reverse start order."""
