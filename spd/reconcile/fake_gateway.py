"""An in-memory fleet of stream processors behind the core's ports (`spd.reconcile.ports`), for unit tests.

`FakeFleet` is a `FleetGateway` and its `FakeRegion`s are `RegionPort`s (mypy checks both at the end
of this module), so the reconciler, the executor and the session start path run on it unchanged, in
milliseconds, with no HTTP and no emulator. It keeps the service's rules that the core's own rules
lean on, and nothing more:

- processors per (target, region), each with its config, tags, ARN and status;
- status transitions instant by default; with `settle_after=N` a start, stop or update leaves the
  processor STARTING, STOPPING or UPDATING for its next N reads (Describe, List), or until `settle()`
  (a processor added in a transitional status stays in it for N reads, or, when transitions are
  instant, until `settle()`);
- the service's refusals as `spd.errors` types: a name taken (`NameInUseError`), a start of a running
  processor (`SessionOpenError`), a stop, update or delete in the wrong status (`BusyError`), a
  processor or ARN that does not exist (`NotFoundError`);
- errors injected per operation (`fail`: throttling, ResourceInUse, NotFound, AccessDenied or any
  `AwsError`, for the next N attempts or for ever, optionally for one processor only);
- hooks run as an operation is called (`on`: a tag changed by someone else, a lease lost while a read
  is in flight);
- a log of every attempt (`calls`, `operations()`) and per-operation counters (`stats`), as the
  gateway counts them: an attempt that fails is logged too.

The `ensure_*` forms follow the gateway's (`spd.aws.gateway.RegionClient`): "already so" is success.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

from spd.api.fields import UPDATABLE
from spd.api.rules import MUTATING_STREAM_PROCESSOR_OPERATIONS
from spd.errors import (
    AccessDeniedError,
    AwsError,
    BusyError,
    NameInUseError,
    NotFoundError,
    SessionOpenError,
    ThrottledError,
)
from spd.model import AMBIENT_TARGET, STACK_TAG, ObservedProcessor, ProcessorId, Status, canonical_tags
from spd.reconcile.ports import IdempotentForms

if TYPE_CHECKING:
    from spd.model import ProcessorConfig, StartSelector, Target, UpdateRequest
    from spd.reconcile.ports import FleetGateway, RegionPort

ErrorFactory = Callable[[str], AwsError]
"""Makes the error an injected failure raises, given the operation's name."""


def throttling(operation: str) -> AwsError:
    return ThrottledError(operation, "ThrottlingException", "Rate exceeded (injected)")


def resource_in_use(operation: str) -> AwsError:
    return BusyError(operation, "ResourceInUseException", "The processor is busy (injected)")


def not_found(operation: str) -> AwsError:
    return NotFoundError(operation, "ResourceNotFoundException", "No such processor (injected)")


def access_denied(operation: str) -> AwsError:
    return AccessDeniedError(operation, "AccessDeniedException", "Not authorized (injected)")


MUTATING = MUTATING_STREAM_PROCESSOR_OPERATIONS
"""The operations that change the fleet (a test asserts none of them was attempted)."""

_SETTLED = {Status.STARTING: Status.RUNNING, Status.STOPPING: Status.STOPPED, Status.UPDATING: Status.STOPPED}


@dataclass
class FakeProcessor:
    """One processor as the fake service holds it; tests may change any field directly."""

    config: ProcessorConfig
    arn: str
    tags: dict[str, str] = field(default_factory=dict)
    status: Status = Status.STOPPED
    status_message: str | None = None
    sessions: list[str] = field(default_factory=list)
    """The session ids started on it, in order."""
    reads_left: int | None = None
    """Reads before a transitional status settles (`FakeFleet.settle_after`); None: until `settle()`."""

    def observed(self, pid: ProcessorId, *, with_tags: bool) -> ObservedProcessor:
        return ObservedProcessor(
            pid,
            self.status,
            arn=self.arn,
            status_message=self.status_message,
            config=self.config,
            tags=canonical_tags(self.tags) if with_tags else None,
        )


