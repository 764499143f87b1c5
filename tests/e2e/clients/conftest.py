"""Outside clients (the AWS SDK for JavaScript, the AWS CLI) against a real `spd emulator` process.

`spd_command_emulator` is `spd emulator` itself (`python -m spd emulator`, the command a user runs),
started once for the module and handed to each test reset, with fast timings and its default strict
references, so what these clients see is what a user of the command sees.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest

from spd.emulator.testing import EmulatorProcess


@pytest.fixture(scope="module")
def _spd_emulator_command() -> Iterator[EmulatorProcess]:
    with EmulatorProcess(command=[sys.executable, "-m", "spd", "emulator"], quiet=True) as process:
        yield process


@pytest.fixture
def spd_command_emulator(_spd_emulator_command: EmulatorProcess) -> EmulatorProcess:
    _spd_emulator_command.reset_fast()
    return _spd_emulator_command
