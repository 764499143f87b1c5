"""The timing profile: `fast` (the default, for tests) and `realistic` (transitions of the order AWS
takes: seconds to tens of seconds), so that a client can check its timeouts against the emulator."""

from __future__ import annotations

import sys
from typing import Any

import pytest

from emulator_only import emulator_only
from spd.emulator.backend.config import TIMING_PROFILES, ConfigValueError, EmulatorConfig
from spd.emulator.testing import EmulatorControlError, EmulatorProcess

pytestmark = emulator_only("the emulator's timing_profile setting")


def test_fast_is_the_default() -> None:
    config = EmulatorConfig()
    assert config.timing_profile == "fast"
    assert config.effective_start_seconds == 1.0


def test_realistic_takes_seconds_to_tens_of_seconds() -> None:
    config = EmulatorConfig().updated({"timing_profile": "realistic"})
    assert 5 <= config.effective_start_seconds <= 60
    assert 5 <= config.effective_stop_seconds <= 60
    assert 1 <= config.delete_seconds <= 60
    assert config.name_reuse_seconds >= config.delete_seconds


def test_an_explicit_timing_in_the_same_change_wins() -> None:
    config = EmulatorConfig().updated({"timing_profile": "realistic", "start_seconds": 3})
    assert config.effective_start_seconds == 3
    assert config.effective_stop_seconds == TIMING_PROFILES["realistic"]["stop_seconds"]


def test_back_to_fast_restores_the_fast_timings() -> None:
    config = EmulatorConfig().updated({"timing_profile": "realistic"}).updated({"timing_profile": "fast"})
    assert config == EmulatorConfig()


def test_an_unknown_profile_is_refused() -> None:
    with pytest.raises(ConfigValueError, match="timing_profile must be one of fast, realistic"):
        EmulatorConfig().updated({"timing_profile": "slow"})


def test_a_realistic_start_stays_starting(emu: EmulatorProcess) -> None:
    emu.configure(timing_profile="realistic")
    request: dict[str, Any] = {
        "Name": "lobby",
        "Input": {
            "KinesisVideoStream": {"Arn": "arn:aws:kinesisvideo:us-east-1:123456789012:stream/lobby/1"}
        },
        "Output": {"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:123456789012:stream/lobby"}},
        "RoleArn": "arn:aws:iam::123456789012:role/SpdRekognition",
        "Settings": {"FaceSearch": {"CollectionId": "staff"}},
    }
    emu.create_references(request)
    client = emu.client()
    client.create_stream_processor(**request)
    client.start_stream_processor(Name="lobby")
    # 20 s of STARTING: a client polling for RUNNING with a few seconds' timeout finds out here.
    assert client.describe_stream_processor(Name="lobby")["Status"] == "STARTING"
    with pytest.raises(EmulatorControlError, match="timing_profile must be one of"):
        emu.configure(timing_profile=3)


def test_the_command_takes_the_profile() -> None:
    command = [sys.executable, "-m", "spd", "emulator", "--timing-profile", "realistic"]
    with EmulatorProcess(command=command, quiet=True) as process:
        config = process.config()
        assert config["timing_profile"] == "realistic"
        assert config["start_seconds"] == TIMING_PROFILES["realistic"]["start_seconds"]
