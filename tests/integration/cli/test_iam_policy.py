"""`spd iam-policy`: the real installed command in a subprocess, its policies checked by moto's IAM.

moto's IAM (served on the emulator's port) validates a policy document on CreatePolicy the way IAM does
(grammar, `Version`, `Effect`, actions as `service:Action`, resource ARNs), so every policy printed here
is created there.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from spd.emulator.testing import EmulatorProcess
from spdrun import run_installed

ROOT = Path(__file__).resolve().parents[3]

EAST_ROLE = "arn:aws:iam::111122223333:role/SpdEast"
WEST_ROLE = "arn:aws:iam::444455556666:role/service/SpdWest"
TWO_REGIONS = f"""\
version: 1
stack: two-regions
processors:
  - name: east-faces
    region: us-east-1
    role_arn: {EAST_ROLE}
    input: {{kinesis_video_stream_arn: "arn:aws:kinesisvideo:us-east-1:111122223333:stream/east/1700000000000"}}
    face_search: {{collection_id: staff}}
    output: {{kinesis_data_stream_arn: "arn:aws:kinesis:us-east-1:111122223333:stream/east-faces"}}
  - name: west-labels
    region: eu-west-1
    role_arn: {WEST_ROLE}
    input: {{kinesis_video_stream_arn: "arn:aws:kinesisvideo:eu-west-1:444455556666:stream/west/1700000000001"}}
    connected_home: {{labels: [PERSON]}}
    output: {{s3_bucket: west-results, s3_key_prefix: cams/west/}}
    notification_channel: {{sns_topic_arn: "arn:aws:sns:eu-west-1:444455556666:AmazonRekognitionWest"}}
    kms_key_id: alias/west-results
