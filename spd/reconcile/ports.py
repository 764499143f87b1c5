"""What the reconcile core and the session start path need from the service: the ports they are written
against.

`spd.reconcile.observe`, `spd.reconcile.executor`, `spd.reconcile.reconciler` and `spd.sessions` speak to the live fleet only through
these Protocols, never through `spd.aws`: the aiobotocore gateway (`spd.aws.gateway.Gateway`) satisfies
them structurally (mypy checks it where the gateway is defined), and so does the in-memory fleet of
`spd.reconcile.fake_gateway`, which lets the core's rules (retries, ownership, the lease, coalescing) be tested in
milliseconds. Nothing here imports botocore: errors arrive as `spd.errors` types, values as `spd.model`.

Each method states the contract the core relies on (the gateway's docstrings say how it keeps it):
the `ensure_*` forms are idempotent ("already so" is success), every other call raises the specific
`spd.errors` type the service's answer maps to (`NotFoundError`, `BusyError`, `ThrottledError`...).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from spd.errors import BusyError, NameInUseError, NotFoundError
from spd.model import AMBIENT_TARGET, Status

if TYPE_CHECKING:
    from spd.model import (
        ObservedProcessor,
        ProcessorConfig,
        ProcessorId,
        StartSelector,
        Target,
        UpdateRequest,
    )


@dataclass(frozen=True, slots=True)
class Created:
    """What `ensure_created` found: `existing` is the processor that already held the name, if any."""

    arn: str | None
    existing: ObservedProcessor | None = None


class CallCounts(Protocol):
    """Calls made so far, per operation (a pass reports the difference before and after it)."""

    def snapshot(self) -> dict[str, int]: ...


class RegionPort(Protocol):
    """The stream-processor calls of one (target, region)."""

    async def list_statuses(self) -> dict[ProcessorId, Status]:
        """Every processor's status here (ListStreamProcessors, all pages)."""
        ...

    async def describe(self, name: str, *, with_tags: bool = True) -> ObservedProcessor:
        """Describe (and ListTagsForResource unless `with_tags` is False); `NotFoundError` if gone."""
        ...

    async def list_tags(self, arn: str) -> dict[str, str]: ...

    async def status(self, name: str) -> Status | None:
        """The status now, or None once the processor is gone."""
        ...

    async def ensure_created(self, config: ProcessorConfig, tags: Mapping[str, str]) -> Created:
        """Create, or return the processor that already holds the name (for its owner's check);
        `NameInUseError` (temporary) while the name is reserved by nothing visible."""
        ...

    async def ensure_started(self, name: str) -> bool:
        """Start; False if already starting or running; `BusyError` while it cannot be started yet."""
        ...

    async def ensure_stopped(self, name: str) -> bool:
        """Stop; False if already stopped or failed; `BusyError` while it cannot be stopped yet."""
        ...

    async def ensure_deleted(self, name: str) -> bool:
        """Delete; False if already gone."""
        ...

    async def update(self, name: str, update: UpdateRequest) -> None: ...

    async def tag(self, arn: str, tags: Mapping[str, str]) -> None: ...

    async def untag(self, arn: str, keys: list[str]) -> None: ...

    async def start_session(self, name: str, selector: StartSelector, max_duration_seconds: int) -> str:
        """Start a connected-home session, returning its id; `SessionOpenError` if one is open."""
        ...


class FleetGateway(Protocol):
    """The fleet across targets and regions: one `RegionPort` per (target, region), and the counters."""

    @property
    def stats(self) -> CallCounts: ...

    async def region(self, region: str, target: str = AMBIENT_TARGET) -> RegionPort:
        """The client of (`target`, `region`); the ambient target when `target` is not given."""
        ...

    async def check_target(self, target: str) -> str | None:
        """None when `target`'s credentials work, else why not (the ambient target: always None)."""
        ...

    def use_targets(self, targets: Iterable[Target], stack_name: str) -> None:
        """Take a spec's targets for `stack_name` (at start, and on a reload: `Reconciler.reconfigure`)."""
        ...


class _Calls(Protocol):
    """The plain calls the idempotent forms are made of."""

    async def describe(self, name: str, *, with_tags: bool = True) -> ObservedProcessor: ...

    async def create(self, config: ProcessorConfig, tags: Mapping[str, str]) -> str: ...

    async def start(self, name: str) -> None: ...

    async def stop(self, name: str) -> None: ...

    async def delete(self, name: str) -> None: ...


_STOPPED_LIKE = frozenset({Status.STOPPED, Status.FAILED})
_STARTED_LIKE = frozenset({Status.STARTING, Status.RUNNING})


class IdempotentForms:
    """`status` and the `ensure_*` forms of `RegionPort`, written once over the plain calls: "already so"
    is success. The gateway's `RegionClient` and the fake's `FakeRegion` both inherit them, so the core's
    unit tests exercise the very rules production runs."""

    async def status(self: _Calls, name: str) -> Status | None:
        """The processor's status now, or None once it is gone (one Describe, no tags)."""
        try:
            return (await self.describe(name, with_tags=False)).status
        except NotFoundError:
            return None

    async def ensure_created(self: _Calls, config: ProcessorConfig, tags: Mapping[str, str]) -> Created:
        """Create, or find the processor that already holds the name (returned for its owner's check).

        Raises `NameInUseError` (temporary) when the name is held by nothing visible: still reserved
        after a delete.
        """
        try:
            return Created(await self.create(config, tags) or None)
        except NameInUseError as taken:
            try:
                existing = await self.describe(config.name)
            except NotFoundError:
                raise taken from None
            return Created(existing.arn, existing)

    async def ensure_stopped(self: _Calls, name: str) -> bool:
        """Stop; True if this call stopped it, False if it was already STOPPED or FAILED.

        A processor still starting or stopping raises `BusyError` (temporary): poll and call again.
        """
        try:
            await self.stop(name)
            return True
        except BusyError:
            current = await self.describe(name, with_tags=False)
            if current.status in _STOPPED_LIKE:
                return False
            raise

    async def ensure_started(self: _Calls, name: str) -> bool:
        """Start; True if this call started it, False if it was already STARTING or RUNNING.

        A processor still stopping or updating raises `BusyError` (temporary): poll and call again.
        """
        try:
            await self.start(name)
            return True
        except BusyError:
            current = await self.describe(name, with_tags=False)
            if current.status in _STARTED_LIKE:
                return False
            raise

    async def ensure_deleted(self: _Calls, name: str) -> bool:
        """Delete; True if this call deleted it, False if it was already gone."""
        try:
            await self.delete(name)
            return True
        except NotFoundError:
            return False
