"""From settings to the live objects a run needs: the gateway, the execution settings, the policy.

Shared by the CLI and the daemon so `--local`, `--endpoint-url` and the standard AWS chain
(`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL_REKOGNITION`) behave the same everywhere, and so the
settings become concurrency, timeouts and a policy in this one place. (Not in `spd.config.settings`: that
module is read by every command, `spd validate` included, which must not import the AWS stack.)
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from spd.aws.gateway import Gateway
from spd.aws.history_table import HistoryTable
from spd.aws.ledger_table import LedgerTable
from spd.aws.store_table import StoreTable
from spd.checks.preflight import references
from spd.config.fallback_region import fallback_region
from spd.config.settings import Settings, history_path, state_directory
from spd.emulator.extras import local_extra_required
from spd.events.history import HistoryPort, SqliteHistory
from spd.model import DesiredState
from spd.reconcile.executor import ExecutionSettings
from spd.reconcile.plan import Policy
from spd.sessions.ledger import SqliteLedger
from spd.sessions.ledger_port import LedgerPort


def execution_settings(settings: Settings, stack: str) -> ExecutionSettings:
    """How the executor works for `stack`: its concurrency bound, polling interval and wait timeout."""
    return ExecutionSettings(
        stack=stack,
        concurrency=settings.concurrency,
        poll_interval=settings.poll_interval,
        wait_timeout=settings.wait_timeout,
    )


def run_policy(settings: Settings, stack: str, only: frozenset[str] | None = None) -> Policy:
    """What a plan/apply run or a daemon pass may do: prune as the settings say, limited to the
    processors named `only` (`--target`)."""
    return Policy(stack, prune=settings.prune, only=only)


# botocore insists on credentials even for a local emulator that ignores signatures.
_LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "spd-local", "AWS_SECRET_ACCESS_KEY": "spd-local"}


@contextlib.contextmanager
def _local_endpoint(settings: Settings, spec: DesiredState | None) -> Iterator[str]:
    with local_extra_required():
        from spd.emulator.embedded import embedded_emulator

    provide = [] if spec is None else [(r.kind, r.region, r.identifier) for r in references(spec)]
    with embedded_emulator(settings.local_state, provide) as url:
        yield url


@contextlib.contextmanager
def _credentials_for_local() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _LOCAL_CREDENTIALS}
    profile = os.environ.pop("AWS_PROFILE", None)
    os.environ.update(_LOCAL_CREDENTIALS)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if profile is not None:
            os.environ["AWS_PROFILE"] = profile


@contextlib.asynccontextmanager
async def open_gateway(settings: Settings, desired: DesiredState | None = None) -> AsyncIterator[Gateway]:
    """A gateway configured from `settings` for `desired`'s targets (credentials per target, session
    name `spd-<stack>`); with `local`, the embedded emulator runs meanwhile, as a sandbox holding what
    `desired` references (created on first use: `spd.emulator.embedded`).

    The stack also marks every call's User-Agent, so the daemon's watch knows its own calls."""
    with contextlib.ExitStack() as exits:
        endpoint = settings.endpoint_url
        if settings.local:
            endpoint = exits.enter_context(_local_endpoint(settings, desired))
            exits.enter_context(_credentials_for_local())
        async with Gateway.open(
            endpoint_url=endpoint,
            rate_limits=settings.rate_limits,
            max_attempts=settings.max_attempts,
            max_connections=max(10, settings.concurrency * 2),
            stack=desired.stack if desired is not None else None,
            targets=desired.targets if desired is not None else (),
        ) as gateway:
            yield gateway


# -- the store: the shared table when `store.table` is set, else this host's SQLite files -------------


def store_region(settings: Settings, spec_regions: Sequence[str], environ: Mapping[str, str]) -> str:
    """The shared table's region: `store.region`, else `fallback_region`'s (the spec's first...)."""
    return settings.store.region or fallback_region(environ, spec_regions)


def store_table(
    settings: Settings, gateway: Gateway, spec_regions: Sequence[str], environ: Mapping[str, str]
) -> StoreTable:
    """The shared table (`store.table` must be set); its client is made, and the table checked, on first use."""
    assert settings.store.table is not None
    region = store_region(settings, spec_regions, environ)

    async def client() -> Any:
        return await gateway.service_client("dynamodb", region)

    return StoreTable(client, settings.store.table, create=settings.store.create_table)


def open_ledger(
    settings: Settings,
    gateway: Gateway | None,
    *,
    stack: str,
    spec_regions: Sequence[str],
    environ: Mapping[str, str],
) -> LedgerPort:
    """The session ledger the settings name: the shared table (which needs `gateway`), else `sessions.db`
    in the state directory."""
    if settings.store.table:
        assert gateway is not None, "the shared store is reached through a gateway"
        return LedgerTable(store_table(settings, gateway, spec_regions, environ), stack)
    return SqliteLedger.open(state_directory(settings))


def open_history(
    settings: Settings,
    gateway: Gateway | None,
    *,
    spec_regions: Sequence[str],
    environ: Mapping[str, str],
    retention_days: Callable[[], float] | None = None,
    report: Callable[[str, dict[str, Any]], None] = lambda name, fields: None,
    now: Callable[[], datetime] | None = None,
) -> HistoryPort:
    """The history the settings name: the shared table (which needs `gateway`), else the history file."""
    if settings.store.table:
        assert gateway is not None, "the shared store is reached through a gateway"
        extra = {} if now is None else {"now": now}
        return HistoryTable(
            store_table(settings, gateway, spec_regions, environ),
            retention_days=retention_days or (lambda: settings.history_retention),
            report=report,
            **extra,
        )
    return SqliteHistory(history_path(settings))


@contextlib.asynccontextmanager
async def store_gateway(settings: Settings, desired: DesiredState) -> AsyncIterator[Gateway | None]:
    """For a command that reads or writes the store: a gateway when the store is the shared table,
    None for the local files (no AWS stack started for them)."""
    if not settings.store.table:
        yield None
        return
    async with open_gateway(settings, desired) as gateway:
        yield gateway
