"""Shared test setup: dummy AWS credentials, and short names for the emulator fixtures.

The emulator fixtures are those spd ships to every project, in its pytest plugin
(`spd.emulator.pytest_plugin`, registered by the `pytest11` entry point), so spd's own suite uses them
the way a user's does. Here they get the short names the suite grew up with:

- `emulator` is the plugin's `spd_emulator_process` (session scope): one
  `spd.emulator.testing.EmulatorProcess`, a real `python -m spd.emulator` subprocess on a free loopback
  port, for the whole session (with pytest-xdist, one per worker). Use it directly only when a test
  needs the emulator's default (interactive) timings.
- `emu` is the plugin's `spd_emulator` (function scope): the same handle after `reset()` and with fast
  timings (`FAST_TIMINGS`: transitions 0.05 s, name reuse 0.2 s, asynchronous delete 0.05 s), so every
  test starts from an empty emulator. `emu.url` is the endpoint, `emu.client(region)` a boto3
  Rekognition client (no retries), `emu.configure(...)`, `emu.fault(...)`, `emu.fail(...)`,
  `emu.stats()` drive the control API.

Unless `SPD_CONTRACT_LIVE=1` (contract tests against real AWS), the environment is pointed at dummy
credentials and away from any profile or config file, so that nothing can ever reach real AWS.
"""

from __future__ import annotations

import os
import tempfile

import pytest
from hypothesis import settings

from spd.emulator.testing import FAST_TIMINGS, EmulatorProcess

__all__ = ["FAST_TIMINGS", "LIVE"]

LIVE = os.environ.get("SPD_CONTRACT_LIVE") == "1"

# A gate must not depend on the examples one run happens to draw: `.ci/run` sets HYPOTHESIS_PROFILE=ci,
# which derandomizes the property tests (the same examples every run, no example database); runs by
# hand keep exploring new examples and remember the failing ones.
settings.register_profile("ci", derandomize=True, database=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

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

# Daemons started by tests keep their event history under the state directory: never the user's own.
os.environ["XDG_STATE_HOME"] = tempfile.mkdtemp(prefix="spd-tests-state-")

# The suite starts several hundred Python processes (spd, spd run, spd emulator). Under
# PYTHONDONTWRITEBYTECODE each of them compiled spd's modules again (about a fifth of a command's start-up);
# their bytecode goes instead to a cache of its own outside the checkout, which stays as clean as asked.
if os.environ.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
    os.environ.setdefault(
        "PYTHONPYCACHEPREFIX", os.path.join(tempfile.gettempdir(), f"spd-tests-pycache-{os.getuid()}")
    )


@pytest.fixture(scope="session")
def emulator(spd_emulator_process: EmulatorProcess) -> EmulatorProcess:
    """One emulator subprocess for the test session (per xdist worker): the plugin's."""
    return spd_emulator_process


@pytest.fixture
def emu(spd_emulator: EmulatorProcess) -> EmulatorProcess:
    """The session emulator, reset, with fast timings: the plugin's `spd_emulator`."""
    return spd_emulator


TIER_ORDER = ("e2e", "integration", "unit")
"""The order the tiers run in: the slowest first, so that under pytest-xdist's load scheduling (tests
handed out in collection order) the long real-process tests start early and the many short unit tests
fill in at the end, instead of one long test starting last on one worker while the other has finished."""


def _tier(item: pytest.Item) -> str | None:
    parts = item.path.parts
    for tier in TIER_ORDER:
        if tier in parts and parts[parts.index(tier) - 1] == "tests":
            return tier
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark each test with its tier, named by the folder it lives in (`pytest -m unit` runs the pure ones),
    and run the tiers slowest first (`TIER_ORDER`; a stable sort keeps each file's order)."""
    for item in items:
        tier = _tier(item)
        if tier is not None:
            item.add_marker(getattr(pytest.mark, tier))
    rank = {tier: n for n, tier in enumerate(TIER_ORDER)}
    items.sort(key=lambda item: rank.get(_tier(item) or "", len(TIER_ORDER)))