@dataclass(frozen=True, slots=True)
class Call:
    """One attempted call: the operation, where, and the processor's name (or ARN) it named."""

    operation: str
    target: str
    region: str
    subject: str = ""


@dataclass
class _Failure:
    error: ErrorFactory
    times: int | None
    subject: str | None


@dataclass
class FakeStats:
    """Attempts per operation (`CallCounts`)."""

    calls: Counter[str] = field(default_factory=Counter)

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.calls.items()))


class FakeFleet:
    """The whole fake service: a `FleetGateway` over in-memory processors."""

    def __init__(self, *, settle_after: int = 0, account: str = "111122223333") -> None:
        """`settle_after`: reads a processor stays STARTING/STOPPING/UPDATING for (0: transitions are
        instant)."""
        self.settle_after = settle_after
        self.account = account
        self.processors: dict[tuple[str, str], dict[str, FakeProcessor]] = {}
        self.calls: list[Call] = []
        self.target_errors: dict[str, str] = {}
        """check_target's answer per declared target (absent: its credentials work)."""
        self._stats = FakeStats()
        self._failures: dict[str, list[_Failure]] = {}
        self._hooks: dict[str, list[Callable[[Call], None]]] = {}
        self._regions: dict[tuple[str, str], FakeRegion] = {}
        self._sessions = 0
        self.targets: tuple[Target, ...] = ()
        """What the last `use_targets` gave (and `stack_name` for which stack)."""
        self.stack_name: str | None = None

    # -- set-up ---------------------------------------------------------------------------------------

    def add(
        self,
        config: ProcessorConfig,
        *,
        status: Status = Status.STOPPED,
        tags: Mapping[str, str] | None = None,
        stack: str | None = None,
        target: str = AMBIENT_TARGET,
    ) -> FakeProcessor:
        """Put a processor in the fleet (as if created long ago); `stack` sets its `spd:stack` tag."""
        all_tags = dict(tags or {})
        if stack is not None:
            all_tags[STACK_TAG] = stack
        held = FakeProcessor(config, self._arn(config.region, config.name), all_tags, status)
        held.reads_left = self.settle_after if self.settle_after > 0 else None
        self.processors.setdefault((target, config.region), {})[config.name] = held
        return held

    def get(self, pid: ProcessorId) -> FakeProcessor | None:
        return self.processors.get(pid.location, {}).get(pid.name)

    def __getitem__(self, pid: ProcessorId) -> FakeProcessor:
        held = self.get(pid)
        if held is None:
            raise KeyError(str(pid))
        return held

    def fail(
        self,
        operation: str,
        error: ErrorFactory = throttling,
        *,
        times: int | None = 1,
        subject: str | None = None,
    ) -> None:
        """The next `times` attempts of `operation` (None: every one) raise `error(operation)`;
        `subject` limits it to calls naming that processor (or ARN)."""
        self._failures.setdefault(operation, []).append(_Failure(error, times, subject))

    def on(self, operation: str, hook: Callable[[Call], None]) -> None:
        """Run `hook` at every attempt of `operation`, before it takes effect (or fails)."""
        self._hooks.setdefault(operation, []).append(hook)

    def settle(self) -> None:
        """Every transitional processor reaches its final status now."""
        for held in self._all():
            held.status = _SETTLED.get(held.status, held.status)
            held.reads_left = None

    # -- what happened --------------------------------------------------------------------------------

    def operations(self, *, mutating: bool = False) -> list[str]:
        """The operations attempted, in order (only those that change the fleet, if `mutating`)."""
        return [c.operation for c in self.calls if not mutating or c.operation in MUTATING]

    # -- FleetGateway ---------------------------------------------------------------------------------

    @property
    def stats(self) -> FakeStats:
        return self._stats

    async def region(self, region: str, target: str = AMBIENT_TARGET) -> FakeRegion:
        key = (target, region)
        existing = self._regions.get(key)
        if existing is None:
            existing = self._regions[key] = FakeRegion(self, target, region)
        return existing

    async def check_target(self, target: str) -> str | None:
        return None if target == AMBIENT_TARGET else self.target_errors.get(target)

    def use_targets(self, targets: Iterable[Target], stack_name: str) -> None:
        """Kept as given: the fake reaches every target the same way, so nothing else changes."""
        self.targets = tuple(targets)
        self.stack_name = stack_name

    # -- the service's side, for FakeRegion ------------------------------------------------------------

    def _arn(self, region: str, name: str) -> str:
        return f"arn:aws:rekognition:{region}:{self.account}:streamprocessor/{name}"

    def _all(self) -> Iterable[FakeProcessor]:
        for held in self.processors.values():
            yield from held.values()

    def _call(self, operation: str, target: str, region: str, subject: str = "") -> None:
        """Log and count one attempt, run its hooks, then raise an injected failure if one is due."""
        call = Call(operation, target, region, subject)
        self.calls.append(call)
        self._stats.calls[operation] += 1
        for hook in self._hooks.get(operation, ()):
            hook(call)
        for failure in self._failures.get(operation, ()):
            if failure.subject not in (None, subject) or failure.times == 0:
                continue
            if failure.times is not None:
                failure.times -= 1
            raise failure.error(operation)

    def _transition(self, held: FakeProcessor, status: Status) -> None:
        """Enter `status`; a transitional one lasts `settle_after` reads (none: instant)."""
        if status in _SETTLED and self.settle_after <= 0:
            held.status = _SETTLED[status]
        else:
            held.status, held.reads_left = status, self.settle_after

    def _read(self, held: FakeProcessor) -> None:
        """One read of a transitional processor brings it closer to its final status."""
        if held.status in _SETTLED and held.reads_left is not None:
            held.reads_left -= 1
            if held.reads_left <= 0:
                held.status = _SETTLED[held.status]

    def _next_session(self) -> str:
        self._sessions += 1
        return f"session-{self._sessions}"


