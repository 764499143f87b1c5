"""The mark for tests of what only the emulator has: its processes, state file, control API and settings.

`SPD_CONTRACT_LIVE=1` runs the contract tests against real AWS, which has none of these, so such tests
are skipped there and only there; the reason says what AWS lacks.
"""

from __future__ import annotations

import os

import pytest

LIVE = os.environ.get("SPD_CONTRACT_LIVE") == "1"


def emulator_only(what: str) -> pytest.MarkDecorator:
    """Skip under `SPD_CONTRACT_LIVE=1`: `what` exists in the emulator, not in AWS."""
    return pytest.mark.skipif(
        LIVE, reason=f"tests {what}: only the emulator has that, and SPD_CONTRACT_LIVE=1 runs against AWS"
    )
