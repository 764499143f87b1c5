"""The same cases against both history adapters: the history file and the shared table (buffered,
written in the background and on close; read by another "host")."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest

from spd.aws.history_table import HistoryTable
from spd.events import Event
from store_support import histories, store_table, table_name

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "table"])
async def hosts(request: Any, tmp_path: Path, emu: Any) -> AsyncIterator[Any]:
    async with histories(request.param, tmp_path, emu.url, lambda: NOON + timedelta(hours=1)) as make:
        yield make


def drift(processor: str, n: int) -> Event:
    return Event("drift_detected", {"processor": processor, "region": "us-east-1", "n": n})


async def test_events_recorded_by_one_host_are_read_by_another(hosts: Any) -> None:
    writer = await hosts()
    writer.record(drift("porch", 1), stack="shop", at=NOON - timedelta(days=1))
    writer.record(drift("gate", 2), stack="shop", at=NOON)
    writer.record(drift("porch", 3), stack="shop", at=NOON + timedelta(seconds=1))
    writer.record(drift("porch", 4), stack="other", at=NOON)
    await writer.close()
    reader = await hosts()
    every = await reader.entries("shop", since=NOON - timedelta(days=2))
    assert [(e.processor, e.fields["n"]) for e in every] == [("porch", 1), ("gate", 2), ("porch", 3)]
    assert (every[1].at, every[1].region, every[1].stack) == (NOON, "us-east-1", "shop")
    porch = await reader.entries("shop", processor="porch", since=NOON)
    assert [e.fields["n"] for e in porch] == [3]
    assert [e.fields["n"] for e in await reader.entries("shop")] == [1, 2, 3]
    await reader.close()


async def test_a_running_writer_writes_in_the_background(hosts: Any) -> None:
    writer = await hosts()
    for n in range(30):  # more than one batch
        writer.record(drift("porch", n), stack="shop", at=NOON + timedelta(milliseconds=n))
    reader = await hosts()
    for _ in range(100):
        if len(await reader.entries("shop", since=NOON)) == 30:
            break
        await asyncio.sleep(0.1)
    assert [e.fields["n"] for e in await reader.entries("shop", since=NOON)] == list(range(30))
    await writer.close()
    await reader.close()


async def test_events_wait_in_the_buffer_while_the_table_cannot_be_written(emu: Any) -> None:
    name = table_name()
    reported: list[tuple[str, dict[str, Any]]] = []
    async with store_table(emu.url, name, create=False) as table:
        history = HistoryTable(
            table, retention_days=lambda: 30.0, report=lambda n, f: reported.append((n, f))
        )
        history.record(drift("porch", 1), stack="shop", at=NOON)
        for _ in range(50):
            if reported:
                break
            await asyncio.sleep(0.1)
        assert reported[0][0] == "history_write_failed"
        assert f"store table {name!r} does not exist" in reported[0][1]["error"]
        boto3.client("dynamodb", endpoint_url=emu.url, region_name="us-east-1").create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": "pk", "KeyType": "HASH"},
                {"AttributeName": "sk", "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": "pk", "AttributeType": "S"},
                {"AttributeName": "sk", "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
        await history.close()  # what waited is written now
        assert [e.fields["n"] for e in await history.entries("shop", since=NOON)] == [1]
