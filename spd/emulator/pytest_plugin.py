"""spd's pytest plugin: the stream-processor emulator as fixtures in any project's test suite.

Registered as the `pytest11` entry point `spd`, so pytest loads it wherever spd is installed (disable it
with `-p no:spd`). The fixtures need the `local` extra (moto, boto3); this module imports neither, so a
core-only install (a systemd host, say) still runs pytest without errors, and a fixture used without the
extra fails with a message saying what to install.

- `spd_emulator_process` (session): one `spd.emulator.testing.EmulatorProcess`, a real `python -m
  spd.emulator` subprocess on a free loopback port, with default timings and no state file; one per
  pytest-xdist worker, since each worker is its own session.
- `spd_emulator` (function): the same handle, reset and with fast timings (`FAST_TIMINGS`), so each
  test starts from an empty emulator; its methods are the control API (`reset`, `configure`, `config`,
  `fault`, `faults`, `clear_faults`, `fail`, `detections`, `stats`, `processors`, `create_references`),
  `url` the endpoint and `client(region, service)` a boto3 client with dummy credentials and no retries.
  References are strict, as on AWS: a processor whose role, streams or collection do not exist goes to
  FAILED at Start. For the happy path, `spd_emulator.create_references(request)` (a CreateStreamProcessor
  request body, or a list of them) or `create_references(spec=path)` first creates what they name;
  `spd_emulator.configure(strict_references=False)` turns the check off.
- `spd_rekognition` (function): `spd_emulator.client()`, a boto3 Rekognition client for us-east-1.
- `spd_mock_aws` (function): no server at all: moto's `mock_aws` for the test with the stream-processor
  operations installed (`spd.emulator.mock`), yielding the in-process emulator's control API, reset and
  with fast timings (strict references too; `create_references` works the same). moto's own fixtures or
  decorators can be used instead, with `spd.emulator.mock.install()`.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from spd.emulator.testing import EmulatorProcess

if TYPE_CHECKING:
    from spd.emulator.mock import MockEmulator

MISSING_EXTRA = "spd's emulator fixtures need the 'local' extra: pip install 'spd[local]' (missing: {})"


def _require_local_extra() -> None:
    missing = [name for name in ("moto", "boto3") if importlib.util.find_spec(name) is None]
    if missing:
        pytest.fail(MISSING_EXTRA.format(", ".join(missing)), pytrace=False)


@pytest.fixture(scope="session")
def spd_emulator_process() -> Iterator[EmulatorProcess]:
    """One emulator subprocess for the test session (per xdist worker), default timings."""
    _require_local_extra()
    with EmulatorProcess() as process:
        yield process


@pytest.fixture
def spd_emulator(spd_emulator_process: EmulatorProcess) -> EmulatorProcess:
    """The session's emulator, reset, with fast timings."""
    spd_emulator_process.reset_fast()
    return spd_emulator_process


@pytest.fixture
def spd_rekognition(spd_emulator: EmulatorProcess) -> Any:
    """A boto3 Rekognition client (us-east-1, dummy credentials, no retries) for `spd_emulator`."""
    return spd_emulator.client()


@pytest.fixture
def spd_mock_aws() -> Iterator[MockEmulator]:
    """moto's `mock_aws` with stream processors, for one test; yields the emulator's control API."""
    _require_local_extra()
    from spd.emulator import mock
    from spd.emulator.moto_services.moto_glue import mock_aws

    was_installed = mock.installed()
    mock.install()
    try:
        with mock_aws():
            handle = mock.emulator()
            handle.reset_fast()
            yield handle
    finally:
        if not was_installed:
            mock.uninstall()
