"""Contract-test fixtures: the same tests run against the emulator or, with SPD_CONTRACT_LIVE=1, AWS.

`target` is what a test talks to: a boto3 Rekognition client plus helpers that build valid requests,
wait for statuses and check errors. Against the emulator it wraps the `emu` fixture (reset, fast
timings). Live, it uses the ambient AWS credentials and region, prefixes every name with a per-run tag
and deletes what the test created; it needs `SPD_LIVE_ROLE_ARN` (an IAM role Rekognition can assume),
and tests that must reach RUNNING also need `SPD_LIVE_KVS_ARN`, `SPD_LIVE_KDS_ARN` and
`SPD_LIVE_COLLECTION_ID`. `control` is the emulator's control API; tests that take it are skipped live.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from spd.emulator.testing import EmulatorControlError, EmulatorProcess

LIVE = os.environ.get("SPD_CONTRACT_LIVE") == "1"
CONTROL_SKIP = "needs the emulator control API"
ACCOUNT = "123456789012"


@dataclass
class Target:
    """The service under test and the helpers contract tests share."""

    client: Any
    region: str
    account: str
    live: bool
    emu: EmulatorProcess | None
    prefix: str = ""
    role_arn: str = f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition"
    timeout: float = 10.0
    poll: float = 0.01
    created: list[str] = field(default_factory=list)
    real_streams: bool = False
    """Live runs only: use the SPD_LIVE_* stream and collection (set by the `running_resources` fixture)."""

    # -- names and ARNs ------------------------------------------------------------------------------

    def name(self, base: str = "cam") -> str:
        return f"{self.prefix}{base}"

    def kvs(self, tag: str) -> str:
        return f"arn:aws:kinesisvideo:{self.region}:{self.account}:stream/{self.prefix}{tag}/1700000000000"

    def kds(self, tag: str) -> str:
        return f"arn:aws:kinesis:{self.region}:{self.account}:stream/{self.prefix}{tag}"

    def sns(self, tag: str = "topic") -> str:
        return f"arn:aws:sns:{self.region}:{self.account}:AmazonRekognition{self.prefix}{tag}"

    # -- requests ------------------------------------------------------------------------------------

    def face_search_request(self, base: str = "faces", **overrides: Any) -> dict[str, Any]:
        name = self.name(base)
        request: dict[str, Any] = {
            "Name": name,
            "Input": {"KinesisVideoStream": {"Arn": self.kvs(name)}},
            "Output": {"KinesisDataStream": {"Arn": self.kds(name)}},
            "RoleArn": self.role_arn,
            "Settings": {"FaceSearch": {"CollectionId": "staff"}},
        }
        if self.live and self.real_streams:
            request["Input"]["KinesisVideoStream"]["Arn"] = os.environ["SPD_LIVE_KVS_ARN"]
            request["Output"]["KinesisDataStream"]["Arn"] = os.environ["SPD_LIVE_KDS_ARN"]
            request["Settings"]["FaceSearch"]["CollectionId"] = os.environ["SPD_LIVE_COLLECTION_ID"]
        request.update(overrides)
        return request

    def connected_home_request(self, base: str = "porch", **overrides: Any) -> dict[str, Any]:
        name = self.name(base)
        request: dict[str, Any] = {
            "Name": name,
            "Input": {"KinesisVideoStream": {"Arn": self.kvs(name)}},
            "Output": {"S3Destination": {"Bucket": "spd-results", "KeyPrefix": "porch/"}},
            "RoleArn": self.role_arn,
            "Settings": {"ConnectedHome": {"Labels": ["PERSON", "PACKAGE"]}},
            "NotificationChannel": {"SNSTopicArn": self.sns()},
        }
        request.update(overrides)
        return request

    def create(self, request: dict[str, Any]) -> str:
        """Create the processor; against the emulator, first what it references (the role, streams,
        collection, ...), so that it runs under strict references as it would on a prepared account."""
        if self.emu is not None:
            with contextlib.suppress(EmulatorControlError):  # a malformed request is the test's point
                self.emu.create_references(request, region=self.region)
        response = self.client.create_stream_processor(**request)
        self.created.append(request["Name"])
        return str(response["StreamProcessorArn"])

    def create_face_search(self, base: str = "faces", **overrides: Any) -> str:
        request = self.face_search_request(base, **overrides)
        self.create(request)
        return str(request["Name"])

    def create_connected_home(self, base: str = "porch", **overrides: Any) -> str:
        request = self.connected_home_request(base, **overrides)
        self.create(request)
        return str(request["Name"])

    def start_connected_home(self, name: str, seconds: int = 120) -> dict[str, Any]:
        response: dict[str, Any] = self.client.start_stream_processor(
            Name=name,
            StartSelector={"KVSStreamStartSelector": {"ProducerTimestamp": 1_700_000_000_000}},
            StopSelector={"MaxDurationInSeconds": seconds},
        )
        return response

    # -- observation ---------------------------------------------------------------------------------

    def describe(self, name: str) -> dict[str, Any]:
        response: dict[str, Any] = self.client.describe_stream_processor(Name=name)
        return response

    def status(self, name: str) -> str:
        return str(self.describe(name)["Status"])

    def wait_for(self, name: str, *statuses: str) -> dict[str, Any]:
        deadline = time.monotonic() + self.timeout
        while True:
            described = self.describe(name)
            if described["Status"] in statuses:
                return described
            if time.monotonic() > deadline:
                raise AssertionError(f"{name} stayed {described['Status']}, expected one of {statuses}")
            time.sleep(self.poll)

    def wait_gone(self, name: str) -> None:
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            try:
                self.describe(name)
            except ClientError as err:
                if err.response["Error"]["Code"] == "ResourceNotFoundException":
                    return
                raise
            time.sleep(self.poll)
        raise AssertionError(f"{name} was not deleted in time")

    def eventually(self, check: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + self.timeout
        while not check():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(self.poll)

    @contextmanager
    def error(
        self, code: str, status: int = 400, message: str | None = None
    ) -> Iterator[pytest.ExceptionInfo[ClientError]]:
        """Expect the block to fail with this service error code and HTTP status."""
        with pytest.raises(ClientError) as info:
            yield info
        response = info.value.response
        assert response["Error"]["Code"] == code, response["Error"]
        assert response["ResponseMetadata"]["HTTPStatusCode"] == status
        if message is not None:
            assert message in response["Error"]["Message"], response["Error"]["Message"]

    def cleanup(self) -> None:
        """Live runs: stop and delete every processor this test created."""
        for name in self.created:
            try:
                status = self.status(name)
                if status in ("STARTING", "STOPPING", "UPDATING"):
                    status = str(self.wait_for(name, "RUNNING", "STOPPED", "FAILED")["Status"])
                if status == "RUNNING":
                    self.client.stop_stream_processor(Name=name)
                    self.wait_for(name, "STOPPED", "FAILED")
                self.client.delete_stream_processor(Name=name)
            except ClientError:
                continue


@pytest.fixture
def target(request: pytest.FixtureRequest) -> Iterator[Target]:
    if not LIVE:
        emu: EmulatorProcess = request.getfixturevalue("emu")
        yield Target(client=emu.client(), region="us-east-1", account=ACCOUNT, live=False, emu=emu)
        return
    import boto3
    from botocore.config import Config

    role_arn = os.environ.get("SPD_LIVE_ROLE_ARN")
    if not role_arn:
        pytest.skip("live contract run needs SPD_LIVE_ROLE_ARN")
    session = boto3.session.Session()
    region = session.region_name or "us-east-1"
    account = session.client("sts").get_caller_identity()["Account"]
    client = session.client(
        "rekognition", config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )
    live = Target(
        client=client,
        region=region,
        account=account,
        live=True,
        emu=None,
        prefix=f"spdct-{uuid.uuid4().hex[:8]}-",
        role_arn=role_arn,
        timeout=240.0,
        poll=2.0,
    )
    try:
        yield live
    finally:
        live.cleanup()


@pytest.fixture
def control(target: Target) -> EmulatorProcess:
    """The emulator's control API; skips the test in a live run."""
    if target.emu is None:
        pytest.skip(CONTROL_SKIP)
    return target.emu


@pytest.fixture
def running_resources(target: Target) -> None:
    """Live runs need real streams and a collection to reach RUNNING; the emulator needs nothing."""
    if target.live and not all(
        os.environ.get(v) for v in ("SPD_LIVE_KVS_ARN", "SPD_LIVE_KDS_ARN", "SPD_LIVE_COLLECTION_ID")
    ):
        pytest.skip("live run needs SPD_LIVE_KVS_ARN, SPD_LIVE_KDS_ARN and SPD_LIVE_COLLECTION_ID")
    target.real_streams = True
