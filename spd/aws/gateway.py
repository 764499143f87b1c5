"""The Rekognition gateway: one long-lived aiobotocore client per region behind a per-operation pacer.

It is the production implementation of the core's ports (`spd.reconcile.ports.FleetGateway`, `RegionPort`),
which it satisfies structurally (checked by mypy at the end of this module). Everything above this
module speaks domain values (`ProcessorConfig`, `ObservedProcessor`) and
`spd.errors`; everything botocore-shaped stays here (with the error table in `spd.aws.errors`). Retries
are botocore's standard mode with a fixed attempt count (deterministic, and the same everywhere), minus
the codes `spd.aws.errors` knows to be final; every throttled attempt, including those botocore retries
on its own, slows the operation's pacer for all callers. The `ensure_*` methods are the idempotent forms
the executor uses: a create that finds the name taken returns the holder, a delete of a processor already
gone, a stop of one already stopped and a start of one already running all succeed.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, get_session
from botocore.exceptions import BotoCoreError, ClientError

from spd import __version__
from spd.api.rules import MUTATING_STREAM_PROCESSOR_OPERATIONS
from spd.aws import credentials, mapping
from spd.aws.errors import THROTTLING_CODES, error_code, install_retry_rules, translate
from spd.aws.ratelimit import RateLimiter
from spd.errors import EndpointError
from spd.model import AMBIENT_TARGET, ProcessorId, Status
from spd.reconcile.mutation_gate import SEND_GUARD, SendRefused
from spd.reconcile.ports import Created, FleetGateway, IdempotentForms

if TYPE_CHECKING:
    from spd.model import ObservedProcessor, ProcessorConfig, StartSelector, Target, UpdateRequest

__all__ = ["CallStats", "Created", "Gateway", "RegionClient", "user_agent_marker"]


def user_agent_marker(stack: str | None) -> str:
    """What spd appends to the User-Agent of its calls; CloudTrail records it in `userAgent`.

    The daemon's watch drops the events of its own stack's calls by it (another stack's are events).
    """
    marker = f"spd/{__version__}"
    return f"{marker} spd-stack/{stack}" if stack else marker


@dataclass
class CallStats:
    """Calls per operation and outcome (`ok`, `throttled`, `error`), counted per attempt."""

    calls: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)

    def total(self) -> int:
        return sum(self.calls.values())

    def snapshot(self) -> dict[str, int]:
        return dict(sorted(self.calls.items()))


class RegionClient(IdempotentForms):
    """Stream-processor calls for one (target, region), paced and translated (`status` and the
    idempotent `ensure_*` forms are `spd.reconcile.ports.IdempotentForms`')."""

    def __init__(
        self, region: str, client: Any, limiter: RateLimiter, stats: CallStats, target: str = AMBIENT_TARGET
    ) -> None:
        self.region = region
        self.target = target
        self._client = client
        self._limiter = limiter
        self._stats = stats
        client.meta.events.register("needs-retry.rekognition", self._on_attempt)
        client.meta.events.register("before-send.rekognition", self._before_send)

    @staticmethod
    def _before_send(event_name: str = "", **_: Any) -> None:
        """Right before each attempt of a mutating call leaves (after its pacer slot, and before every
        retry): ask the lease again (`SEND_GUARD`), and send nothing if it lapsed meanwhile."""
        operation = event_name.rsplit(".", 1)[-1]
        guard = SEND_GUARD.get()
        if guard is None or operation not in MUTATING_STREAM_PROCESSOR_OPERATIONS:
            return
        reason = guard()
        if reason is not None:
            raise SendRefused(operation, reason)

    def _on_attempt(self, response: Any = None, operation: Any = None, **_: Any) -> None:
        """Counts every attempt and slows the pacer on throttling, retried or not."""
        name = getattr(operation, "name", "unknown")
        self._stats.calls[name] += 1
        code = error_code(response)
        if code in THROTTLING_CODES:
            self._stats.outcomes[(name, "throttled")] += 1
            self._limiter.throttled(name)
        elif code:
            self._stats.outcomes[(name, "error")] += 1
        elif response is not None:
            self._stats.outcomes[(name, "ok")] += 1
            self._limiter.succeeded(name)
        else:
            self._stats.outcomes[(name, "error")] += 1

    async def _call(self, operation: str, **kwargs: Any) -> dict[str, Any]:
        await self._limiter.acquire(operation)
        method = getattr(self._client, _snake(operation))
        try:
            result: dict[str, Any] = await method(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise translate(operation, exc) from None
        return result

    async def list_statuses(self) -> dict[ProcessorId, Status]:
        """Every processor's status in this region: one call per 1,000 processors."""
        statuses: dict[ProcessorId, Status] = {}
        token: str | None = None
        seen_tokens: set[str] = set()
        while True:
            kwargs: dict[str, Any] = {"MaxResults": 1000}
            if token:
                kwargs["NextToken"] = token
            page = await self._call("ListStreamProcessors", **kwargs)
            for item in page.get("StreamProcessors", []):
                statuses[ProcessorId(self.region, item["Name"], self.target)] = Status(
                    item.get("Status", "STOPPED")
                )
            token = page.get("NextToken") or None
            if token is None or token in seen_tokens:
                return statuses
            seen_tokens.add(token)

    async def describe(self, name: str, *, with_tags: bool = True) -> ObservedProcessor:
        data = await self._call("DescribeStreamProcessor", Name=name)
        tags = await self.list_tags(data["StreamProcessorArn"]) if with_tags else None
        return mapping.observed_from_describe(self.region, data, tags, self.target)

    async def list_tags(self, arn: str) -> dict[str, str]:
        data = await self._call("ListTagsForResource", ResourceArn=arn)
        return dict(data.get("Tags", {}))

    async def create(self, config: ProcessorConfig, tags: Mapping[str, str]) -> str:
        data = await self._call("CreateStreamProcessor", **mapping.create_request(config, tags))
        return str(data.get("StreamProcessorArn", ""))

    async def start(self, name: str) -> None:
        await self._call("StartStreamProcessor", Name=name)

    async def start_session(self, name: str, selector: StartSelector, max_duration_seconds: int) -> str:
        """Start a connected-home session; returns its SessionId.

        Raises `SessionOpenError` when the processor is already starting or running (a session is open).
        """
        data = await self._call(
            "StartStreamProcessor", **mapping.start_session_request(name, selector, max_duration_seconds)
        )
        return str(data.get("SessionId", ""))

    async def stop(self, name: str) -> None:
        await self._call("StopStreamProcessor", Name=name)

    async def update(self, name: str, update: UpdateRequest) -> None:
        await self._call("UpdateStreamProcessor", **mapping.update_request(name, update))

    async def delete(self, name: str) -> None:
        await self._call("DeleteStreamProcessor", Name=name)

    async def tag(self, arn: str, tags: Mapping[str, str]) -> None:
        await self._call("TagResource", ResourceArn=arn, Tags=dict(tags))

    async def untag(self, arn: str, keys: list[str]) -> None:
        await self._call("UntagResource", ResourceArn=arn, TagKeys=keys)


def _snake(operation: str) -> str:
    out = []
    for i, ch in enumerate(operation):
        if ch.isupper() and i:
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class Gateway:
    """Clients per (target, region) and one set of counters; open with `Gateway.open`.

    Each declared target has its own session (its account's credentials, `spd.aws.credentials`) and
    each of its regions its own pacer, as AWS's quotas are per account and region: one target throttled
    never slows another. The ambient target (no `targets` in the spec) keeps one pacer for its regions.
    """

    def __init__(
        self,
        stack: contextlib.AsyncExitStack,
        *,
        endpoint_url: str | None,
        rate_limits: Mapping[str, float],
        max_attempts: int,
        max_connections: int,
        marker: str = "",
        targets: Iterable[Target] = (),
        stack_name: str = "",
    ) -> None:
        self._stack = stack
        self.marker = marker or user_agent_marker(None)
        self._session = get_session()
        self._endpoint_url = endpoint_url
        self._rate_limits = dict(rate_limits)
        self._targets = {t.name: t for t in targets}
        self._stack_name = stack_name
        self._sessions: dict[str, AioSession] = {AMBIENT_TARGET: self._session}
        self._checked: set[str] = set()
        self._limiters: dict[tuple[str, str], RateLimiter] = {}
        self._config = AioConfig(
            retries={"mode": "standard", "total_max_attempts": max_attempts},
            max_pool_connections=max_connections,
            connect_timeout=10,
            read_timeout=30,
            user_agent_extra=self.marker,
        )
        self.limiter = RateLimiter(rate_limits)
        self.stats = CallStats()
        self._clients: dict[tuple[str, str], RegionClient] = {}
        self._service_clients: dict[tuple[str, str, str], Any] = {}

    @classmethod
    @contextlib.asynccontextmanager
    async def open(
        cls,
        *,
        endpoint_url: str | None = None,
        rate_limits: Mapping[str, float] | None = None,
        max_attempts: int = 5,
        max_connections: int = 32,
        stack: str | None = None,
        targets: Iterable[Target] = (),
    ) -> AsyncIterator[Gateway]:
        """`stack` goes into the User-Agent marker of every call (see `user_agent_marker`) and names the
        targets' AssumeRole sessions (`spd-<stack>`)."""
        async with contextlib.AsyncExitStack() as exits:
            yield cls(
                exits,
                endpoint_url=endpoint_url,
                rate_limits=rate_limits or {},
                max_attempts=max_attempts,
                max_connections=max_connections,
                marker=user_agent_marker(stack),
                targets=targets,
                stack_name=stack or "",
            )

    def _target_session(self, target: str) -> AioSession:
        session = self._sessions.get(target)
        if session is None:
            declared = self._targets.get(target)
            if declared is None:
                raise EndpointError(f"target {target!r} is not declared in the spec")
            session = credentials.target_session(
                declared,
                stack=self._stack_name,
                endpoint_url=self._endpoint_url,
                config=self._config,
                base=self._session,
            )
            self._sessions[target] = session
        return session

    async def check_target(self, target: str) -> str | None:
        """Whether `target`'s credentials work (its role chain assumed), once per gateway: None, or why not.

        The ambient target is not checked here (its first call says so, as before targets).
        """
        if target == AMBIENT_TARGET:
            return None
        if target in self._checked:
            return None
        try:
            session = self._target_session(target)
        except EndpointError as exc:
            return str(exc)
        error = await credentials.check(session)
        if error is None:
            # Only success is remembered: a target refused now is tried again on the next pass.
            self._checked.add(target)
        return error

    def use_targets(self, targets: Iterable[Target], stack_name: str) -> None:
        """Take the spec's targets (at start, and on every reload): a target whose declaration changed
        gets a new session and new clients on next use."""
        new = {t.name: t for t in targets}
        for name in set(self._targets) | set(new):
            if self._targets.get(name) != new.get(name) or stack_name != self._stack_name:
                self._sessions.pop(name, None)
                self._checked.discard(name)
                for key in [k for k in self._clients if k[0] == name]:
                    del self._clients[key]
                for skey in [k for k in self._service_clients if k[2] == name]:
                    del self._service_clients[skey]
        self._targets = new
        self._stack_name = stack_name

    def limiter_for(self, target: str, region: str) -> RateLimiter:
        """The pacer of (target, region): the ambient target's regions share `limiter`."""
        if target == AMBIENT_TARGET:
            return self.limiter
        return self._limiters.setdefault((target, region), RateLimiter(self._rate_limits))

    async def region(self, region: str, target: str = AMBIENT_TARGET) -> RegionClient:
        """The long-lived client of (`target`, `region`), created on first use."""
        key = (target, region)
        existing = self._clients.get(key)
        if existing is not None:
            return existing
        client = await self._open_client("rekognition", region, target)
        install_retry_rules(client)
        # Another task may have raced us to it; keep the first and let the stack close both.
        return self._clients.setdefault(
            key, RegionClient(region, client, self.limiter_for(target, region), self.stats, target)
        )

    async def service_client(self, service: str, region: str, target: str = AMBIENT_TARGET) -> Any:
        """A long-lived plain client of another service (kinesis, iam, s3...) at the same endpoint.

        For the read-only reference look-ups of `spd.aws.references`: no pacer, botocore's retries.
        """
        key = (service, region, target)
        existing = self._service_clients.get(key)
        if existing is not None:
            return existing
        client = await self._open_client(service, region, target)
        return self._service_clients.setdefault(key, client)

    async def _open_client(self, service: str, region: str, target: str) -> Any:
        """A new client of `service` in `region` with `target`'s credentials, closed with the gateway."""
        session = self._target_session(target)
        try:
            return await self._stack.enter_async_context(
                session.create_client(
                    service, region_name=region, endpoint_url=self._endpoint_url, config=self._config
                )
            )
        except BotoCoreError as exc:
            raise translate("CreateClient", exc) from None


if TYPE_CHECKING:

    def _satisfies_the_core_port(gateway: Gateway) -> FleetGateway:
        """Type-checked only: the gateway is what the core is written against (`spd.reconcile.ports`)."""
        return gateway
