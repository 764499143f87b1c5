"""What only the shared table does: a start in flight elsewhere coalesces a second trigger, the bound on
that claim, the table created on first use, and errors that name the table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from spd.aws.ledger_table import IN_FLIGHT_SECONDS, LedgerTable
from spd.aws.store_table import StoreTableError
from spd.model import ProcessorId
from spd.sessions.ledger_port import Completion, LedgerError, ReservationRequest
from store_support import STORE_STACK, store_table, table_name

PORCH = ProcessorId("us-east-1", "porch")
NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


async def _reserve(ledger: LedgerTable, at: datetime, seconds: int = 30) -> Any:
    return await ledger.reserve(
        ReservationRequest(
            at=at, processor=PORCH, trigger="http", requested_seconds=seconds, budget_seconds=None
        )
    )


async def test_a_second_start_while_one_is_in_flight_elsewhere_is_coalesced(emu: Any) -> None:
    name = table_name()
    async with store_table(emu.url, name) as one_table, store_table(emu.url, name) as two_table:
        one, two = LedgerTable(one_table, STORE_STACK), LedgerTable(two_table, STORE_STACK)
        first = await _reserve(one, NOON)
        second = await _reserve(two, NOON + timedelta(seconds=1))
        assert first.row is not None
        assert (second.row, second.used) == (None, 0.0)
        assert "in flight elsewhere" in (second.in_flight or "")
        assert await two.seconds_used(PORCH, NOON) == 30  # the coalesced trigger reserved nothing
        await one.complete(first.row, Completion(at=NOON, outcome="started", session_id="s-1"))
        third = await _reserve(two, NOON + timedelta(seconds=2))
        assert third.row is not None  # the start is no longer in flight: the next one may be tried


async def test_a_claim_older_than_the_bound_can_be_taken_and_its_writer_still_completes(emu: Any) -> None:
    name = table_name()
    async with store_table(emu.url, name) as table:
        one, two = LedgerTable(table, STORE_STACK), LedgerTable(table, STORE_STACK)
        died = await _reserve(one, NOON)
        assert (await _reserve(two, NOON + timedelta(seconds=IN_FLIGHT_SECONDS - 1))).in_flight
        taken = await _reserve(two, NOON + timedelta(seconds=IN_FLIGHT_SECONDS + 1))
        assert taken.row is not None
        # The first writer was only slow: its completion still lands, the claim stays the second's.
        await one.complete(died.row, Completion(at=NOON, outcome="refused", reason="service error"))
        assert (await _reserve(one, NOON + timedelta(seconds=IN_FLIGHT_SECONDS + 2))).in_flight
        assert await one.seconds_used(PORCH, NOON) == 30


async def test_the_table_is_created_on_demand_with_ttl(emu: Any) -> None:
    name = table_name()
    async with store_table(emu.url, name) as table:
        await LedgerTable(table, STORE_STACK).seconds_used(PORCH, NOON)
    client = boto3.client("dynamodb", endpoint_url=emu.url, region_name="us-east-1")
    described = client.describe_table(TableName=name)["Table"]
    assert described["BillingModeSummary"]["BillingMode"] == "PAY_PER_REQUEST"
    assert [k["AttributeName"] for k in described["KeySchema"]] == ["pk", "sk"]
    ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    assert (ttl["TimeToLiveStatus"], ttl["AttributeName"]) == ("ENABLED", "expires_at")


async def test_a_missing_table_not_to_be_created_is_a_ledger_error_naming_it(emu: Any) -> None:
    name = table_name()
    async with store_table(emu.url, name, create=False) as table:
        with pytest.raises(LedgerError) as caught:
            await _reserve(LedgerTable(table, STORE_STACK), NOON)
    assert isinstance(caught.value, StoreTableError)
    assert f"store table {name!r} does not exist" in str(caught.value)
    assert "store.create_table is off" in str(caught.value)


async def test_an_unreachable_endpoint_is_a_temporary_ledger_error() -> None:
    async with store_table("http://127.0.0.1:9", table_name()) as table:
        with pytest.raises(LedgerError) as caught:
            await _reserve(LedgerTable(table, STORE_STACK), NOON)
    assert caught.value.exit_code == 75