"""
EAST_ARN = "arn:aws:rekognition:us-east-1:111122223333:streamprocessor/east-faces"
WEST_ARN = "arn:aws:rekognition:eu-west-1:444455556666:streamprocessor/west-labels"
ARN = re.compile(r"^arn:aws:[a-z0-9-]+:([a-z]{2}-[a-z]+-\d)?:(\d{12})?:.+$")


def spd(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPD_")}
    return run_installed(args, env=env, cwd=ROOT)


@pytest.fixture
def two_regions(tmp_path: Path) -> Path:
    spec = tmp_path / "spec.yaml"
    spec.write_text(TWO_REGIONS)
    return spec


def policy(spec: Path | str, audience: str) -> dict[str, Any]:
    result = spd("iam-policy", str(spec), "--for", audience)
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    parsed: dict[str, Any] = json.loads(result.stdout)
    return parsed


def by_sid(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["Sid"]: s for s in document["Statement"]}


@pytest.mark.parametrize("audience", ["daemon", "service-role"])
@pytest.mark.parametrize("spec", ["config/", "two_regions"])
def test_output_is_deterministic_and_accepted_by_iam(
    emu: EmulatorProcess, request: pytest.FixtureRequest, spec: str, audience: str
) -> None:
    path = str(request.getfixturevalue(spec)) if spec == "two_regions" else spec
    first = spd("iam-policy", path, "--for", audience)
    second = spd("iam-policy", path, "--for", audience)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    document = json.loads(first.stdout)
    assert first.stdout == json.dumps(document, indent=2, sort_keys=True) + "\n"
    assert document["Version"] == "2012-10-17"
    assert document["Statement"]
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert statement["Action"]
        assert all(re.fullmatch(r"[a-z0-9-]+:[A-Za-z]+", a) for a in statement["Action"])
        assert statement["Resource"]
        for resource in statement["Resource"]:
            if resource == "*":
                assert statement["Action"] == ["rekognition:ListStreamProcessors"]
            else:
                assert ARN.match(resource), resource
    iam = emu.client("us-east-1", service="iam")
    created = iam.create_policy(PolicyName=f"spd-{audience}", PolicyDocument=first.stdout)
    assert created["Policy"]["Arn"].endswith(f":policy/spd-{audience}")


def test_moto_iam_rejects_a_malformed_policy(emu: EmulatorProcess) -> None:
    """The acceptance above means something: the same IAM refuses a bad document."""
    iam = emu.client("us-east-1", service="iam")
    bad = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "rekognition", "Resource": "x"}],
    }
    with pytest.raises(ClientError) as error:
        iam.create_policy(PolicyName="bad", PolicyDocument=json.dumps(bad))
    assert error.value.response["Error"]["Code"] == "MalformedPolicyDocument"


def test_daemon_policy_is_scoped_to_the_specs_processors_and_roles(two_regions: Path) -> None:
    statements = by_sid(policy(two_regions, "daemon"))
    owned = statements["ProcessorsOwnedByStack"]
    assert owned["Resource"] == sorted([EAST_ARN, WEST_ARN])
    assert owned["Condition"] == {"StringEquals": {"aws:ResourceTag/spd:stack": "two-regions"}}
    assert "rekognition:CreateStreamProcessor" not in owned["Action"]
    create = statements["CreateProcessorsTaggedWithStack"]
    assert create["Action"] == ["rekognition:CreateStreamProcessor", "rekognition:TagResource"]
    assert create["Resource"] == sorted([EAST_ARN, WEST_ARN])
    assert create["Condition"] == {"StringEquals": {"aws:RequestTag/spd:stack": "two-regions"}}
    assert statements["ListProcessors"]["Resource"] == ["*"]
    pass_role = statements["PassRoleToRekognition"]
    assert pass_role["Resource"] == sorted([EAST_ROLE, WEST_ROLE])
    assert pass_role["Condition"] == {"StringEquals": {"iam:PassedToService": "rekognition.amazonaws.com"}}
    assert statements["PreflightRoles"]["Resource"] == sorted([EAST_ROLE, WEST_ROLE])
    assert statements["PreflightCollections"]["Resource"] == [
        "arn:aws:rekognition:us-east-1:111122223333:collection/staff"
    ]
    assert statements["PreflightDataStreams"]["Resource"] == [
        "arn:aws:kinesis:us-east-1:111122223333:stream/east-faces"
    ]
    assert statements["PreflightTopics"]["Resource"] == [
        "arn:aws:sns:eu-west-1:444455556666:AmazonRekognitionWest"
    ]
    assert statements["PreflightBuckets"]["Resource"] == ["arn:aws:s3:::west-results"]
    keys = statements["PreflightKeysByAlias1"]
    assert keys["Resource"] == ["arn:aws:kms:eu-west-1:444455556666:key/*"]
    assert keys["Condition"] == {"ForAnyValue:StringEquals": {"kms:ResourceAliases": ["alias/west-results"]}}
    assert "PreflightKeys" not in statements


def test_service_role_policy_is_scoped_to_the_referenced_resources(two_regions: Path) -> None:
    statements = by_sid(policy(two_regions, "service-role"))
    assert statements["ReadVideoStreams"]["Resource"] == [
        "arn:aws:kinesisvideo:eu-west-1:444455556666:stream/west/1700000000001",
        "arn:aws:kinesisvideo:us-east-1:111122223333:stream/east/1700000000000",
    ]
    assert statements["WriteFaceSearchResults"]["Action"] == ["kinesis:PutRecord", "kinesis:PutRecords"]
    assert statements["WriteFaceSearchResults"]["Resource"] == [
        "arn:aws:kinesis:us-east-1:111122223333:stream/east-faces"
    ]
    assert statements["WriteLabelResults"]["Resource"] == ["arn:aws:s3:::west-results/cams/west/*"]
    assert statements["PublishNotifications"]["Resource"] == [
        "arn:aws:sns:eu-west-1:444455556666:AmazonRekognitionWest"
    ]
    assert statements["EncryptResultsByAlias1"]["Action"] == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert set(statements) == {
        "ReadVideoStreams",
        "WriteFaceSearchResults",
        "WriteLabelResults",
        "PublishNotifications",
        "EncryptResultsByAlias1",
    }


def test_the_shared_store_table_is_granted_on_its_arn_only(two_regions: Path, tmp_path: Path) -> None:
    assert "StoreTable" not in by_sid(policy(two_regions, "daemon"))
    settings = tmp_path / "store.yaml"
    settings.write_text("store: {table: spd-store, region: eu-west-1}\n")
    result = spd("iam-policy", str(two_regions), "--for", "daemon", "--settings", str(settings))
    assert result.returncode == 0, result.stderr
    statement = by_sid(json.loads(result.stdout))["StoreTable"]
    assert statement["Resource"] == ["arn:aws:dynamodb:eu-west-1:*:table/spd-store"]
    assert statement["Action"] == [
        "dynamodb:BatchWriteItem",
        "dynamodb:ConditionCheckItem",
        "dynamodb:CreateTable",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:Query",
        "dynamodb:UpdateItem",
        "dynamodb:UpdateTimeToLive",
    ]
    settings.write_text("store: {table: spd-store, create_table: false}\n")
    result = spd("iam-policy", str(two_regions), "--for", "daemon", "--settings", str(settings))
    statement = by_sid(json.loads(result.stdout))["StoreTable"]
    assert "dynamodb:CreateTable" not in statement["Action"]
    assert "dynamodb:UpdateTimeToLive" not in statement["Action"]
    assert statement["Resource"] == [
        "arn:aws:dynamodb:eu-west-1:*:table/spd-store"
    ]  # the spec's first region


def test_a_bad_spec_exits_78_with_located_messages_and_no_policy() -> None:
    path = "tests/unit/spec/corpus/polygon_two_points.yaml"
    result = spd("iam-policy", path, "--for", "daemon")
    assert result.returncode == 78
    assert result.stdout == ""
    assert (
        f"{path}:16:18: processors[1].regions_of_interest[0].polygon: needs at least 3 points"
        in result.stderr
    )
    assert "Traceback" not in result.stderr


def test_for_is_required_and_checked() -> None:
    result = spd("iam-policy", "config/", "--for", "admin")
    assert result.returncode == 64  # usage error
    assert "Invalid value for '--for'" in result.stderr
    assert "Traceback" not in result.stderr


SETTINGS = """\
watch_queue_url: https://sqs.eu-west-1.amazonaws.com/444455556666/spd-watch
results_queue_url: http://127.0.0.1:4566/123456789012/spd-session-results
session_queue_url: https://sqs.us-east-1.amazonaws.com/111122223333/spd-triggers
ha: {table: spd-leases, region: eu-west-1}
event_sinks:
  - {type: sns, topic_arn: "arn:aws:sns:us-east-1:111122223333:spd-events"}
  - {type: eventbridge, bus: spd-bus}
  - {type: eventbridge, bus: "arn:aws:events:eu-west-1:444455556666:event-bus/ops"}
