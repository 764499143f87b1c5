"""The `sessions` block: its canonical value, defaults, and that the planner never sees it.

The bad values (range, cron, time zone, duration, face_search) are in the corpus (corpus/sessions_*).
"""

from __future__ import annotations

from pathlib import Path

from spd.model import ObservedState, SessionPolicy, SessionWindow
from spd.reconcile.plan import Policy, plan
from spd.reconcile.saved_plan import spec_digest
from spd.spec import load_spec
from spd.spec.session_rules import duration_seconds
from spdrun import face, home, write_spec


def test_values_and_defaults(tmp_path: Path) -> None:
    spec = write_spec(
        tmp_path / "spec.yaml",
        [
            home(
                "porch",
                sessions={
                    "max_duration_seconds": 30,
                    "windows": [
                        {"cron": "0 7 * * mon-fri", "duration": "1h30m", "timezone": "Europe/Berlin"}
                    ],
                    "budget_seconds_per_day": 3600,
                },
            ),
            home("garage"),
            home("shed", sessions={"windows": [{"cron": "*/5 * * * *", "duration": "90s"}]}),
            face("lobby"),
        ],
    )
    by_name = {p.name: p for p in load_spec(spec).desired.processors}
    assert by_name["porch"].sessions == SessionPolicy(
        max_duration_seconds=30,
        windows=(SessionWindow("0 7 * * mon-fri", 5400, "Europe/Berlin"),),
        budget_seconds_per_day=3600,
    )
    assert by_name["garage"].sessions == SessionPolicy(max_duration_seconds=10)
    assert by_name["shed"].sessions == SessionPolicy(windows=(SessionWindow("*/5 * * * *", 90, "UTC"),))
    assert by_name["lobby"].sessions is None


def test_defaults_may_carry_sessions_for_a_mixed_file(tmp_path: Path) -> None:
    """A face_search processor ignores sessions inherited from defaults; only its own block is an error."""
    spec = tmp_path / "spec.yaml"
    write_spec(spec, [home("porch"), face("lobby")])
    text = spec.read_text().replace("defaults:\n", "defaults:\n  sessions: {max_duration_seconds: 45}\n")
    spec.write_text(text)
    by_name = {p.name: p for p in load_spec(spec).desired.processors}
    assert by_name["porch"].sessions == SessionPolicy(max_duration_seconds=45)
    assert by_name["lobby"].sessions is None


def test_the_planner_and_saved_plans_ignore_sessions(tmp_path: Path) -> None:
    # The same file, rewritten: the processors differ only in their sessions.
    plain = load_spec(write_spec(tmp_path / "spec.yaml", [home("porch")])).desired
    with_sessions = load_spec(
        write_spec(tmp_path / "spec.yaml", [home("porch", sessions={"max_duration_seconds": 99})])
    ).desired
    assert plain.processors[0].sessions != with_sessions.processors[0].sessions
    observed = ObservedState(("us-east-1",))
    policy = Policy(plain.stack)
    assert plan(plain, observed, policy) == plan(with_sessions, observed, policy)
    assert spec_digest(plain) == spec_digest(with_sessions)


def test_durations() -> None:
    assert [duration_seconds(t) for t in ("2h", "30m", "90s", "1h30m", "1h1m1s")] == [
        7200,
        1800,
        90,
        5400,
        3661,
    ]
    assert [duration_seconds(t) for t in ("", "2 h", "30x", "1m1h", "h")] == [None] * 5
