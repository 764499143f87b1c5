"""Face collections in the emulator: CreateCollection, DescribeCollection, ListCollections and
DeleteCollection over real HTTP through boto3, with the model's constraints, per account and region,
and kept in the state file across restarts."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from emulator_only import emulator_only
from spd.emulator.backend.state import SCHEMA
from spd.emulator.embedded import embedded_emulator
from spd.emulator.testing import EmulatorProcess
from spd.store.sqlite_store import Database, Schema
from spdrun import emulator_command

pytestmark = emulator_only("collections kept in the emulator's state file")

ACCOUNT = "123456789012"
OTHER_ACCOUNT = "210987654321"


def _client(url: str, region: str = "us-east-1", account: str | None = None) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name=region
    )
    client = session.client(
        "rekognition", endpoint_url=url, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    if account is not None:

        def as_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account

        client.meta.events.register("before-sign.rekognition.*", as_account)
    return client


def _ids(client: Any, **kwargs: Any) -> list[str]:
    ids: list[str] = []
    for page in client.get_paginator("list_collections").paginate(**kwargs):
        assert page["FaceModelVersions"] == ["7.0"] * len(page["CollectionIds"])
        ids += page["CollectionIds"]
    return ids


def _code(info: pytest.ExceptionInfo[ClientError]) -> str:
    return str(info.value.response["Error"]["Code"])


def test_create_describe_list_delete(emu: EmulatorProcess) -> None:
    client = emu.client()
    created = client.create_collection(CollectionId="staff", Tags={"team": "front-desk"})
    assert created["StatusCode"] == 200
    assert created["CollectionArn"] == f"aws:rekognition:us-east-1:{ACCOUNT}:collection/staff"
    assert created["FaceModelVersion"] == "7.0"

    described = client.describe_collection(CollectionId="staff")
    assert described["FaceCount"] == 0
    assert described["FaceModelVersion"] == "7.0"
    assert described["CollectionARN"] == created["CollectionArn"]
    assert described["CreationTimestamp"].year >= 2024

    listed = client.list_collections()
    assert listed["CollectionIds"] == ["staff"]
    assert listed["FaceModelVersions"] == ["7.0"]
    assert "NextToken" not in listed

    assert client.delete_collection(CollectionId="staff")["StatusCode"] == 200
    assert client.list_collections()["CollectionIds"] == []
    with pytest.raises(ClientError) as info:
        client.describe_collection(CollectionId="staff")
    assert _code(info) == "ResourceNotFoundException"


def test_list_pages_with_max_results(emu: EmulatorProcess) -> None:
    client = emu.client()
    ids = [f"c{i}" for i in range(5)]
    for collection_id in reversed(ids):
        client.create_collection(CollectionId=collection_id)
    first = client.list_collections(MaxResults=2)
    assert first["CollectionIds"] == ["c0", "c1"]
    second = client.list_collections(MaxResults=2, NextToken=first["NextToken"])
    assert second["CollectionIds"] == ["c2", "c3"]
    assert _ids(client, PaginationConfig={"PageSize": 2}) == ids
    # Tokens are sealed to their request, like ListStreamProcessors'.
    with pytest.raises(ClientError) as info:
        client.list_collections(MaxResults=3, NextToken=first["NextToken"])
    assert _code(info) == "InvalidPaginationTokenException"
    with pytest.raises(ClientError) as info:
        client.list_collections(MaxResults=2, NextToken="Zm9v.forged")
    assert _code(info) == "InvalidPaginationTokenException"


def test_duplicate_and_unknown_ids(emu: EmulatorProcess) -> None:
    client = emu.client()
    client.create_collection(CollectionId="staff")
    with pytest.raises(client.exceptions.ResourceAlreadyExistsException) as exists:
        client.create_collection(CollectionId="staff")
    assert "staff" in exists.value.response["Error"]["Message"]
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.describe_collection(CollectionId="nobody")
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.delete_collection(CollectionId="nobody")
    assert _ids(client) == ["staff"]


@pytest.mark.parametrize(
    ("collection_id", "constraint"),
    [
        ("has space", "Member must satisfy regular expression pattern: [a-zA-Z0-9_.\\-]+"),
        ("x" * 256, "Member must have length less than or equal to 255"),
        ("caf\u00e9", "Member must satisfy regular expression pattern"),
    ],
)
@pytest.mark.parametrize("operation", ["create_collection", "describe_collection", "delete_collection"])
def test_collection_id_constraints_from_the_model(
    emu: EmulatorProcess, operation: str, collection_id: str, constraint: str
) -> None:
    client = emu.client()
    with pytest.raises(ClientError) as info:
        getattr(client, operation)(CollectionId=collection_id)
    assert _code(info) == "InvalidParameterException"
    message = info.value.response["Error"]["Message"]
    assert "at 'collectionId'" in message or "at 'CollectionId'" in message
    assert constraint in message
    assert client.list_collections()["CollectionIds"] == []


def test_list_page_size_constraint_from_the_model(emu: EmulatorProcess) -> None:
    with pytest.raises(ClientError) as info:
        emu.client().list_collections(MaxResults=4097)
    assert _code(info) == "InvalidParameterException"
    assert "Member must have value less than or equal to 4096" in info.value.response["Error"]["Message"]


def test_regions_and_accounts_are_separate(emu: EmulatorProcess) -> None:
    east, west = emu.client("us-east-1"), emu.client("us-west-2")
    other = _client(emu.url, account=OTHER_ACCOUNT)
    east.create_collection(CollectionId="staff")
    assert _ids(west) == []
    assert _ids(other) == []
    with pytest.raises(west.exceptions.ResourceNotFoundException):
        west.describe_collection(CollectionId="staff")
    # The same id is free elsewhere, and its ARN names where it lives.
    assert west.create_collection(CollectionId="staff")["CollectionArn"] == (
        f"aws:rekognition:us-west-2:{ACCOUNT}:collection/staff"
    )
    assert other.create_collection(CollectionId="staff")["CollectionArn"] == (
        f"aws:rekognition:us-east-1:{OTHER_ACCOUNT}:collection/staff"
    )
    other.delete_collection(CollectionId="staff")
    assert _ids(east) == _ids(west) == ["staff"]


def test_faults_and_stats_cover_collection_operations(emu: EmulatorProcess) -> None:
    client = emu.client()
    emu.fault(operation="CreateCollection", error="ThrottlingException", count=1)
    with pytest.raises(ClientError) as info:
        client.create_collection(CollectionId="staff")
    assert _code(info) == "ThrottlingException"
    client.create_collection(CollectionId="staff")
    stats = emu.stats()
    assert stats["calls"]["CreateCollection"] == 2
    assert stats["injected"]["CreateCollection"] == 1


def test_reset_forgets_collections(emu: EmulatorProcess) -> None:
    emu.client().create_collection(CollectionId="staff")
    emu.reset()
    assert emu.client().list_collections()["CollectionIds"] == []


def test_collections_persist_in_the_state_file(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    with embedded_emulator(state) as url:
        client = _client(url)
        client.create_collection(CollectionId="staff")
        client.create_collection(CollectionId="visitors")
        _client(url, "eu-west-1").create_collection(CollectionId="staff")
        created = client.describe_collection(CollectionId="staff")["CreationTimestamp"]
        client.delete_collection(CollectionId="visitors")
    with embedded_emulator(state) as url:
        client = _client(url)
        assert _ids(client) == ["staff"]
        assert client.describe_collection(CollectionId="staff")["CreationTimestamp"] == created
        assert _ids(_client(url, "eu-west-1")) == ["staff"]
        with pytest.raises(client.exceptions.ResourceAlreadyExistsException):
            client.create_collection(CollectionId="staff")


def test_two_emulators_on_one_file_share_collections(tmp_path: Path) -> None:
    state = tmp_path / "shared.db"
    with embedded_emulator(state) as first_url, embedded_emulator(state) as second_url:
        first, second = _client(first_url), _client(second_url)
        first.create_collection(CollectionId="staff")
        with pytest.raises(second.exceptions.ResourceAlreadyExistsException):
            second.create_collection(CollectionId="staff")
        second.delete_collection(CollectionId="staff")
        assert _ids(first) == []


def test_a_state_file_of_schema_version_1_is_upgraded(tmp_path: Path) -> None:
    state = tmp_path / "old.db"
    old = Schema(kind=SCHEMA.kind, application_id=SCHEMA.application_id, migrations=SCHEMA.migrations[:1])
    Database(state, old).close()
    with embedded_emulator(state) as url:
        _client(url).create_collection(CollectionId="staff")
    with closing(sqlite3.connect(state)) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == len(SCHEMA.migrations)
        assert conn.execute("SELECT collection_id FROM collections").fetchall() == [("staff",)]


def test_collections_take_tags(emu: EmulatorProcess) -> None:
    """TagResource, UntagResource and ListTagsForResource take "the model, collection, or stream
    processor" (https://docs.aws.amazon.com/rekognition/latest/APIReference/API_TagResource.html)."""
    client = emu.client()
    returned = client.create_collection(CollectionId="staff", Tags={"team": "vision"})["CollectionArn"]
    arn = "arn:aws:rekognition:us-east-1:123456789012:collection/staff"
    assert returned == arn.removeprefix("arn:")
    assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "vision"}
    client.tag_resource(ResourceArn=arn, Tags={"stage": "prod"})
    client.untag_resource(ResourceArn=arn, TagKeys=["team", "absent"])
    # The ARN as CreateCollection returns it (without `arn:`) names the same collection.
    assert client.list_tags_for_resource(ResourceArn=returned)["Tags"] == {"stage": "prod"}
    with pytest.raises(ClientError) as over:
        client.tag_resource(ResourceArn=arn, Tags={f"k{i}": "v" for i in range(50)})
    assert over.value.response["Error"]["Code"] == "ServiceQuotaExceededException"
    with pytest.raises(ClientError) as reserved:
        client.tag_resource(ResourceArn=arn, Tags={"AWS:x": "v"})
    assert reserved.value.response["Error"]["Code"] == "InvalidParameterException"
    with pytest.raises(ClientError) as unknown:
        client.list_tags_for_resource(ResourceArn=arn.replace("staff", "nobody"))
    assert unknown.value.response["Error"]["Code"] == "ResourceNotFoundException"
    with pytest.raises(ClientError) as at_create:
        client.create_collection(CollectionId="crowd", Tags={f"k{i}": "v" for i in range(51)})
    assert at_create.value.response["Error"]["Code"] == "ServiceQuotaExceededException"


def test_collection_tags_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    arn = "arn:aws:rekognition:us-east-1:123456789012:collection/staff"
    with EmulatorProcess(state_file=state, quiet=True, command=emulator_command()) as first:
        first.client().create_collection(CollectionId="staff")
        first.client().tag_resource(ResourceArn=arn, Tags={"team": "vision"})
    with EmulatorProcess(state_file=state, quiet=True, command=emulator_command()) as second:
        assert second.client().list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "vision"}
