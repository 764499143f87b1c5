"""The AWS CLI (`aws`, the `awscli` package) drives every stream-processor and collection operation
against `spd emulator`: responses are what the CLI prints for AWS, errors the codes and exit status it
gives for AWS's (`An error occurred (Code) when calling the Operation operation`, exit 255 from AWS CLI
version 1, the `awscli` package; version 2 exits 254)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from spd.emulator.testing import EmulatorProcess

ACCOUNT = "123456789012"
REGION = "us-east-1"
SERVICE_ERROR_EXIT = (254, 255)
"""The AWS CLI's exit status when the service answered with an error: 255 (version 1), 254 (version 2)."""


def _aws_command() -> str:
    beside = Path(sys.executable).parent / "aws"
    found = str(beside) if beside.exists() else shutil.which("aws")
    if found is None:
        pytest.fail("the AWS CLI is a test dependency (awscli): pip install -e '.[test]'", pytrace=False)
    return found


class Aws:
    """`aws rekognition ...` against one emulator, with dummy credentials and no retries."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.command = _aws_command()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        self.env.update(
            {
                "AWS_ACCESS_KEY_ID": "testing",
                "AWS_SECRET_ACCESS_KEY": "testing",
                "AWS_DEFAULT_REGION": REGION,
                "AWS_MAX_ATTEMPTS": "1",
                "AWS_CONFIG_FILE": os.devnull,
                "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
                "AWS_PAGER": "",
            }
        )

    def _run(self, operation: str, body: dict[str, Any]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [
                self.command,
                "rekognition",
                operation,
                "--endpoint-url",
                self.url,
                "--output",
                "json",
                "--cli-input-json",
                json.dumps(body),
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def __call__(self, operation: str, **body: Any) -> dict[str, Any]:
        result = self._run(operation, body)
        assert result.returncode == 0, result.stderr
        out: dict[str, Any] = json.loads(result.stdout) if result.stdout.strip() else {}
        return out

    def error(self, operation: str, **body: Any) -> str:
        """The error code the CLI reports for a call that must fail with a service error."""
        return _service_error(self._run(operation, body))

    def error_or_none(self, operation: str, **body: Any) -> str | None:
        """The error code of a call, or None if it succeeded (one call: the CLI's answer to it)."""
        result = self._run(operation, body)
        if result.returncode == 0:
            return None
        return _service_error(result)

    def wait_for(self, name: str, *statuses: str) -> dict[str, Any]:
        deadline = time.monotonic() + 60
        while True:
            described = self("describe-stream-processor", Name=name)
            if described["Status"] in statuses:
                return described
            assert time.monotonic() < deadline, f"{name} stayed {described['Status']}"
            time.sleep(0.05)


def _service_error(result: subprocess.CompletedProcess[str]) -> str:
    """The error code of a CLI call that failed with a service error (its exit status and message)."""
    assert result.returncode in SERVICE_ERROR_EXIT, (result.returncode, result.stdout, result.stderr)
    match = re.search(r"An error occurred \((\w+)\) when calling the (\w+) operation", result.stderr)
    assert match is not None, result.stderr
    return match[1]


def _face_search(name: str, role: str = "CliRekognition") -> dict[str, Any]:
    return {
        "Name": name,
        "Input": {"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:stream/{name}/1"}},
        "Output": {"KinesisDataStream": {"Arn": f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}-out"}},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/{role}",
        "Settings": {"FaceSearch": {"CollectionId": "cli-staff"}},
        "Tags": {"team": "cli"},
    }


def _connected_home(name: str) -> dict[str, Any]:
    return {
        "Name": name,
        "Input": {"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:{REGION}:{ACCOUNT}:stream/{name}/1"}},
        "Output": {"S3Destination": {"Bucket": "cli-results", "KeyPrefix": f"{name}/"}},
        "NotificationChannel": {"SNSTopicArn": f"arn:aws:sns:{REGION}:{ACCOUNT}:cli-events"},
        "RoleArn": f"arn:aws:iam::{ACCOUNT}:role/CliRekognition",
        "Settings": {"ConnectedHome": {"Labels": ["PERSON"]}},
    }


@pytest.fixture
def aws(spd_command_emulator: EmulatorProcess) -> Aws:
    return Aws(spd_command_emulator.url)


