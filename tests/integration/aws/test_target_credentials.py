"""A target's credentials through the emulator's real STS: assumed once and cached, refreshed before
they expire (so a long-running daemon never signs with expired keys), and, through a role chain, each
hop from the one before."""

from __future__ import annotations

from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from spd.aws import credentials
from spd.emulator.testing import EmulatorProcess
from spd.model import Target
from targets_support import assumed, make_role

ACCOUNT = "444455556666"
HUB = "777788889999"


def target_session(url: str, *roles: str) -> tuple[Any, list[str]]:
    """The session of a target reached through `roles`, and the RoleArn of every AssumeRole call made
    for it, in order (seen by a botocore event handler on the session it is built from)."""
    base = get_session()
    calls: list[str] = []

    def seen(params: dict[str, Any], **_: Any) -> None:
        calls.append(params["body"]["RoleArn"])

    base.register("before-call.sts.AssumeRole", seen)
    target = Target("home", ("us-east-1",), ACCOUNT, roles)
    return credentials.target_session(
        target, stack="s", endpoint_url=url, config=AioConfig(), base=base
    ), calls


async def keys_and_names(session: Any, url: str) -> tuple[str, list[str]]:
    """The access key the session signs with now, and the processors its Rekognition client lists."""
    async with session.create_client("rekognition", region_name="us-east-1", endpoint_url=url) as client:
        listed = await client.list_stream_processors()
        frozen = await client._request_signer._credentials.get_frozen_credentials()
    return frozen.access_key, [p["Name"] for p in listed["StreamProcessors"]]


async def test_assumed_once_and_cached(emu: EmulatorProcess) -> None:
    role = make_role(emu.url, ACCOUNT)
    assumed(emu.url, role, "rekognition").create_stream_processor(
        Name="porch",
        Input={"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:{ACCOUNT}:stream/porch/1"}},
        Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:{ACCOUNT}:stream/porch"}},
        Settings={"FaceSearch": {"CollectionId": "staff"}},
        RoleArn=f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
    )
    session, calls = target_session(emu.url, role)

    first, names = await keys_and_names(session, emu.url)
    again, _ = await keys_and_names(session, emu.url)
    assert names == ["porch"]  # the role's account, not the ambient one
    assert (again, calls) == (first, [role])


async def test_keys_close_to_expiry_are_refreshed_before_use(emu: EmulatorProcess) -> None:
    """Five-minute credentials are inside botocore's refresh windows (the last 15 minutes) from the start:
    every use assumes the role again, and every call is signed with fresh keys, never expired ones."""
    emu.configure(assume_role_seconds=300)
    role = make_role(emu.url, ACCOUNT)
    session, calls = target_session(emu.url, role)
    first, _ = await keys_and_names(session, emu.url)
    assumed_first = len(calls)
    second, _ = await keys_and_names(session, emu.url)
    assert first != second
    assert len(calls) > assumed_first >= 1
    assert set(calls) == {role}


async def test_a_role_chain_assumes_each_hop_with_the_one_before(emu: EmulatorProcess) -> None:
    hub, inner = make_role(emu.url, HUB), make_role(emu.url, ACCOUNT)
    session, calls = target_session(emu.url, hub, inner)
    await keys_and_names(session, emu.url)
    await keys_and_names(session, emu.url)
    assert calls == [hub, inner]
    assert await credentials.check(session) is None
