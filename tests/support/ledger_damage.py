"""A session ledger damaged behind an intact header, as a bad disk or a torn copy leaves one, for tests."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

from spd.sessions.ledger import Ledger, ledger_path
from spd.sessions.ledger_port import TriggerRow

PAGE = 4096


def damaged_ledger(state: Path) -> Path:
    """A real ledger in `state` with one row, then every page but the first (the file header and the
    schema) overwritten with garbage: it opens, and every read or write of a row fails."""
    with Ledger.open(state) as ledger:
        ledger.record_trigger(TriggerRow(
            at=datetime.now(UTC), processor="porch", region="us-east-1", trigger="cli", outcome="refused",
            reason="budget",
        ))  # fmt: skip
    path = ledger_path(state)
    header = path.read_bytes()[:100]
    size = path.stat().st_size
    assert size > 2 * PAGE, size
    with path.open("r+b") as out:
        out.seek(PAGE)
        out.write(os.urandom(size - PAGE))
    assert path.read_bytes()[:100] == header
    return path
