"""A fault narrowed to one processor (`processor` in `POST /_emulator/faults`) hits only that one."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from spd.emulator.testing import EmulatorControlError


def _create(client, name):
    client.create_stream_processor(
        Name=name,
        Input={"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:us-east-1:111122223333:stream/{name}/1"}},
        Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:us-east-1:111122223333:stream/{name}"}},
        Settings={"FaceSearch": {"CollectionId": "c"}},
        RoleArn="arn:aws:iam::111122223333:role/R",
    )


def test_fault_filtered_by_processor_name_and_by_resource_arn(emu):
    client = emu.client()
    for name in ("one", "two"):
        _create(client, name)
    arns = {n: client.describe_stream_processor(Name=n)["StreamProcessorArn"] for n in ("one", "two")}
    emu.fault("*", "AccessDeniedException", rate=1.0, processor="two")
    assert client.describe_stream_processor(Name="one")["Name"] == "one"
    assert "Tags" in client.list_tags_for_resource(ResourceArn=arns["one"])
    with pytest.raises(ClientError, match="AccessDenied"):
        client.describe_stream_processor(Name="two")
    with pytest.raises(ClientError, match="AccessDenied"):
        client.list_tags_for_resource(ResourceArn=arns["two"])
    # A call about no processor at all is not hit either.
    assert {p["Name"] for p in client.list_stream_processors()["StreamProcessors"]} == {"one", "two"}
    assert emu.stats()["injected"] == {"DescribeStreamProcessor": 1, "ListTagsForResource": 1}


@pytest.mark.parametrize("bad", ["", 3, ["two"]])
def test_processor_filter_must_be_a_name(emu, bad):
    with pytest.raises(EmulatorControlError) as info:
        emu.control("POST", "faults", {"operation": "*", "count": 1, "processor": bad})
    assert info.value.status == 400
    assert "processor" in str(info.value.body)
