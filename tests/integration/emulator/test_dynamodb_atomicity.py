"""The emulator's DynamoDB keeps a conditional write atomic under concurrent requests, as the service
does: of many transactions racing for the last room under a condition, only those that fit succeed.
(moto alone checks and then writes without a lock; the emulator serialises DynamoDB requests.)"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

TABLE = "atomicity"


def _client(emu: Any) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=emu.url,
        region_name="us-east-1",
        config=Config(retries={"max_attempts": 1}, max_pool_connections=32),
    )


def test_concurrent_conditional_transactions_never_overspend(emu: Any) -> None:
    client = _client(emu)
    client.create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    for i in range(300):  # filler items make each transaction's work (moto copies the table) longer
        client.put_item(TableName=TABLE, Item={"pk": {"S": f"filler-{i}"}, "data": {"S": "x" * 2000}})

    def spend(n: int) -> str:
        try:
            client.transact_write_items(
                TransactItems=[
                    {
                        "Update": {
                            "TableName": TABLE,
                            "Key": {"pk": {"S": "budget"}},
                            "UpdateExpression": "ADD #used :s",
                            "ConditionExpression": "attribute_not_exists(#used) OR #used <= :room",
                            "ExpressionAttributeNames": {"#used": "used"},
                            "ExpressionAttributeValues": {":s": {"N": "30"}, ":room": {"N": "70"}},
                        }
                    },
                    {"Put": {"TableName": TABLE, "Item": {"pk": {"S": f"row-{n}"}}}},
                ]
            )
        except ClientError as exc:
            return str(exc.response["Error"]["Code"])
        return "admitted"

    for round_ in range(5):
        client.delete_item(TableName=TABLE, Key={"pk": {"S": "budget"}})
        with ThreadPoolExecutor(24) as pool:
            answers = list(pool.map(spend, range(round_ * 100, round_ * 100 + 24)))
        used = int(client.get_item(TableName=TABLE, Key={"pk": {"S": "budget"}})["Item"]["used"]["N"])
        assert sorted(set(answers)) == ["TransactionCanceledException", "admitted"], f"round {round_}"
        assert (answers.count("admitted"), used) == (3, 90), f"round {round_}"


def test_a_cancelled_transaction_leaves_every_named_item_as_it_was(emu: Any) -> None:
    """The emulator backs up the items a transaction names (not the whole table): a cancelled one puts
    back the item it updated, removes the one it created and restores the one it deleted."""
    client = _client(emu)
    table = "rollback"
    client.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "S"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )

    def key(sk: str) -> dict[str, Any]:
        return {"pk": {"S": "p"}, "sk": {"S": sk}}

    client.put_item(TableName=table, Item={**key("counter"), "n": {"N": "1"}})
    client.put_item(TableName=table, Item={**key("doomed"), "v": {"S": "kept"}})
    client.put_item(TableName=table, Item={**key("guard"), "open": {"BOOL": True}})
    before = client.scan(TableName=table, ConsistentRead=True)["Items"]
    changes = [
        {
            "Update": {
                "TableName": table,
                "Key": key("counter"),
                "UpdateExpression": "ADD n :one",
                "ExpressionAttributeValues": {":one": {"N": "1"}},
            }
        },
        {"Put": {"TableName": table, "Item": {**key("new"), "v": {"S": "x"}}}},
        {"Delete": {"TableName": table, "Key": key("doomed")}},
    ]
    failing_check = {
        "ConditionCheck": {
            "TableName": table,
            "Key": key("guard"),
            "ConditionExpression": "attribute_not_exists(#o)",
            "ExpressionAttributeNames": {"#o": "open"},
        }
    }
    with pytest.raises(ClientError) as cancelled:
        client.transact_write_items(TransactItems=[*changes, failing_check])
    assert cancelled.value.response["Error"]["Code"] == "TransactionCanceledException"
    after = client.scan(TableName=table, ConsistentRead=True)["Items"]
    assert sorted(after, key=str) == sorted(before, key=str)
    # The same transaction without the failing check goes through whole.
    client.transact_write_items(TransactItems=changes)
    items = {i["sk"]["S"]: i for i in client.scan(TableName=table, ConsistentRead=True)["Items"]}
    assert set(items) == {"counter", "new", "guard"}
    assert items["counter"]["n"] == {"N": "2"}
