"""Accounts in the emulator for target tests: roles created in an account's IAM, clients of a role.

moto's IAM on the emulator's endpoint takes the account from the `x-moto-account-id` header, so a test
can create a role in any account; credentials from AssumeRole map to the role's account (moto's
convention), so a client built from them reads and writes that account's processors.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3

HUB_ACCOUNT = "123456789012"
"""The account the ambient test credentials belong to (moto's default)."""


def _client(url: str, service: str, region: str = "us-east-1", **credentials: Any) -> Any:
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id=credentials.get("aws_access_key_id", "testing"),
        aws_secret_access_key=credentials.get("aws_secret_access_key", "testing"),
        aws_session_token=credentials.get("aws_session_token"),
    )


def iam_in(url: str, account: str) -> Any:
    """An IAM client that acts in `account`."""
    client = _client(url, "iam")

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign.iam.*", add_header)
    return client


def make_role(url: str, account: str, *, external_id: str | None = None, name: str | None = None) -> str:
    """A role in `account` that the hub account may assume (with `external_id` when given); its ARN."""
    statement: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{HUB_ACCOUNT}:root"},
        "Action": "sts:AssumeRole",
    }
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    role = iam_in(url, account).create_role(
        RoleName=name or f"spd-manager-{uuid.uuid4().hex[:8]}",
        AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [statement]}),
    )
    return str(role["Role"]["Arn"])


def assumed(
    url: str, role_arn: str, service: str, region: str = "us-east-1", external_id: str | None = None
) -> Any:
    """A client of `service` with the credentials of `role_arn`, assumed from the hub account."""
    kwargs: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": "test-check"}
    if external_id is not None:
        kwargs["ExternalId"] = external_id
    credentials = _client(url, "sts").assume_role(**kwargs)["Credentials"]
    return _client(
        url,
        service,
        region,
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )
