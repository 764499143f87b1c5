"""`spd import --target T` reading one account through assume-role (a profile whose role spd's
credentials chain assumes): the spec declares `targets.T` (that account, the regions read, the profile)
and `defaults.target: T`, and planning it with `--adopt` adopts every processor and changes nothing else."""

from __future__ import annotations

import subprocess
from pathlib import Path

import yaml

from spd.emulator.testing import EmulatorProcess
from spdrun import SPD, spd_env
from targets_support import assumed, make_role

ACCOUNT = "444444444444"


def _profile_env(emu: EmulatorProcess, tmp_path: Path, role: str) -> dict[str, str]:
    """AWS_PROFILE=cams: a profile that assumes `role` from the hub account's keys, at the emulator."""
    config = tmp_path / "aws-config"
    config.write_text(
        "[profile hub]\naws_access_key_id = testing\naws_secret_access_key = testing\n\n"
        f"[profile cams]\nrole_arn = {role}\nsource_profile = hub\nexternal_id = ext\n"
    )
    env = spd_env({"AWS_CONFIG_FILE": str(config), "AWS_PROFILE": "cams", "AWS_ENDPOINT_URL_STS": emu.url})
    # The profile, not the environment's keys (which would win over it), is what reaches the account.
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]
    env["AWS_SHARED_CREDENTIALS_FILE"] = str(tmp_path / "no-credentials")
    return env


def _spd(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        [*SPD, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


def test_import_of_one_targets_account_declares_the_target_and_plans_only_adoptions(
    tmp_path: Path, emu: EmulatorProcess
) -> None:
    role = make_role(emu.url, ACCOUNT, external_id="ext")
    for region, name in (("us-east-1", "door"), ("eu-west-1", "hall")):
        assumed(emu.url, role, "rekognition", region, external_id="ext").create_stream_processor(
            Name=name,
            Input={"KinesisVideoStream": {"Arn": f"arn:aws:kinesisvideo:{region}:{ACCOUNT}:stream/{name}/1"}},
            Output={"KinesisDataStream": {"Arn": f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}-out"}},
            Settings={"FaceSearch": {"CollectionId": "staff"}},
            RoleArn=f"arn:aws:iam::{ACCOUNT}:role/SpdRekognition",
        )
    # Something in the hub account (the ambient keys') that must not be imported.
    emu.client().create_stream_processor(
        Name="elsewhere",
        Input={"KinesisVideoStream": {"Arn": "arn:aws:kinesisvideo:us-east-1:123456789012:stream/x/1"}},
        Output={"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/x"}},
        Settings={"FaceSearch": {"CollectionId": "staff"}},
        RoleArn="arn:aws:iam::123456789012:role/R",
    )
    env = _profile_env(emu, tmp_path, role)
    out = tmp_path / "fleet.yaml"
    imported = _spd(
        env, "import", "--region", "us-east-1", "--region", "eu-west-1", "--target", "cams",
        "--stack", "cams-stack", "--out", str(out), "--endpoint-url", emu.url,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    doc = yaml.safe_load(out.read_text())
    assert list(doc["targets"]) == ["cams"]
    assert doc["targets"]["cams"]["account_id"] == ACCOUNT
    assert set(doc["targets"]["cams"]["regions"]) == {"us-east-1", "eu-west-1"}
    assert doc["targets"]["cams"]["profile"] == "cams"
    assert doc["defaults"]["target"] == "cams"
    assert {p["name"] for p in doc["processors"]} == {"door", "hall"}

    planned = _spd(env, "plan", str(out), "--adopt", "--endpoint-url", emu.url)
    assert planned.returncode == 0, planned.stdout + planned.stderr
    assert "Plan: 2 to adopt, 0 to create, 0 to update, 0 to replace" in planned.stdout, planned.stdout
    assert "cams/us-east-1/door" in planned.stdout
    assert "cams/eu-west-1/hall" in planned.stdout
