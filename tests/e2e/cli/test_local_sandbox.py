"""`--local` is a sandbox that plays the user's account: on first use of a spec it holds what the spec
references, runs strict, and a reference deleted by hand afterwards fails as it would on AWS.

The README's example is applied once per module to a new state file (`first_apply`), and each test works
on its own copy of that state. The state starts with the suite's fast timings (`FAST_TIMINGS`:
transitions of 0.05 s instead of the default second), set through the control API and kept in the state
file like every emulator setting, so every later `--local` command and `sandbox(...)` of it runs with them.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from spd.emulator.embedded import embedded_emulator
from spd.emulator.testing import FAST_TIMINGS
from spdrun import run_spd, wait_status

README_CONFIG = Path(__file__).resolve().parents[3] / "config"
LOBBY_VIDEO = "arn:aws:kinesisvideo:us-east-1:111122223333:stream/lobby/1700000000000"
ON = {"SPD_PREFLIGHT": "true"}


@contextmanager
def sandbox(state: Path) -> Iterator[dict[str, Any]]:
    """The `--local` sandbox of `state`, opened in this process: boto3 clients against it."""
    with embedded_emulator(state) as url:

        def client(service: str) -> Any:
            return boto3.client(
                service,
                endpoint_url=url,
                region_name="us-east-1",
                aws_access_key_id="spd-local",
                aws_secret_access_key="spd-local",
            )

        yield {"rekognition": client("rekognition"), "kinesisvideo": client("kinesisvideo")}


def _fast_state(path: Path) -> Path:
    """A new `--local` state file holding the fast timings (PUT /_emulator/config, kept in the file)."""
    with embedded_emulator(path) as url:
        request = urllib.request.Request(
            f"{url}/_emulator/config",
            data=json.dumps(FAST_TIMINGS).encode(),
            method="PUT",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200
    return path


@pytest.fixture(scope="module")
def first_apply(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[Path, Path, subprocess.CompletedProcess[str]]:
    """A copy of the README's example spec (the main command runs it), applied with the preflight to a
    new sandbox: the spec's folder (read only), the state file after the apply, and the apply's result."""
    base = tmp_path_factory.mktemp("first-apply")
    spec = base / "config"
    shutil.copytree(README_CONFIG, spec)
    state = _fast_state(base / "local.db")
    r = run_spd(["apply", str(spec), "--local", "--local-state", str(state), "--auto-approve"], env=ON)
    return spec, state, r


@pytest.fixture
def readme(first_apply: tuple[Path, Path, subprocess.CompletedProcess[str]]) -> Path:
    return first_apply[0]


@pytest.fixture
def state(first_apply: tuple[Path, Path, subprocess.CompletedProcess[str]], tmp_path: Path) -> Path:
    """This test's copy of the sandbox's state after the first apply (SQLite's backup: a consistent copy)."""
    _, applied, r = first_apply
    assert r.returncode == 0, r.stdout + r.stderr
    path = tmp_path / "local.db"
    with closing(sqlite3.connect(applied)) as source, closing(sqlite3.connect(path)) as copy:
        source.backup(copy)
    path.chmod(0o600)
    return path


def test_readme_example_passes_the_preflight_and_runs_under_strict(first_apply, readme, state):
    r = first_apply[2]
    assert r.returncode == 0, r.stdout + r.stderr
    assert "preflight" not in r.stderr, r.stderr
    r = run_spd(["plan", str(readme), "--local", "--local-state", str(state), "--detailed-exitcode"], env=ON)
    assert r.returncode == 0, r.stdout + r.stderr
    r = run_spd(["check", str(readme), "--local", "--local-state", str(state)], env=ON)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 errors" in r.stdout + r.stderr

    with sandbox(state) as aws:
        rek = aws["rekognition"]
        for name in ("lobby-faces", "entrance-north-faces"):
            assert wait_status(rek, name, {"RUNNING", "FAILED"}) == "RUNNING"
        # Strict, as AWS: a processor whose video stream does not exist fails at Start.
        rek.create_stream_processor(
            Name="stray",
            Input={"KinesisVideoStream": {"Arn": LOBBY_VIDEO.replace("/lobby/", "/nowhere/")}},
            Output={"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:111122223333:stream/stray-out"}},
            RoleArn="arn:aws:iam::111122223333:role/SpdRekognition",
            Settings={"FaceSearch": {"CollectionId": "hq-staff"}},
        )
        rek.start_stream_processor(Name="stray")
        assert wait_status(rek, "stray", {"RUNNING", "FAILED"}) == "FAILED"


def test_a_reference_deleted_by_hand_fails_as_on_aws_and_is_not_created_again(readme, state):
    with sandbox(state) as aws:
        rek, kvs = aws["rekognition"], aws["kinesisvideo"]
        assert kvs.describe_stream(StreamARN=LOBBY_VIDEO)["StreamInfo"]["Status"] == "ACTIVE"
        # As on AWS, a processor still STARTING cannot be stopped: wait for it to run first.
        assert wait_status(rek, "lobby-faces", {"RUNNING", "FAILED"}) == "RUNNING"
        kvs.delete_stream(StreamARN=LOBBY_VIDEO)
        rek.stop_stream_processor(Name="lobby-faces")
        wait_status(rek, "lobby-faces", {"STOPPED"})

    r = run_spd(["check", str(readme), "--local", "--local-state", str(state)], env=ON)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stderr
    located = [line for line in r.stderr.splitlines() if line.startswith(f"{readme / 'lobby.yaml'}:")]
    assert len(located) == 1, r.stderr
    assert "input.kinesis_video_stream_arn:" in located[0]
    assert f"Kinesis video stream {LOBBY_VIDEO} does not exist" in located[0]

    # plan and apply stop at the preflight too, before any change.
    r = run_spd(["apply", str(readme), "--local", "--local-state", str(state), "--auto-approve"], env=ON)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "nothing was planned or changed" in r.stderr

    with sandbox(state) as aws:
        rek, kvs = aws["rekognition"], aws["kinesisvideo"]
        with pytest.raises(ClientError) as missing:
            kvs.describe_stream(StreamARN=LOBBY_VIDEO)
        assert missing.value.response["Error"]["Code"] == "ResourceNotFoundException"
        assert rek.describe_stream_processor(Name="lobby-faces")["Status"] == "STOPPED"
        rek.start_stream_processor(Name="lobby-faces")
        assert wait_status(rek, "lobby-faces", {"RUNNING", "FAILED"}) == "FAILED"
        message = rek.describe_stream_processor(Name="lobby-faces")["StatusMessage"]
        assert "Stream lobby under account" in message
        assert "not found" in message

    # Without the preflight the start goes through and the processor fails as on AWS.
    r = run_spd(
        ["apply", str(readme), "--local", "--local-state", str(state), "--auto-approve", "--no-preflight"],
        env=ON,
    )
    with sandbox(state) as aws:
        assert wait_status(aws["rekognition"], "lobby-faces", {"RUNNING", "FAILED"}) == "FAILED"
