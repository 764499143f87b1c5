"""The wire: JSON 1.1 requests and responses as raw HTTP, error bodies and statuses, regions from the
SigV4 scope, the AWS CLI, and moto's other services on the same endpoint."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest

from spd.emulator.testing import EmulatorProcess

ROLE = "arn:aws:iam::123456789012:role/SpdRekognition"


@pytest.fixture
def endpoint(target: Any) -> EmulatorProcess:
    """Raw, unsigned HTTP only makes sense against the emulator."""
    if target.emu is None:
        pytest.skip("talks raw HTTP to the emulator")
    return target.emu


def _raw(url: str, operation: str, body: Any, region: str = "us-east-1") -> tuple[int, dict[str, str], Any]:
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    request = urllib.request.Request(
        url + "/",
        data=data,
        method="POST",
        headers={
            "Content-Type": "application/x-amz-json-1.1",
            "X-Amz-Target": f"RekognitionService.{operation}",
            "Authorization": (
                f"AWS4-HMAC-SHA256 Credential=testing/20240101/{region}/rekognition/aws4_request, "
                "SignedHeaders=host;x-amz-date, Signature=0"
            ),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


FACE_REQUEST = {
    "Name": "raw",
    "Input": {"KinesisVideoStream": {"Arn": "arn:aws:kinesisvideo:us-east-1:123456789012:stream/raw/1"}},
    "Output": {"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/raw"}},
    "RoleArn": ROLE,
    "Settings": {"FaceSearch": {"CollectionId": "staff", "FaceMatchThreshold": 85}},
}


def test_success_shapes(endpoint: EmulatorProcess) -> None:
    before = time.time()
    status, headers, body = _raw(endpoint.url, "CreateStreamProcessor", FACE_REQUEST)
    assert status == 200
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert uuid.UUID(headers["x-amzn-RequestId"])
    assert body == {"StreamProcessorArn": "arn:aws:rekognition:us-east-1:123456789012:streamprocessor/raw"}

    status, _, described = _raw(endpoint.url, "DescribeStreamProcessor", {"Name": "raw"})
    assert status == 200
    created = described["CreationTimestamp"]
    assert isinstance(created, float)
    assert before - 1 <= created <= time.time() + 1
    assert round(created, 3) == created
    assert described["Settings"] == {"FaceSearch": {"CollectionId": "staff", "FaceMatchThreshold": 85.0}}

    status, _, started = _raw(endpoint.url, "StartStreamProcessor", {"Name": "raw"})
    assert status == 200
    assert set(started) == {"SessionId"}
    for operation, request in [
        ("TagResource", {"ResourceArn": body["StreamProcessorArn"], "Tags": {"a": "b"}}),
        ("UntagResource", {"ResourceArn": body["StreamProcessorArn"], "TagKeys": ["a"]}),
    ]:
        assert _raw(endpoint.url, operation, request)[::2] == (200, {})


def test_error_shape(endpoint: EmulatorProcess) -> None:
    status, headers, body = _raw(endpoint.url, "DescribeStreamProcessor", {"Name": "nobody"})
    assert status == 400
    assert headers["Content-Type"] == "application/x-amz-json-1.1"
    assert uuid.UUID(headers["x-amzn-RequestId"])
    assert set(body) == {"__type", "Code", "Message", "Logref"}
    assert body["__type"] == body["Code"] == "ResourceNotFoundException"
    assert uuid.UUID(body["Logref"])


@pytest.mark.parametrize(
    ("error", "status"),
    [
        ("ThrottlingException", 500),
        ("InternalServerError", 500),
        ("ProvisionedThroughputExceededException", 400),
        ("AccessDeniedException", 400),
        ("LimitExceededException", 400),
        ("ServiceQuotaExceededException", 400),
    ],
)
def test_error_statuses(endpoint: EmulatorProcess, error: str, status: int) -> None:
    endpoint.fault("ListStreamProcessors", error, count=1)
    got, _, body = _raw(endpoint.url, "ListStreamProcessors", {})
    assert (got, body["__type"]) == (status, error)


def test_malformed_json(endpoint: EmulatorProcess) -> None:
    status, _, body = _raw(endpoint.url, "DescribeStreamProcessor", b"{nope")
    assert (status, body["__type"]) == (400, "SerializationException")


def test_unknown_operation(endpoint: EmulatorProcess) -> None:
    status, _, body = _raw(endpoint.url, "TeleportStreamProcessor", {})
    assert (status, body["__type"]) == (400, "UnknownOperationException")


def test_wrong_member_types_are_invalid_parameters(endpoint: EmulatorProcess) -> None:
    status, _, body = _raw(endpoint.url, "DescribeStreamProcessor", {"Name": 42})
    assert (status, body["__type"]) == (400, "InvalidParameterException")
    status, _, body = _raw(endpoint.url, "ListStreamProcessors", {"MaxResults": 0})
    assert (status, body["__type"]) == (400, "InvalidParameterException")


def test_region_comes_from_the_signature(endpoint: EmulatorProcess) -> None:
    status, _, body = _raw(endpoint.url, "CreateStreamProcessor", FACE_REQUEST, region="ap-southeast-2")
    assert status == 200
    assert body["StreamProcessorArn"].startswith("arn:aws:rekognition:ap-southeast-2:123456789012:")
    assert _raw(endpoint.url, "DescribeStreamProcessor", {"Name": "raw"}, region="us-east-1")[0] == 400
    assert endpoint.client("ap-southeast-2").describe_stream_processor(Name="raw")["Status"] == "STOPPED"


def test_moto_image_operations_still_work(endpoint: EmulatorProcess) -> None:
    labels = endpoint.client().detect_labels(Image={"Bytes": b"not really an image"})["Labels"]
    assert labels


@pytest.mark.parametrize(
    "service",
    ["kinesis", "kinesisvideo", "s3", "sns", "iam", "sts", "dynamodb"],
)
def test_moto_services_on_the_same_endpoint(endpoint: EmulatorProcess, service: str) -> None:
    client = endpoint.client(service=service)
    name = f"spd-{uuid.uuid4().hex[:8]}"
    if service == "kinesis":
        client.create_stream(StreamName=name, ShardCount=1)
        assert name in client.list_streams()["StreamNames"]
    elif service == "kinesisvideo":
        arn = client.create_stream(StreamName=name)["StreamARN"]
        assert arn.startswith("arn:aws:kinesisvideo:us-east-1:")
    elif service == "s3":
        client.create_bucket(Bucket=name)
        assert name in [b["Name"] for b in client.list_buckets()["Buckets"]]
    elif service == "sns":
        assert client.create_topic(Name=name)["TopicArn"].endswith(f":{name}")
    elif service == "iam":
        client.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
        assert client.get_role(RoleName=name)["Role"]["RoleName"] == name
    elif service == "sts":
        assert client.get_caller_identity()["Account"] == "123456789012"
    elif service == "dynamodb":
        client.create_table(
            TableName=name,
            KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        assert name in client.list_tables()["TableNames"]


def _aws_cli() -> str | None:
    beside = Path(sys.executable).with_name("aws")
    return str(beside) if beside.exists() else shutil.which("aws")


@pytest.mark.skipif(_aws_cli() is None, reason="the aws CLI is not installed")
def test_aws_cli(target: Any, tmp_path: Path) -> None:
    aws = _aws_cli()
    assert aws is not None
    base = [aws, "--output", "json", "--region", target.region]
    if target.emu is not None:
        base += ["--endpoint-url", target.emu.url]
    name = target.name("cli-cam")
    request = target.face_search_request("cli-cam")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, "rekognition", *args], capture_output=True, text=True, timeout=60)

    created = run(
        "create-stream-processor",
        "--name",
        name,
        "--input",
        json.dumps(request["Input"]),
        "--stream-processor-output",
        json.dumps(request["Output"]),
        "--role-arn",
        request["RoleArn"],
        "--settings",
        json.dumps(request["Settings"]),
    )
    assert created.returncode == 0, created.stderr
    target.created.append(name)
    assert json.loads(created.stdout)["StreamProcessorArn"].endswith(f"streamprocessor/{name}")

    described = run("describe-stream-processor", "--name", name)
    assert described.returncode == 0, described.stderr
    assert json.loads(described.stdout)["Status"] == "STOPPED"

    missing = run("describe-stream-processor", "--name", target.name("nobody"))
    assert missing.returncode != 0
    assert "ResourceNotFoundException" in missing.stderr
