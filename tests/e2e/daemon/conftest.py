"""Fixtures of the daemon tests."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from daemonproc import Daemon


@pytest.fixture
def daemons() -> Iterator[Callable[..., Daemon]]:
    """`start(*args, env=...)` runs `spd run ARGS` as a real subprocess; every one is killed at the end.

    (The HA tests keep their own `daemons`, a list they fill with their own starter.)"""
    started: list[Daemon] = []

    def start(*args: str, env: dict[str, str] | None = None) -> Daemon:
        d = Daemon(args, env=env)
        started.append(d)
        return d

    yield start
    for d in started:
        d.kill()
