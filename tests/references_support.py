"""The AWS resources a processor references, made for real in the emulator's moto services, for the
preflight tests (`spd check`, and plan/apply running the same check first)."""

from __future__ import annotations

import json
from typing import Any

EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
"""A trust policy Rekognition cannot use: the role exists, but only EC2 may assume it."""

REKOGNITION_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "rekognition.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def create_role(emu: Any, name: str, trust: dict[str, Any]) -> str:
    """A role with this trust policy; returns its ARN."""
    iam = emu.client(service="iam")
    return str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])


def create_data_stream(emu: Any, name: str) -> str:
    """A Kinesis data stream; returns its ARN."""
    kinesis = emu.client(service="kinesis")
    kinesis.create_stream(StreamName=name, ShardCount=1)
    return str(kinesis.describe_stream_summary(StreamName=name)["StreamDescriptionSummary"]["StreamARN"])


def point_at(
    spec: Any, name: str, *, role_arn: str, video_arn: str | None = None, data_arn: str | None = None
) -> None:
    """Rewrite a spec written by `spdrun.write_spec` so that processor `name` (made with `spdrun.face`)
    references these resources instead of the placeholders."""
    from spdrun import face

    placeholder = face(name)
    text = spec.read_text().replace("arn:aws:iam::111122223333:role/SpdRekognition", role_arn)
    if video_arn is not None:
        text = text.replace(placeholder["input"]["kinesis_video_stream_arn"], video_arn)
    if data_arn is not None:
        text = text.replace(placeholder["output"]["kinesis_data_stream_arn"], data_arn)
    spec.write_text(text)
