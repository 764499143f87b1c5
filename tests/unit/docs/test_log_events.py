"""spd.events.log_events is the one list of the daemon's log events, held to the code in both directions.

Every event name the code logs (read from the source by `emitted_events`) is in the catalogue, and every
name in the catalogue is logged somewhere, so the manual's log-events page, generated from the
catalogue, can neither miss an event nor list one that no longer exists.
"""

from __future__ import annotations

import fnmatch

import pytest

from emitted_events import Emitted, emitted
from spd import events
from spd.daemon.passes import FULL, SWEEP
from spd.events.log_events import BY_NAME, LOG_EVENTS

CORE_EVENTS = {value for name, value in vars(events).items() if name.isupper() and isinstance(value, str)}
QUEUE_READERS = {"watch", "session_queue", "session_results"}
"""The `name=` of the daemon's SQS readers (spd.daemon.queue_loop names their events after them)."""
PASS_KINDS = {FULL, SWEEP}

PASSED_THROUGH = (
    "spd/daemon/api_token.py: self._log.error(exc.event, ",  # a TokenFileProblem's name, found there
    "spd/daemon/event_out.py: log().warning(name, **fields)",  # the sinks' `_report` names, found there
    "spd/daemon/event_out.py: log().error(name, **fields)",  # the shared history's `_report` names, found there
    "spd/daemon/component.py: self.log.log(level_number(event.level), event.name",  # every core Event
    "spd/daemon/session_triggers.py: Event(event.name, ",  # a session outcome's Event, with extra fields
    "spd/daemon/session_windows.py: Event(name, dict(fields))",  # `_emit`'s callers name the event
    "spd/daemon/session_results.py: self._event(notification)",  # builds SESSION_COMPLETED/LABELS_DETECTED
    "spd/reconcile/executor.py: Event(name, ",  # `_event`'s callers name the event
    "spd/reconcile/reconciler.py: Event(name, {**_where(p.id), 'reason': p.block.text})",  # conflict or blocked
    "spd/sessions/start.py: Event(_EVENT_NAMES[self.outcome]",  # session_started/coalesced/refused
)
"""Calls whose event name is a variable, and where its values come from (each found by itself)."""


@pytest.fixture(scope="module")
def found() -> list[Emitted]:
    return emitted()


def _expansions(pattern: str, where: str) -> set[str]:
    values = QUEUE_READERS if "queue_loop" in where else PASS_KINDS
    return {pattern.replace("*", value) for value in values}


def test_the_catalogue_names_each_event_once() -> None:
    names = [event.name for event in LOG_EVENTS]
    assert len(names) == len(set(names))
    for event in LOG_EVENTS:
        assert event.level, event.name
        assert event.fields, event.name
        assert event.when, event.name


def test_every_core_event_is_catalogued() -> None:
    assert CORE_EVENTS - set(BY_NAME) == set()


def test_every_event_the_code_logs_is_catalogued(found: list[Emitted]) -> None:
    literal = {e.name for e in found if e.name is not None}
    assert literal - set(BY_NAME) == set(), "add these to spd/events/log_events.py"
    for e in found:
        if e.pattern is not None:
            expected = _expansions(e.pattern, e.where)
            if e.where.startswith("spd/daemon/queue_loop.py") and e.pattern == "*_started":
                expected -= {"watch_started"}  # the watch logs its own start (and pauses)
            assert expected - set(BY_NAME) == set(), f"{e.where}: {e.pattern}"


def test_every_name_passed_through_a_variable_is_accounted_for(found: list[Emitted]) -> None:
    dynamic = [e for e in found if e.name is None and e.pattern is None]
    unexplained = [e.call for e in dynamic if not e.call.startswith(PASSED_THROUGH)]
    assert unexplained == [], "an event name from a variable: say where its values come from"


def test_every_catalogued_event_is_logged_somewhere(found: list[Emitted]) -> None:
    logged = {e.name for e in found if e.name is not None} | CORE_EVENTS
    for e in found:
        if e.pattern is not None:
            logged |= _expansions(e.pattern, e.where)
    stale = sorted(name for name in BY_NAME if name not in logged)
    assert stale == [], "catalogued but never logged: remove them from spd/events/log_events.py"


def test_the_scan_finds_what_it_should(found: list[Emitted]) -> None:
    """The scanner sees each way the code names an event: literal, constant, alias, getattr, f-string."""
    names = {e.name for e in found}
    assert {
        "daemon_started",
        "watch_reconciled",
        "preflight_finding",
        "watch_event",
        "event_sink_dropped",
    } <= names
    assert any(fnmatch.fnmatch("watch_receive_failed", e.pattern) for e in found if e.pattern)