class FakeRegion(IdempotentForms):
    """The fake service as seen from one (target, region): a `RegionPort` (`status` and the `ensure_*`
    forms are the gateway's own, `spd.reconcile.ports.IdempotentForms`)."""

    def __init__(self, fleet: FakeFleet, target: str, region: str) -> None:
        self._fleet = fleet
        self.target = target
        self.region = region

    @property
    def _here(self) -> dict[str, FakeProcessor]:
        return self._fleet.processors.setdefault((self.target, self.region), {})

    def _call(self, operation: str, subject: str = "") -> None:
        self._fleet._call(operation, self.target, self.region, subject)

    def _named(self, operation: str, name: str) -> FakeProcessor:
        held = self._here.get(name)
        if held is None:
            raise NotFoundError(operation, "ResourceNotFoundException", f"processor {name} does not exist")
        return held

    def _by_arn(self, operation: str, arn: str) -> FakeProcessor:
        for held in self._here.values():
            if held.arn == arn:
                return held
        raise NotFoundError(operation, "ResourceNotFoundException", f"no resource {arn}")

    def _pid(self, name: str) -> ProcessorId:
        return ProcessorId(self.region, name, self.target)

    # -- reads ----------------------------------------------------------------------------------------

    async def list_statuses(self) -> dict[ProcessorId, Status]:
        self._call("ListStreamProcessors")
        for held in list(self._here.values()):
            self._fleet._read(held)
        return {self._pid(name): held.status for name, held in self._here.items()}

    async def describe(self, name: str, *, with_tags: bool = True) -> ObservedProcessor:
        self._call("DescribeStreamProcessor", name)
        held = self._named("DescribeStreamProcessor", name)
        self._fleet._read(held)
        if with_tags:
            await self.list_tags(held.arn)
        return held.observed(self._pid(name), with_tags=with_tags)

    async def list_tags(self, arn: str) -> dict[str, str]:
        self._call("ListTagsForResource", arn)
        return dict(self._by_arn("ListTagsForResource", arn).tags)

    # -- mutations ------------------------------------------------------------------------------------

    async def create(self, config: ProcessorConfig, tags: Mapping[str, str]) -> str:
        self._call("CreateStreamProcessor", config.name)
        if config.name in self._here:
            raise NameInUseError(
                "CreateStreamProcessor", "ResourceInUseException", f"name {config.name} is in use"
            )
        held = FakeProcessor(config, self._fleet._arn(self.region, config.name), dict(tags))
        self._here[config.name] = held
        return held.arn

    async def start(self, name: str) -> None:
        self._start("StartStreamProcessor", name)

    async def start_session(self, name: str, selector: StartSelector, max_duration_seconds: int) -> str:
        held = self._start("StartStreamProcessor", name)
        session = self._fleet._next_session()
        held.sessions.append(session)
        return session

    def _start(self, operation: str, name: str) -> FakeProcessor:
        self._call(operation, name)
        held = self._named(operation, name)
        if held.status in (Status.STARTING, Status.RUNNING):
            raise SessionOpenError(operation, "ResourceInUseException", f"{name} is {held.status.value}")
        if held.status in (Status.STOPPING, Status.UPDATING):
            raise BusyError(operation, "ResourceInUseException", f"{name} is {held.status.value}")
        self._fleet._transition(held, Status.STARTING)
        return held

    async def stop(self, name: str) -> None:
        self._call("StopStreamProcessor", name)
        held = self._named("StopStreamProcessor", name)
        if held.status is not Status.RUNNING:
            raise BusyError("StopStreamProcessor", "ResourceInUseException", f"{name} is {held.status.value}")
        self._fleet._transition(held, Status.STOPPING)

    async def update(self, name: str, update: UpdateRequest) -> None:
        self._call("UpdateStreamProcessor", name)
        held = self._named("UpdateStreamProcessor", name)
        if held.status not in (Status.STOPPED, Status.FAILED):
            raise BusyError(
                "UpdateStreamProcessor", "ResourceInUseException", f"{name} is {held.status.value}"
            )
        held.config = _updated(held.config, update)
        self._fleet._transition(held, Status.UPDATING)

    async def delete(self, name: str) -> None:
        self._call("DeleteStreamProcessor", name)
        held = self._named("DeleteStreamProcessor", name)
        if held.status not in (Status.STOPPED, Status.FAILED):
            raise BusyError(
                "DeleteStreamProcessor", "ResourceInUseException", f"{name} is {held.status.value}"
            )
        del self._here[name]

    async def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        self._call("TagResource", arn)
        self._by_arn("TagResource", arn).tags.update(tags)

    async def untag(self, arn: str, keys: list[str]) -> None:
        self._call("UntagResource", arn)
        held = self._by_arn("UntagResource", arn)
        for key in keys:
            held.tags.pop(key, None)


def _updated(config: ProcessorConfig, update: UpdateRequest) -> ProcessorConfig:
    """`config` after UpdateStreamProcessor: each value set, each deleted parameter back to its default."""
    for f in UPDATABLE:
        value: Any = getattr(update, f.leaf)
        if f.delete is not None and f.delete in update.parameters_to_delete:
            value = f.default
        if value is None:
            continue
        owner, _, leaf = f.attr.rpartition(".")
        if owner:
            config = replace(config, **{owner: replace(getattr(config, owner), **{leaf: value})})
        else:
            config = replace(config, **{leaf: value})
    return config


if TYPE_CHECKING:

    def _satisfies_the_ports(fleet: FakeFleet, region: FakeRegion) -> tuple[FleetGateway, RegionPort]:
        """Type-checked only: the fake is what the core is written against, as the gateway is."""
        return fleet, region
