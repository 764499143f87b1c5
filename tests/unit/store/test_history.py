"""The event history file: what is recorded, how it is filtered and pruned, and its guarantees."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spd import events
from spd.config.settings import Settings, history_path
from spd.events import Event
from spd.events.history import History

T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def _drift(name: str) -> Event:
    return Event(
        events.DRIFT_DETECTED,
        {"processor": name, "region": "us-east-1", "field": "connected_home.labels", "observed": ("PET",)},
    )


def test_events_are_kept_per_stack_and_filtered_by_processor_and_time(tmp_path):
    path = tmp_path / "state" / "history.db"
    history = History(path)
    history.record(_drift("porch"), stack="lobby", at=T0)
    history.record(
        Event(events.PROCESSOR_UPDATED, {"processor": "porch", "region": "us-east-1"}),
        stack="lobby",
        at=T0 + timedelta(seconds=1),
    )
    history.record(_drift("garage"), stack="lobby", at=T0 + timedelta(hours=2))
    history.record(_drift("porch"), stack="other", at=T0)
    history.close()
    assert path.stat().st_mode & 0o777 == 0o600

    reader = History(path)
    everything = list(reader.entries("lobby"))
    assert [(e.processor, e.event) for e in everything] == [
        ("porch", "drift_detected"),
        ("porch", "processor_updated"),
        ("garage", "drift_detected"),
    ]
    assert everything[0].fields["observed"] == ["PET"]
    assert everything[0].at == T0
    assert everything[0].as_json()["time"] == "2026-11-26T12:00:00Z"
    assert [e.event for e in reader.entries("lobby", processor="porch")] == [
        "drift_detected",
        "processor_updated",
    ]
    assert [e.processor for e in reader.entries("lobby", since=T0 + timedelta(hours=1))] == ["garage"]
    assert len(list(reader.entries("other"))) == 1


def test_prune_deletes_only_what_is_older_than_the_cutoff(tmp_path):
    history = History(tmp_path / "history.db")
    for day in range(5):
        history.record(_drift("porch"), stack="lobby", at=T0 + timedelta(days=day))
    assert history.prune(before=T0 + timedelta(days=2)) == 2
    assert [e.at for e in history.entries("lobby")] == [T0 + timedelta(days=d) for d in (2, 3, 4)]


def test_the_default_file_is_in_the_state_directory(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    assert history_path(Settings()) == tmp_path / "spd" / "history.db"
    monkeypatch.delenv("XDG_STATE_HOME")
    assert str(history_path(Settings())).endswith(".local/state/spd/history.db")


def test_the_default_file_follows_state_dir(tmp_path):
    """The systemd unit sets only SPD_STATE_DIR: the history must land there, not under a home."""
    assert history_path(Settings(state_dir=tmp_path)) == tmp_path / "history.db"
    assert history_path(Settings(state_dir=tmp_path, history_file=tmp_path / "h.db")) == tmp_path / "h.db"