def test_collections(aws: Aws) -> None:
    created = aws("create-collection", CollectionId="cli-faces", Tags={"owner": "cli"})
    assert created["StatusCode"] == 200
    assert aws("describe-collection", CollectionId="cli-faces")["FaceCount"] == 0
    assert aws("list-collections")["CollectionIds"] == ["cli-faces"]
    arn = f"arn:aws:rekognition:{REGION}:{ACCOUNT}:collection/cli-faces"
    assert aws("list-tags-for-resource", ResourceArn=arn)["Tags"] == {"owner": "cli"}
    aws("tag-resource", ResourceArn=arn, Tags={"stage": "test"})
    aws("untag-resource", ResourceArn=arn, TagKeys=["owner"])
    assert aws("list-tags-for-resource", ResourceArn=arn)["Tags"] == {"stage": "test"}
    assert aws.error("create-collection", CollectionId="cli-faces") == "ResourceAlreadyExistsException"
    aws("delete-collection", CollectionId="cli-faces")
    assert aws.error("describe-collection", CollectionId="cli-faces") == "ResourceNotFoundException"


def test_face_search_lifecycle(aws: Aws, spd_command_emulator: EmulatorProcess) -> None:
    request = _face_search("cli-lobby")
    spd_command_emulator.create_references(request)
    arn = aws("create-stream-processor", **request)["StreamProcessorArn"]
    assert arn == f"arn:aws:rekognition:{REGION}:{ACCOUNT}:streamprocessor/cli-lobby"
    assert aws("list-stream-processors")["StreamProcessors"] == [{"Name": "cli-lobby", "Status": "STOPPED"}]
    aws("start-stream-processor", Name="cli-lobby")
    assert aws.error("start-stream-processor", Name="cli-lobby") == "ResourceInUseException"
    assert aws.wait_for("cli-lobby", "RUNNING", "FAILED")["Status"] == "RUNNING"
    aws("stop-stream-processor", Name="cli-lobby")
    aws.wait_for("cli-lobby", "STOPPED")
    aws("update-stream-processor", Name="cli-lobby", DataSharingPreferenceForUpdate={"OptIn": True})
    assert aws.wait_for("cli-lobby", "STOPPED")["DataSharingPreference"] == {"OptIn": True}
    aws("tag-resource", ResourceArn=arn, Tags={"stage": "test"})
    aws("untag-resource", ResourceArn=arn, TagKeys=["team"])
    assert aws("list-tags-for-resource", ResourceArn=arn)["Tags"] == {"stage": "test"}
    assert aws.error("tag-resource", ResourceArn=arn, Tags={"AWS:x": "v"}) == "InvalidParameterException"
    aws("delete-stream-processor", Name="cli-lobby")
    deadline = time.monotonic() + 60
    while aws.error_or_none("describe-stream-processor", Name="cli-lobby") != "ResourceNotFoundException":
        assert time.monotonic() < deadline, "cli-lobby was not deleted"


def test_connected_home_session_and_update(aws: Aws, spd_command_emulator: EmulatorProcess) -> None:
    request = _connected_home("cli-porch")
    spd_command_emulator.create_references(request)
    aws("create-stream-processor", **request)
    aws(
        "update-stream-processor",
        Name="cli-porch",
        SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PERSON", "PET"]}},
    )
    assert aws.wait_for("cli-porch", "STOPPED")["Settings"]["ConnectedHome"]["Labels"] == ["PERSON", "PET"]
    started = aws(
        "start-stream-processor",
        Name="cli-porch",
        StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1_700_000_000_000}},
        StopSelector={"MaxDurationInSeconds": 1},
    )
    assert re.fullmatch(r"[0-9a-f-]{36}", started["SessionId"])
    aws("delete-stream-processor", Name="cli-porch")  # in STARTING: allowed


def test_a_missing_role_fails_the_start(aws: Aws, spd_command_emulator: EmulatorProcess) -> None:
    spd_command_emulator.create_references(_face_search("cli-orphan"))
    aws("create-stream-processor", **_face_search("cli-orphan", role="CliNoSuchRole"))
    aws("start-stream-processor", Name="cli-orphan")
    described = aws.wait_for("cli-orphan", "FAILED", "RUNNING")
    assert (described["Status"], described["StatusMessage"]) == ("FAILED", "Access denied to Role")


def test_errors(aws: Aws) -> None:
    assert aws.error("describe-stream-processor", Name="nobody") == "ResourceNotFoundException"
    assert aws.error("stop-stream-processor", Name="nobody") == "ResourceNotFoundException"
    assert aws.error("delete-stream-processor", Name="nobody") == "ResourceNotFoundException"
    assert aws.error("list-stream-processors", NextToken="forged") == "InvalidPaginationTokenException"
    bad = {**_face_search("cli-bad"), "Settings": {"FaceSearch": {"CollectionId": "bad id!"}}}
    assert aws.error("create-stream-processor", **bad) == "InvalidParameterException"
    aws("create-stream-processor", **_face_search("cli-twice"))
    assert aws.error("create-stream-processor", **_face_search("cli-twice")) == "ResourceInUseException"