"""
FEATURES = {"ReadQueues", "LeaseTable", "EventSinkTopics", "EventSinkBuses"}


@pytest.fixture
def settings_file(tmp_path: Path) -> Path:
    path = tmp_path / "settings.yaml"
    path.write_text(SETTINGS)
    return path


def test_daemon_policy_covers_the_configured_features_only(two_regions: Path, settings_file: Path) -> None:
    assert not FEATURES & set(by_sid(policy(two_regions, "daemon")))
    result = spd("iam-policy", str(two_regions), "--for", "daemon", "--settings", str(settings_file))
    assert result.returncode == 0, result.stderr
    statements = by_sid(json.loads(result.stdout))
    assert statements["ReadQueues"]["Action"] == [
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:ReceiveMessage",
    ]
    # A queue URL that names no region (an emulator's) takes the spec's first region, as the daemon does.
    assert statements["ReadQueues"]["Resource"] == [
        "arn:aws:sqs:eu-west-1:123456789012:spd-session-results",
        "arn:aws:sqs:eu-west-1:444455556666:spd-watch",
        "arn:aws:sqs:us-east-1:111122223333:spd-triggers",
    ]
    assert statements["LeaseTable"]["Action"] == [
        "dynamodb:CreateTable",
        "dynamodb:DeleteItem",
        "dynamodb:DescribeTable",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
    ]
    # Two accounts in the spec: the daemon's own is not known, so the table's account is any.
    assert statements["LeaseTable"]["Resource"] == ["arn:aws:dynamodb:eu-west-1:*:table/spd-leases"]
    assert statements["EventSinkTopics"] == {
        "Sid": "EventSinkTopics",
        "Effect": "Allow",
        "Action": ["sns:Publish"],
        "Resource": ["arn:aws:sns:us-east-1:111122223333:spd-events"],
    }
    # A bare bus name is used in the region of the processor an event is about: every spec region.
    assert statements["EventSinkBuses"]["Resource"] == [
        "arn:aws:events:eu-west-1:*:event-bus/spd-bus",
        "arn:aws:events:eu-west-1:444455556666:event-bus/ops",
        "arn:aws:events:us-east-1:*:event-bus/spd-bus",
    ]
    # Sessions are Start calls on owned processors: already granted, with the stack-tag condition.
    assert "rekognition:StartStreamProcessor" in statements["ProcessorsOwnedByStack"]["Action"]


def test_one_account_spec_names_its_account(settings_file: Path, emu: EmulatorProcess) -> None:
    first = spd("iam-policy", "config/", "--for", "daemon", "--settings", str(settings_file))
    second = spd("iam-policy", "config/", "--for", "daemon", "--settings", str(settings_file))
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    statements = by_sid(json.loads(first.stdout))
    assert set(statements) >= FEATURES
    for resource in (*statements["LeaseTable"]["Resource"], *statements["EventSinkBuses"]["Resource"]):
        assert ARN.match(resource), resource
    iam = emu.client("us-east-1", service="iam")
    created = iam.create_policy(PolicyName="spd-daemon-features", PolicyDocument=first.stdout)
    assert created["Policy"]["Arn"].endswith(":policy/spd-daemon-features")


def test_two_account_policy_with_features_is_accepted_by_iam(
    two_regions: Path, settings_file: Path, emu: EmulatorProcess
) -> None:
    result = spd("iam-policy", str(two_regions), "--for", "daemon", "--settings", str(settings_file))
    assert result.returncode == 0, result.stderr
    iam = emu.client("us-east-1", service="iam")
    iam.create_policy(PolicyName="spd-daemon-two-accounts", PolicyDocument=result.stdout)


def test_bad_settings_exit_78_with_the_setting_named(two_regions: Path, tmp_path: Path) -> None:
    bad = tmp_path / "settings.yaml"
    bad.write_text("results_queue_url: not-a-queue\n")
    result = spd("iam-policy", str(two_regions), "--for", "daemon", "--settings", str(bad))
    assert result.returncode == 78
    assert result.stdout == ""
    assert "results_queue_url" in result.stderr
    assert "expected an SQS queue URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_shards_mode_adds_the_scan_and_the_watch_hand_over_and_nothing_more(
    two_regions: Path, tmp_path: Path
) -> None:
    """`ha.mode: shards` lists every shard and member record with one Scan per heartbeat and hands a
    watch message about another daemon's shard back to the queue: exactly those two grants are added."""
    leader = by_sid(
        json.loads(
            spd(
                "iam-policy",
                str(two_regions),
                "--for",
                "daemon",
                "--settings",
                str(_settings(tmp_path, "leader")),
            ).stdout
        )
    )
    result = spd(
        "iam-policy", str(two_regions), "--for", "daemon", "--settings", str(_settings(tmp_path, "shards"))
    )
    assert result.returncode == 0, result.stderr
    shards = by_sid(json.loads(result.stdout))
    assert "ShardLeases" not in leader
    assert "WatchQueueHandOver" not in leader
    assert shards["ShardLeases"]["Action"] == ["dynamodb:Scan"]
    assert shards["ShardLeases"]["Resource"] == ["arn:aws:dynamodb:eu-west-1:*:table/spd-leases"]
    assert shards["WatchQueueHandOver"]["Action"] == ["sqs:ChangeMessageVisibility"]
    assert shards["WatchQueueHandOver"]["Resource"] == ["arn:aws:sqs:eu-west-1:444455556666:spd-watch"]
    assert {k: v for k, v in shards.items() if k not in ("ShardLeases", "WatchQueueHandOver")} == leader


def _settings(tmp_path: Path, mode: str) -> Path:
    path = tmp_path / f"settings-{mode}.yaml"
    path.write_text(
        "watch_queue_url: https://sqs.eu-west-1.amazonaws.com/444455556666/spd-watch\n"
        f"ha: {{table: spd-leases, region: eu-west-1, mode: {mode}}}\n"
        "store: {table: spd-store, region: eu-west-1}\n"
    )
    return path
