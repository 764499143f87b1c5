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


SERVICE_ACTIONS_ANYWHERE = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": [
                "kinesisvideo:GetDataEndpoint",
                "kinesisvideo:GetMedia",
                "kinesis:PutRecord",
                "kinesis:PutRecords",
                "s3:PutObject",
                "sns:Publish",
                "kms:Decrypt",
                "kms:GenerateDataKey",
            ],
            "Resource": "*",
        }
    ],
}
"""What a processor's role needs (`spd iam-policy --for service-role`), on any resource: for the tests
whose point is elsewhere, so that the preflight's role-permission check passes."""


def create_role(
    emu: Any,
    name: str,
    trust: dict[str, Any],
    *,
    permissions: dict[str, Any] | None = SERVICE_ACTIONS_ANYWHERE,
) -> str:
    """A role with this trust policy and, unless None, this inline permissions policy; returns its ARN."""
    iam = emu.client(service="iam")
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    if permissions is not None:
        iam.put_role_policy(RoleName=name, PolicyName="service", PolicyDocument=json.dumps(permissions))
    return arn


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
