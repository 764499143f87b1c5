"""What loading a large spec holds at its peak, against what the loaded desired state keeps.

Loading builds temporary structures (the YAML tree with its positions, the pydantic models) on the way
to the desired state; they must not all be alive at full size together, or the peak of `spd plan` on a
fleet of tens of thousands of processors grows several times past what it keeps. Python allocations are
counted with `tracemalloc` (deterministic for a given interpreter), not the process's RSS.
"""

from __future__ import annotations

import gc
import tracemalloc
from array import array
from pathlib import Path

from spd.spec import load_spec
from spd.spec.positions import Positions
from spd.spec.yaml_source import read_document
from spdrun import target_face
from spec_support import dump_yaml, write

PROCESSORS = 1500


def fleet_yaml(count: int) -> str:
    accounts = [f"{100000000000 + t:012d}" for t in range(5)]
    targets = {
        f"t{t}": {"account_id": acct, "role_arn": f"arn:aws:iam::{acct}:role/m", "regions": ["us-east-1"]}
        for t, acct in enumerate(accounts)
    }
    processors = [
        target_face(f"cam-{i:05d}", accounts[i % len(accounts)], f"t{i % len(accounts)}")
        for i in range(count)
    ]
    return dump_yaml({"version": 1, "stack": "bench", "targets": targets, "processors": processors})


def test_load_peak_is_at_most_three_times_what_the_desired_state_keeps(tmp_path: Path) -> None:
    load_spec(write(tmp_path, fleet_yaml(2), "warm.yaml"))  # models built, modules imported: not counted
    spec = write(tmp_path, fleet_yaml(PROCESSORS))
    gc.collect()
    tracemalloc.start()
    try:
        loaded = load_spec(spec)
        kept, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert len(loaded.desired.processors) == PROCESSORS
    # Before the models were freed as converted and positions were kept as one array per container,
    # the peak was 4.2 times the result (2.7 since).
    assert peak <= 3 * kept, f"peak {peak / 2**20:.1f} MiB for {kept / 2**20:.1f} MiB kept"


def test_positions_are_one_flat_array_and_no_table_per_container() -> None:
    source = read_document("a:\n  b: [1, {c: d}]\nlist: [x, y]\n", "f.yaml", {})
    positions: Positions = source.positions
    # The root, a, a.b, a.b[1] and list: per container its length, then per key (key, value, table) or
    # per item (position, table): 7 + 4 + 5 + 4 + 5 numbers, and no look-up by identity kept.
    assert isinstance(positions.flat, array)
    assert len(positions.flat) == 25
    assert positions.key_and_value(source.data, "a") is None
    assert positions.locate(source.data, ("a", "b", 1, "c")) == (2, 14)
    assert positions.locate(source.data, ("a", "b", 1, "c"), at="key") == (2, 11)
    assert positions.locate(source.data, ("list", 1)) == (3, 11)
    assert positions.locate(source.data, ("list", 5)) == (3, 7)
