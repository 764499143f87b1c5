"""The `--local` sandbox's resources, through the APIs the preflight uses: created under the spec's
identifiers, re-created when the state file is opened again, never re-created once deleted by hand."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto.core.base_backend import BackendDict

from spd.emulator.embedded import embedded_emulator

OTHER = "111122223333"
KEY_ID = "1234abcd-12ab-34cd-56ef-1234567890ab"
REFERENCES = [
    ("video_stream", "us-east-1", f"arn:aws:kinesisvideo:us-east-1:{OTHER}:stream/cam/1700000000000"),
    ("data_stream", "us-east-1", f"arn:aws:kinesis:us-east-1:{OTHER}:stream/cam-out"),
    ("collection", "us-east-1", "staff"),
    ("role", "us-east-1", f"arn:aws:iam::{OTHER}:role/service/SpdRekognition"),
    ("topic", "eu-west-1", f"arn:aws:sns:eu-west-1:{OTHER}:AmazonRekognitionEvents"),
    ("bucket", "us-east-1", "sandbox-results"),
    ("key", "us-east-1", f"arn:aws:kms:us-east-1:{OTHER}:key/{KEY_ID}"),
    ("key", "us-east-1", "alias/spd-results"),
]


def _client(url: str, service: str, region: str = "us-east-1") -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="spd-local",
        aws_secret_access_key="spd-local",
    )


def _look_up_all(url: str) -> None:
    """The preflight's look-ups (spd.aws.references), each by the spec's identifier."""
    video = _client(url, "kinesisvideo").describe_stream(StreamARN=REFERENCES[0][2])
    assert video["StreamInfo"]["Status"] == "ACTIVE"
    _client(url, "kinesis").describe_stream_summary(StreamARN=REFERENCES[1][2])
    _client(url, "rekognition").describe_collection(CollectionId="staff")
    role = _client(url, "iam").get_role(RoleName="SpdRekognition")["Role"]
    assert role["Arn"] == REFERENCES[3][2]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    assert trust["Statement"][0]["Principal"] == {"Service": "rekognition.amazonaws.com"}
    _client(url, "sns", "eu-west-1").get_topic_attributes(TopicArn=REFERENCES[4][2])
    _client(url, "s3").head_bucket(Bucket="sandbox-results")
    kms = _client(url, "kms")
    assert kms.describe_key(KeyId=REFERENCES[6][2])["KeyMetadata"]["KeyState"] == "Enabled"
    assert kms.describe_key(KeyId="alias/spd-results")["KeyMetadata"]["Enabled"]


@pytest.fixture(autouse=True)
def new_process() -> None:
    """moto keeps its services' data in process memory: forget it, as a new process would start."""
    BackendDict.reset()


def _present(state: Path) -> dict[str, bool]:
    with closing(sqlite3.connect(state)) as conn:
        rows = conn.execute("SELECT kind, identifier, present FROM sandbox_references").fetchall()
    return {identifier: bool(present) for _, identifier, present in rows}


def test_provided_once_found_by_the_spec_identifiers_and_kept_across_processes(tmp_path):
    state = tmp_path / "sandbox.db"
    with embedded_emulator(state, REFERENCES) as url:
        _look_up_all(url)
    assert _present(state) == {identifier: True for _, _, identifier in REFERENCES}
    # A new process (here: moto forgotten, a new emulator on the same file) holds them again, untold.
    BackendDict.reset()
    with embedded_emulator(state) as url:
        _look_up_all(url)


def test_deleted_by_hand_is_recorded_and_never_created_again(tmp_path):
    state = tmp_path / "sandbox.db"
    with embedded_emulator(state, REFERENCES) as url:
        _client(url, "sns", "eu-west-1").delete_topic(TopicArn=REFERENCES[4][2])
        _client(url, "rekognition").delete_collection(CollectionId="staff")
        # A delete is noticed whatever the protocol: query (SNS above) or JSON (Kinesis).
        _client(url, "kinesis").delete_stream(StreamARN=REFERENCES[1][2])
    assert _present(state)[REFERENCES[4][2]] is False
    assert _present(state)[REFERENCES[1][2]] is False
    BackendDict.reset()
    with embedded_emulator(state, REFERENCES) as url:
        with pytest.raises(ClientError):
            _client(url, "sns", "eu-west-1").get_topic_attributes(TopicArn=REFERENCES[4][2])
        with pytest.raises(ClientError):
            _client(url, "rekognition").describe_collection(CollectionId="staff")
        _client(url, "kinesisvideo").describe_stream(StreamARN=REFERENCES[0][2])
