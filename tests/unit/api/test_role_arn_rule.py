"""One rule for an IAM role ARN (`spd.api.constraints.ROLE_ARN_SHAPE`, from Rekognition's model): a
processor's `role_arn` and a target's role (chain) accept and refuse exactly the same values, and the
account a target's role names is read by the same rule."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

from spd.spec import schema
from spd.spec.targets import check_targets, declared_target

ACCOUNT = "111122223333"
CANDIDATES = [
    f"arn:aws:iam::{ACCOUNT}:role/spd",
    f"arn:aws:iam::{ACCOUNT}:role/path/to/role+x=y,z@q",
    f"arn:aws-cn:iam::{ACCOUNT}:role/r",
    f"arn:aws-us-gov:iam::{ACCOUNT}:role/r",
    f"arn:aws:iam::{ACCOUNT}:user/someone",
    "arn:aws:iam::12345678901:role/short-account",
    "arn:aws:iam::\u0661\u0662\u0663\u0664\u0665\u0666\u0667\u0668\u0669\u0660\u0661\u0662:role/r",
    f"arn:aws:iam::{ACCOUNT}:role/r\n",
    f"arn:aws:iam::{ACCOUNT}:role/sp\u00e9cial",
    f"arn:aws:sts::{ACCOUNT}:assumed-role/r/s",
]


def _processor_accepts(arn: str) -> bool:
    try:
        TypeAdapter(schema.RoleArn).validate_python(arn)
    except ValidationError:
        return False
    return True


def _target_accepts(arn: str) -> bool:
    return not check_targets({"prod": {"account_id": ACCOUNT, "role_arn": arn, "regions": ["us-east-1"]}})


@pytest.mark.parametrize("arn", CANDIDATES)
def test_a_processor_role_and_a_target_role_follow_one_rule(arn: str) -> None:
    from spd.api.constraints import role_arn_account

    assert _processor_accepts(arn) == _target_accepts(arn)
    assert _processor_accepts(arn) == (role_arn_account(arn) is not None)


def test_the_rule_is_the_models_and_only_the_aws_partition() -> None:
    from spd.api.constraints import ROLE_ARN_PATTERN, ROLE_ARN_SHAPE

    assert ROLE_ARN_SHAPE.pattern is not None
    assert ROLE_ARN_SHAPE.pattern.startswith("arn:aws:iam::")
    assert schema.ROLE_ARN_PATTERN == ROLE_ARN_PATTERN
    assert _target_accepts(f"arn:aws:iam::{ACCOUNT}:role/spd")
    assert not _target_accepts(f"arn:aws-cn:iam::{ACCOUNT}:role/spd")
    assert not _processor_accepts(f"arn:aws-cn:iam::{ACCOUNT}:role/spd")


def test_a_targets_account_is_read_from_its_last_role_by_the_rule() -> None:
    chain = ["arn:aws:iam::999999999999:role/hub", f"arn:aws:iam::{ACCOUNT}:role/spd"]
    assert declared_target("prod", {"role_arn": chain}).account_id == ACCOUNT
    assert declared_target("prod", {"role_arn": f"arn:aws-cn:iam::{ACCOUNT}:role/spd"}).account_id is None
