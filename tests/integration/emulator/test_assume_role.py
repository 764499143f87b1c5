"""STS AssumeRole through the emulator: refused as AWS refuses it, and its credentials land in the role's
account; the control API reads processors and statistics per account. Over real HTTP through boto3."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from emulator_only import emulator_only
from spd.emulator.testing import EmulatorControlError, EmulatorProcess
from targets_support import _client, assumed, make_role

pytestmark = emulator_only("the emulator's STS refusals and per-account control API")

ACCOUNT = "210987654321"


def test_assumed_credentials_act_in_the_roles_account(emu: EmulatorProcess) -> None:
    role = make_role(emu.url, ACCOUNT)
    identity = assumed(emu.url, role, "sts").get_caller_identity()
    assert identity["Account"] == ACCOUNT
    rekognition = assumed(emu.url, role, "rekognition")
    rekognition.list_stream_processors()
    assert emu.stats(ACCOUNT)["calls"] == {"ListStreamProcessors": 1}
    assert emu.stats("111122220000")["calls"] == {}


def test_a_role_that_does_not_exist_cannot_be_assumed(emu: EmulatorProcess) -> None:
    sts = _client(emu.url, "sts")
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn="arn:aws:iam::333344445555:role/nobody", RoleSessionName="spd-x")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert "no such role in account 333344445555" in caught.value.response["Error"]["Message"]


def test_the_trust_policys_external_id_is_required(emu: EmulatorProcess) -> None:
    role = make_role(emu.url, ACCOUNT, external_id="right-one")
    sts = _client(emu.url, "sts")
    for extra in ({}, {"ExternalId": "wrong-one"}):
        with pytest.raises(ClientError) as caught:
            sts.assume_role(RoleArn=role, RoleSessionName="spd-x", **extra)
        assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert assumed(emu.url, role, "sts", external_id="right-one").get_caller_identity()["Account"] == ACCOUNT


def test_processors_are_listed_per_account(emu: EmulatorProcess) -> None:
    role = make_role(emu.url, ACCOUNT)
    rekognition = assumed(emu.url, role, "rekognition")
    rekognition.create_stream_processor(
        Name="cam",
        Input={"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/cam/1"}},
        Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/out"}},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/rk",
        Settings={"FaceSearch": {"CollectionId": "staff"}},
    )
    assert [p["Name"] for p in emu.processors(ACCOUNT)] == ["cam"]
    assert emu.processors("123456789012") == []
    with pytest.raises(EmulatorControlError) as caught:
        emu.processors("12")
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "arn",
    [
        "arn:aws:sts::333344445555:assumed-role/x/y",  # not a role
        "arn:aws-cn:iam::333344445555:role/x",  # a partition spd's API does not accept
    ],
)
def test_what_is_not_a_role_arn_by_the_api_rule_cannot_be_assumed(emu: EmulatorProcess, arn: str) -> None:
    """The emulator's STS reads role ARNs by the one rule (`spd.api.constraints.ROLE_ARN_SHAPE`)."""
    sts = _client(emu.url, "sts")
    with pytest.raises(ClientError) as caught:
        sts.assume_role(RoleArn=arn, RoleSessionName="spd-x")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
