"""A session ledger as an older spd left it: written at an earlier schema version, for migration tests."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from spd.sessions.ledger import SCHEMA, ledger_path
from spd.store.sqlite_store import Database, Schema


def write_old_ledger(state: Path, *, versions: int, at: datetime) -> None:
    """The ledger in `state` at the first `versions` migrations, with one started 40 s session `s-1` of
    us-east-1/porch at `at` (columns of the first version only)."""
    old = Database(
        ledger_path(state),
        Schema(
            kind=SCHEMA.kind, application_id=SCHEMA.application_id, migrations=SCHEMA.migrations[:versions]
        ),
    )
    with old.write() as conn:
        conn.execute(
            "INSERT INTO sessions (at_ms, processor, region, trigger, requested_seconds, session_id, outcome)"
            " VALUES (?, 'porch', 'us-east-1', 'http', 40, 's-1', 'started')",
            (int(at.timestamp() * 1000),),
        )
    old.close()
