"""The emulator as a program: persistence across restarts, signals, the per-call log, start-up errors,
the `spd emulator` command and the embedded emulator behind `--local`.

These start their own emulator processes, so they never run against real AWS."""

from __future__ import annotations

import re
import signal
import socket
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from click.testing import CliRunner

from emulator_only import emulator_only
from spd.emulator.embedded import default_state_file, embedded_emulator
from spd.emulator.testing import EmulatorProcess

pytestmark = emulator_only("the spd emulator program and its control API")

KVS = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/{}/1"
KDS = "arn:aws:kinesis:us-east-1:123456789012:stream/{}"
ROLE = "arn:aws:iam::123456789012:role/SpdRekognition"


def _face(name: str, **extra: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Input": {"KinesisVideoStream": {"Arn": KVS.format(name)}},
        "Output": {"KinesisDataStream": {"Arn": KDS.format(name)}},
        "RoleArn": ROLE,
        "Settings": {"FaceSearch": {"CollectionId": "staff"}},
        **extra,
    }


def stored_names(state: Path) -> list[str]:
    """Names of the processors committed to a state file, read with a connection of its own."""
    with closing(sqlite3.connect(state)) as conn:
        return [row[0] for row in conn.execute("SELECT name FROM processors ORDER BY name")]


def test_state_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "state" / "emulator.db"
    with EmulatorProcess(state_file=state) as first:
        first.configure(max_processors=7, transition_seconds=0.05, name_reuse_seconds=600, delete_seconds=0)
        client = first.client()
        first.create_references(_face("lobby"))
        arn = client.create_stream_processor(**_face("lobby", Tags={"team": "vision"}))["StreamProcessorArn"]
        client.start_stream_processor(Name="lobby")
        client.create_stream_processor(**_face("gone"))
        client.delete_stream_processor(Name="gone")
        assert stored_names(state) == ["lobby"]  # committed on every change, not only at exit
    assert first.returncode == 0
    assert [p.name for p in state.parent.iterdir()] == ["emulator.db"], "no temporary files are left"

    with EmulatorProcess(state_file=state) as second:
        client = second.client()
        described = client.describe_stream_processor(Name="lobby")
        assert described["Status"] == "RUNNING"  # the transition completed while it was down
        assert described["StreamProcessorArn"] == arn
        assert client.list_tags_for_resource(ResourceArn=arn)["Tags"] == {"team": "vision"}
        assert second.config()["max_processors"] == 7
        with pytest.raises(client.exceptions.ResourceInUseException):
            client.create_stream_processor(**_face("gone"))  # the name is still reserved


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_signals_stop_cleanly(tmp_path: Path, signum: int) -> None:
    state = tmp_path / "emulator.db"
    process = EmulatorProcess(state_file=state)
    process.start()
    process.client().create_stream_processor(**_face("cam"))
    process.signal(signum)
    assert process.wait() == 0
    assert stored_names(state) == ["cam"]


def test_calls_are_logged(tmp_path: Path) -> None:
    with EmulatorProcess() as process:
        client = process.client()
        client.create_stream_processor(**_face("cam-1"))
        with pytest.raises(client.exceptions.ResourceNotFoundException):
            client.describe_stream_processor(Name="nobody")
        process.client(service="kinesis").list_streams()
    stamped = [line for line in process.log_text().splitlines() if not line.startswith("spd emulator")]
    # Each line starts with the time of the call: ISO 8601, UTC, milliseconds.
    assert stamped
    for line in stamped:
        stamp, _, _ = line.partition(" ")
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", stamp), line
        when = datetime.fromisoformat(stamp)
        assert when.utcoffset() == timedelta(0)
        assert abs(datetime.now(UTC) - when) < timedelta(hours=1), line  # the wall clock, not a counter
    lines = [line.partition(" ")[2] for line in stamped]
    assert "CreateStreamProcessor us-east-1 cam-1 200" in lines
    assert "DescribeStreamProcessor us-east-1 nobody 400 ResourceNotFoundException" in lines
    assert any(line.startswith("Kinesis_20131202.ListStreams us-east-1") for line in lines)


def test_quiet_logs_nothing_per_call() -> None:
    with EmulatorProcess(quiet=True) as process:
        process.client().list_stream_processors()
    assert "ListStreamProcessors" not in process.log_text()


def _run_emulator(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "spd.emulator", *args], capture_output=True, text=True, timeout=60
    )


def test_unusable_state_file_exits_78(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    state.write_text("{ this is not json")
    result = _run_emulator("--port", "0", "--state", str(state))
    assert result.returncode == 78
    assert str(state) in result.stderr


def test_port_in_use_exits_1() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = _run_emulator("--port", str(port))
    assert result.returncode == 1
    assert "cannot listen" in result.stderr


def test_python_m_spd_emulator_is_spd_emulator() -> None:
    """Same command either way: the help of `python -m spd.emulator -h` is that of `spd emulator -h`."""
    module = _run_emulator("-h")
    command = subprocess.run(
        [sys.executable, "-m", "spd", "emulator", "-h"], capture_output=True, text=True, timeout=60
    )
    assert module.returncode == command.returncode == 0, module.stderr + command.stderr
    assert module.stdout.replace("python -m spd.emulator", "spd emulator") == command.stdout


def test_spd_emulator_command_is_registered() -> None:
    from spd.cli.app import cli

    result = CliRunner().invoke(cli, ["emulator", "--help"])
    assert result.exit_code == 0
    for option in ("--host", "--port", "--state"):
        assert option in result.output


# -- embedded ------------------------------------------------------------------------------------------


def _client(url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client(
        "rekognition", endpoint_url=url, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )


def test_embedded_emulator_persists(tmp_path: Path) -> None:
    state = tmp_path / "local.json"
    with embedded_emulator(state) as url:
        assert url.startswith("http://127.0.0.1:")
        _client(url).create_stream_processor(**_face("local-cam"))
    assert stored_names(state) == ["local-cam"]
    with embedded_emulator(state) as url:
        assert _client(url).describe_stream_processor(Name="local-cam")["Status"] == "STOPPED"


def test_default_state_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert default_state_file() == tmp_path / "spd" / "emulator.db"
    monkeypatch.setenv("XDG_STATE_HOME", "relative/is/ignored")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_state_file() == tmp_path / "home" / ".local" / "state" / "spd" / "emulator.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert default_state_file() == tmp_path / "home" / ".local" / "state" / "spd" / "emulator.db"


def test_embedded_emulator_uses_the_default_state_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # outside a test, as `spd ... --local` runs
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    with embedded_emulator() as url:
        _client(url).create_stream_processor(**_face("default-cam"))
    assert stored_names(tmp_path / "spd" / "emulator.db") == ["default-cam"]
