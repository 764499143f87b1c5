"""Fixtures of the core's unit tests: a fresh in-memory fleet and a virtual clock per test."""

from __future__ import annotations

import pytest

from core_support import VirtualTime
from spd.reconcile.fake_gateway import FakeFleet


@pytest.fixture
def fleet() -> FakeFleet:
    return FakeFleet()


@pytest.fixture
def vtime() -> VirtualTime:
    return VirtualTime()
