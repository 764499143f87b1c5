"""The shared store's table client: a transaction cancelled only by a concurrent one is sent again; one
whose condition failed is not (its answer is the caller's), with an in-memory DynamoDB client."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from spd.aws.store_table import CONFLICT_TRIES, StoreTable, StoreTableError


def cancelled(*reasons: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "Transaction cancelled"},
            "CancellationReasons": [{"Code": r} for r in reasons],
        },
        "TransactWriteItems",
    )


class Client:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.sent = 0

    async def describe_table(self, **_: Any) -> dict[str, Any]:
        return {"Table": {"TableStatus": "ACTIVE"}}

    async def transact_write_items(self, **_: Any) -> dict[str, Any]:
        self.sent += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


def table(client: Client) -> StoreTable:
    async def factory() -> Client:
        return client

    return StoreTable(factory, "spd-store")


async def test_a_conflict_with_a_concurrent_transaction_is_sent_again() -> None:
    client = Client(cancelled("None", "TransactionConflict", "None"), {})
    assert await table(client).call("transact_write_items", TransactItems=[]) == {}
    assert client.sent == 2


async def test_a_failed_condition_is_the_callers_answer_at_once() -> None:
    client = Client(cancelled("ConditionalCheckFailed", "TransactionConflict", "None"))
    with pytest.raises(StoreTableError) as caught:
        await table(client).call("transact_write_items", TransactItems=[])
    assert caught.value.reasons == ("ConditionalCheckFailed", "TransactionConflict", "None")
    assert client.sent == 1


async def test_conflicts_that_do_not_pass_end_in_a_temporary_error() -> None:
    client = Client(*[cancelled("TransactionConflict")] * CONFLICT_TRIES)
    with pytest.raises(StoreTableError) as caught:
        await table(client).call("transact_write_items", TransactItems=[])
    assert client.sent == CONFLICT_TRIES
    assert caught.value.exit_code == 75
