"""The `--local` sandbox's set-up costs linear work in the number of references, not quadratic.

moto finds a Kinesis video stream by name, a role by name and a KMS alias only by scanning every one of
them, and its `create_stream` and `create_role` scan too; done per reference, a spec of N streams cost
N^2/2 steps (32,000 processors: a minute). Here moto's registries are replaced by dicts that count every
entry a scan visits, and a set-up of N references of each kind must visit at most a few N, whether it
is the first provision, the re-creation from the state file or the check for deletions by hand.
Counting, not timing: the result does not depend on the machine's load.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from moto.backends import get_backend
from moto.core.base_backend import BackendDict

from spd.emulator.backend.service import DEFAULT_ACCOUNT, Emulator

N = 300
KEYS = 20
"""Fewer KMS keys: moto makes an RSA key pair for each (a tenth of a second), symmetric ones too."""
REGION = "us-east-1"
OTHER = "111122223333"


class CountingDict(dict[str, Any]):
    """A dict that counts the entries its whole-registry views and iterations hand out."""

    def __init__(self) -> None:
        super().__init__()
        self.visited = 0

    def values(self) -> Any:
        self.visited += len(self)
        return list(super().values())

    def items(self) -> Any:
        self.visited += len(self)
        return list(super().items())

    def keys(self) -> Any:
        self.visited += len(self)
        return list(super().keys())

    def __iter__(self) -> Iterator[str]:
        self.visited += len(self)
        return iter(list(super().keys()))


def references() -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    for i in range(N):
        out.append(
            ("video_stream", REGION, f"arn:aws:kinesisvideo:{REGION}:{OTHER}:stream/cam-{i}/1700000000000")
        )
        out.append(("data_stream", REGION, f"arn:aws:kinesis:{REGION}:{OTHER}:stream/cam-{i}-out"))
        out.append(("role", REGION, f"arn:aws:iam::{OTHER}:role/Spd-{i}"))
    out.extend(("key", REGION, f"alias/spd-{i}") for i in range(KEYS))
    return out


def count_scans() -> dict[str, tuple[CountingDict, int]]:
    """Counting registries in moto's backends (a new process's, still empty), each with the number of
    resources the references put in it."""
    registries = {
        "video streams": (get_backend("kinesisvideo")[DEFAULT_ACCOUNT][REGION], "streams", N),
        "data streams": (get_backend("kinesis")[DEFAULT_ACCOUNT][REGION], "streams", N),
        "roles": (get_backend("iam")[DEFAULT_ACCOUNT]["aws"], "roles", N),
        "keys": (get_backend("kms")[DEFAULT_ACCOUNT][REGION], "keys", KEYS),
    }
    counted: dict[str, tuple[CountingDict, int]] = {}
    for name, (backend, attribute, size) in registries.items():
        counting = CountingDict()
        setattr(backend, attribute, counting)
        counted[name] = (counting, size)
    return counted


def scans(counted: dict[str, tuple[CountingDict, int]]) -> dict[str, int]:
    """The registries whose scans visited more than twice as many entries as they hold (none, when
    linear); their counters are reset."""
    over = {
        name: counting.visited for name, (counting, size) in counted.items() if counting.visited > 2 * size
    }
    for counting, _ in counted.values():
        counting.visited = 0
    return over


@pytest.fixture(autouse=True)
def new_process() -> Iterator[None]:
    """moto keeps its services' data in process memory: start from none, and leave none behind."""
    BackendDict.reset()
    yield
    BackendDict.reset()


def test_counting_registries_see_the_scans_of_moto_lookups() -> None:
    """The counters work: moto's own look-up of a role by name visits every role."""
    counted = count_scans()
    Emulator().provide(
        DEFAULT_ACCOUNT, [("role", REGION, f"arn:aws:iam::{OTHER}:role/Spd-{i}") for i in range(5)]
    )
    scans(counted)
    for _ in range(3):
        get_backend("iam")[DEFAULT_ACCOUNT]["aws"].get_role("Spd-4")
    assert counted["roles"][0].visited == 15


def test_first_provision_visits_linear_entries() -> None:
    counted = count_scans()
    refs = references()
    created = Emulator().provide(DEFAULT_ACCOUNT, refs)
    assert len(created) == len(refs)
    assert len(get_backend("kinesisvideo")[DEFAULT_ACCOUNT][REGION].streams) == N
    assert scans(counted) == {}


def test_recreation_from_the_state_file_and_the_deletion_check_visit_linear_entries(tmp_path: Path) -> None:
    state = tmp_path / "sandbox.db"
    first = Emulator(state_file=state)
    first.provide(DEFAULT_ACCOUNT, references())
    first.close()
    BackendDict.reset()  # a new process: moto's data is gone, the state file lists what to re-create
    counted = count_scans()
    emulator = Emulator(state_file=state)
    try:
        assert len(get_backend("iam")[DEFAULT_ACCOUNT]["aws"].roles) == N
        assert scans(counted) == {}
        emulator.note_sandbox_deletions()
        assert scans(counted) == {}
    finally:
        emulator.close()
