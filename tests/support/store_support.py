"""The two ledger and history adapters for contract tests: this host's SQLite files, or the shared table
in the emulator's DynamoDB (moto over real HTTP, through the daemon's own aiobotocore client)."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from spd.aws.gateway import Gateway
from spd.aws.history_table import HistoryTable
from spd.aws.ledger_table import LedgerTable
from spd.aws.store_table import StoreTable
from spd.events.history import SqliteHistory
from spd.sessions.ledger import SqliteLedger

STORE_STACK = "stack-x"


def table_name() -> str:
    return f"spd-store-{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def store_table(url: str, name: str, *, create: bool = True) -> AsyncIterator[StoreTable]:
    async with Gateway.open(endpoint_url=url, max_attempts=1) as gateway:

        async def client() -> Any:
            return await gateway.service_client("dynamodb", "us-east-1")

        yield StoreTable(client, name, create=create)


@contextlib.asynccontextmanager
async def ledgers(kind: str, tmp_path: Path, url: str, now: Callable[[], datetime]) -> AsyncIterator[Any]:
    """A function making ledgers that share one store ("hosts"): `kind` sqlite or table."""
    if kind == "sqlite":
        opened: list[SqliteLedger] = []

        async def local() -> SqliteLedger:
            opened.append(SqliteLedger.open(tmp_path))
            return opened[-1]

        yield local
        for ledger in opened:
            await ledger.close()
        return
    name = table_name()
    async with contextlib.AsyncExitStack() as stack:

        async def shared() -> LedgerTable:
            table = await stack.enter_async_context(store_table(url, name))
            return LedgerTable(table, STORE_STACK, now=now)

        yield shared


@contextlib.asynccontextmanager
async def histories(kind: str, tmp_path: Path, url: str, now: Callable[[], datetime]) -> AsyncIterator[Any]:
    if kind == "sqlite":

        async def local() -> SqliteHistory:
            return SqliteHistory(tmp_path / "history.db")

        yield local
        return
    name = table_name()
    async with contextlib.AsyncExitStack() as stack:

        async def shared() -> HistoryTable:
            table = await stack.enter_async_context(store_table(url, name))
            return HistoryTable(table, retention_days=lambda: 30.0, now=now)

        yield shared
