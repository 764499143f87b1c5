"""Shared test setup: dummy AWS credentials, and the emulator fixtures every test directory can use.

Fixtures:

- `emulator` (session scope): one `spd.emulator.testing.EmulatorProcess`, a real `python -m
  spd.emulator` subprocess on a free loopback port, for the whole session (with pytest-xdist, one per
  worker). Use it directly only when a test needs the emulator's default (interactive) timings.
- `emu` (function scope): the same handle after `reset()` and with fast timings
  (`FAST_TIMINGS`: transitions 0.05 s, name reuse 0.2 s, asynchronous delete 0.05 s), so every test
  starts from an empty emulator. `emu.url` is the endpoint, `emu.client(region)` a boto3 Rekognition
  client (no retries), `emu.configure(...)`, `emu.fault(...)`, `emu.fail(...)`, `emu.stats()` drive
  the control API.

Unless `SPD_CONTRACT_LIVE=1` (contract tests against real AWS), the environment is pointed at dummy
credentials and away from any profile or config file, so that nothing can ever reach real AWS.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from spd.emulator.testing import EmulatorProcess

LIVE = os.environ.get("SPD_CONTRACT_LIVE") == "1"

FAST_TIMINGS = {"transition_seconds": 0.05, "name_reuse_seconds": 0.2, "delete_seconds": 0.05}
"""What `emu` configures after each reset; tests that need other timings call `emu.configure`."""

if not LIVE:
    for _var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_REKOGNITION"):
        os.environ.pop(_var, None)
    os.environ.update(
        {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SECURITY_TOKEN": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        }
    )


@pytest.fixture(scope="session")
def emulator() -> Iterator[EmulatorProcess]:
    """One emulator subprocess for the test session (per xdist worker)."""
    with EmulatorProcess() as process:
        yield process


@pytest.fixture
def emu(emulator: EmulatorProcess) -> EmulatorProcess:
    """The session emulator, reset, with fast timings."""
    emulator.reset()
    emulator.configure(**FAST_TIMINGS)
    return emulator
