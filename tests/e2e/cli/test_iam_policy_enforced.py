"""The daemon policy under IAM enforcement: the emulator's `enforce_iam` judges every Rekognition call by
the signer's IAM policies (moto's evaluator), so `spd iam-policy --for daemon` is tried for real: a full
apply (preflight included) with only that policy succeeds, and the same credentials may not stop or
delete a processor outside the spec."""

from __future__ import annotations

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from references_support import REKOGNITION_TRUST, create_data_stream, create_role, point_at
from spdrun import face, run_spd, wait_status, write_spec


def _client(emu, key: dict[str, str]):
    return boto3.client(
        "rekognition",
        region_name="us-east-1",
        endpoint_url=emu.url,
        aws_access_key_id=key["AccessKeyId"],
        aws_secret_access_key=key["SecretAccessKey"],
        config=Config(retries={"max_attempts": 1}),
    )


def _code(call, **kwargs) -> str:
    with pytest.raises(ClientError) as info:
        call(**kwargs)
    return str(info.value.response["Error"]["Code"])


def test_daemon_policy_allows_a_full_apply_and_nothing_outside_the_spec(emu, tmp_path):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    name = f"enf-{tmp_path.name[-10:]}".replace("_", "-").lower()
    iam = emu.client(service="iam")
    role_arn = create_role(emu, f"{name}-role", REKOGNITION_TRUST)
    video = emu.client(service="kinesisvideo").create_stream(StreamName=name)["StreamARN"]
    data = create_data_stream(emu, f"{name}-out")
    emu.client().create_collection(CollectionId=name)
    spec = write_spec(tmp_path / "spec.yaml", [face(name, collection=name)])
    point_at(spec, name, role_arn=role_arn, video_arn=video, data_arn=data)
    # A processor of the same account that the spec does not name, made before enforcement starts.
    outside = face(f"{name}-outside", collection=name, role_arn=role_arn)
    emu.client().create_stream_processor(
        Name=outside["name"],
        Input={"KinesisVideoStream": {"Arn": outside["input"]["kinesis_video_stream_arn"]}},
        Output={"KinesisDataStream": {"Arn": outside["output"]["kinesis_data_stream_arn"]}},
        RoleArn=role_arn,
        Settings={"FaceSearch": {"CollectionId": name, "FaceMatchThreshold": 85}},
    )

    r = run_spd(["iam-policy", str(spec), "--for", "daemon"])
    assert r.returncode == 0, r.stderr
    iam.create_user(UserName=f"{name}-spd")
    iam.put_user_policy(UserName=f"{name}-spd", PolicyName="spd", PolicyDocument=r.stdout)
    key = iam.create_access_key(UserName=f"{name}-spd")["AccessKey"]
    creds = {"AWS_ACCESS_KEY_ID": key["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": key["SecretAccessKey"]}
    emu.configure(enforce_iam=True)

    # Enforcement is on: the test suite's own key is no IAM user's.
    assert _code(emu.client().list_stream_processors) == "UnrecognizedClientException"

    env = {**creds, "SPD_PREFLIGHT": "true"}
    r = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stderr, r.stderr
    spd_client = _client(emu, key)
    assert wait_status(spd_client, name, {"RUNNING"}) == "RUNNING"
    # Again, now that it exists: Describe, ListTags under the stack-tag condition; nothing to do.
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"], env=env)
    assert r.returncode == 0, r.stdout + r.stderr

    for call in (spd_client.stop_stream_processor, spd_client.delete_stream_processor):
        assert _code(call, Name=outside["name"]) == "AccessDeniedException"
    assert _code(spd_client.describe_stream_processor, Name=outside["name"]) == "AccessDeniedException"
    # The same actions on the spec's own processor are allowed: the denial is the resource's.
    spd_client.stop_stream_processor(Name=name)

    emu.configure(enforce_iam=False)
    assert emu.client().describe_stream_processor(Name=outside["name"])["Status"] == "STOPPED"
