"""Trust-policy reading: may Rekognition assume the role for this processor?"""

from __future__ import annotations

import json
import urllib.parse

import pytest

from spd.checks.preflight import parse_policy, trust_problem

ACCOUNT = "111122223333"
ARN = f"arn:aws:rekognition:us-east-1:{ACCOUNT}:streamprocessor/lobby"


def _policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _allow(principal=None, action="sts:AssumeRole", condition=None, effect="Allow") -> dict:
    statement = {
        "Effect": effect,
        "Principal": principal if principal is not None else {"Service": "rekognition.amazonaws.com"},
        "Action": action,
    }
    if condition is not None:
        statement["Condition"] = condition
    return statement


def _problem(document) -> str | None:
    return trust_problem(document, account=ACCOUNT, processor_arn=ARN)


@pytest.mark.parametrize(
    "statement",
    [
        _allow(),
        _allow(principal={"Service": ["ec2.amazonaws.com", "rekognition.amazonaws.com"]}),
        _allow(action=["sts:TagSession", "sts:AssumeRole"]),
        _allow(action="sts:*"),
        _allow(action="*"),
        _allow(principal="*"),
        _allow(condition={"StringEquals": {"aws:SourceAccount": ACCOUNT}}),
        _allow(condition={"StringEquals": {"aws:SourceAccount": [ACCOUNT, "444455556666"]}}),
        _allow(
            condition={"ArnLike": {"aws:SourceArn": f"arn:aws:rekognition:*:{ACCOUNT}:streamprocessor/*"}}
        ),
        _allow(condition={"ArnEquals": {"aws:SourceArn": ARN}}),
        _allow(condition={"StringLike": {"aws:SourceArn": "arn:aws:rekognition:us-east-1:*"}}),
        _allow(condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
    ],
)
def test_trust_that_lets_rekognition_assume_the_role(statement):
    assert _problem(_policy(statement)) is None
    assert _problem(json.dumps(_policy(statement))) is None


def test_statement_alone_not_in_a_list():
    assert _problem({"Version": "2012-10-17", "Statement": _allow()}) is None


def test_url_encoded_document_as_iam_returns_it():
    encoded = urllib.parse.quote(json.dumps(_policy(_allow())))
    assert parse_policy(encoded) == _policy(_allow())
    assert _problem(encoded) is None


@pytest.mark.parametrize(
    ("document", "why"),
    [
        (_policy(_allow(principal={"Service": "ec2.amazonaws.com"})), "no statement allowing"),
        (_policy(_allow(action="sts:AssumeRoleWithWebIdentity")), "no statement allowing"),
        (_policy(_allow(effect="Deny")), "denies"),
        (_policy(_allow(), _allow(effect="Deny")), "denies"),
        (_policy(_allow(condition={"StringEquals": {"aws:SourceAccount": "444455556666"}})), "444455556666"),
        (
            _policy(
                _allow(condition={"ArnLike": {"aws:SourceArn": f"arn:aws:rekognition:eu-west-1:{ACCOUNT}:*"}})
            ),
            "does not hold",
        ),
        (_policy(_allow(condition={"StringNotEquals": {"aws:SourceAccount": ACCOUNT}})), "does not hold"),
        ("not json %%%", "not a JSON policy document"),
    ],
)
def test_trust_that_does_not(document, why):
    problem = _problem(document)
    assert problem is not None
    assert why in problem
