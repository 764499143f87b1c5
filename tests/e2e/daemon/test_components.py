"""The daemon's component life cycle, with in-memory components: start in order, reload in order, close
in reverse order (those needing the lease first), each close bounded, a failing close never keeping the
lease from being released.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import structlog

from spd.daemon import service
from spd.daemon.component import Component, Config, Context
from spd.daemon.notify import Notifier
from spd.daemon.service import Daemon, load_config
from spd.ha.lease import Role
from spdrun import home, write_spec


class Recorded(Component):
    """Appends what the daemon asked of it to a shared journal."""

    def __init__(
        self, name: str, journal: list[str], *, needs_lease: bool = False, close: str = "ok"
    ) -> None:
        self.name = name
        self.needs_lease = needs_lease
        self._journal = journal
        self._close = close
        self.grace: float | None = None

    async def start(self, ctx: Context) -> None:
        self._journal.append(f"start {self.name}")

    async def reload(self, ctx: Context, old: Config, new: Config) -> None:
        assert ctx.config is new
        self._journal.append(f"reload {self.name}")

    def on_role(self, role: Role, why: str) -> None:
        self._journal.append(f"{role} {self.name}")

    async def close(self, grace: float) -> None:
        self._journal.append(f"close {self.name}")
        self.grace = grace
        if self._close == "slow":
            await asyncio.sleep(0.6)
        if self._close == "raise":
            raise RuntimeError(f"{self.name} would not close")
        if self._close == "hang":
            await asyncio.sleep(3600)


def _daemon(tmp_path: Path, log: list[dict[str, object]]) -> tuple[Daemon, Config]:
    config = load_config(None, {"spec": write_spec(tmp_path / "spec.yaml", [home("porch")])}, environ={})

    def capture(_logger: object, method: str, event: dict[str, object]) -> str:
        log.append({"level": method, **event})
        return json.dumps(event, default=str)

    logger = structlog.wrap_logger(None, processors=[capture], logger_factory=structlog.ReturnLoggerFactory())
    daemon = Daemon(
        config,
        reload=lambda: config,
        log=logger,  # type: ignore[arg-type]
        notifier=Notifier.from_environ({}),
        environ={},
    )
    return daemon, config


def test_the_daemon_runs_one_list_of_components_in_start_order(tmp_path: Path) -> None:
    daemon, _ = _daemon(tmp_path, [])
    names = [c.name for c in daemon.components]
    assert names == [
        "watchdog",
        "events",
        "sessions",
        "http",
        "announce",
        "lease",
        "shards",
        "passes",
        "watch",
        "session_results",
        "session_queue",
        "session_windows",
        "preflight",
        "timers",
    ]
    # What acts on the fleet comes after the leases (the leader lease, the shard leases), so it is
    # closed before they are released.
    leases = names.index("shards")
    assert all(c.needs_lease == (i > leases) for i, c in enumerate(daemon.components))


async def test_shutdown_closes_what_needs_the_lease_first_then_the_rest_in_reverse(tmp_path: Path) -> None:
    journal: list[str] = []
    daemon, _ = _daemon(tmp_path, [])
    daemon.started = [
        Recorded("events", journal),
        Recorded("lease", journal),
        Recorded("passes", journal, needs_lease=True),
        Recorded("watch", journal, needs_lease=True),
    ]
    await daemon._shutdown()
    assert journal == ["close watch", "close passes", "close lease", "close events"]
    assert daemon.started == []


async def test_a_component_failing_to_close_keeps_neither_the_lease_nor_the_rest_from_closing(
    tmp_path: Path,
) -> None:
    journal: list[str] = []
    log: list[dict[str, object]] = []
    daemon, _ = _daemon(tmp_path, log)
    daemon.started = [
        Recorded("events", journal, close="raise"),
        Recorded("lease", journal),
        Recorded("passes", journal, needs_lease=True, close="raise"),
        Recorded("watch", journal, needs_lease=True),
    ]
    await daemon._shutdown()
    assert journal == ["close watch", "close passes", "close lease", "close events"]
    failed = [e for e in log if e["event"] == "component_close_failed"]
    assert [e["component"] for e in failed] == ["passes", "events"]
    assert failed[0]["error"] == "passes would not close"


def _grace(daemon: Daemon, seconds: float) -> None:
    settings = daemon.context.settings.model_copy(update={"grace_period": seconds})
    daemon.context.config = Config(settings, daemon.context.desired)


async def test_each_close_is_bounded_by_the_grace_period(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CLOSE_SLACK", 0.2)
    journal: list[str] = []
    log: list[dict[str, object]] = []
    daemon, _ = _daemon(tmp_path, log)
    _grace(daemon, 0.1)
    daemon.started = [Recorded("lease", journal), Recorded("watch", journal, needs_lease=True, close="hang")]
    await asyncio.wait_for(daemon._shutdown(), 30)
    assert journal == ["close watch", "close lease"]
    closes = [(e["component"], e["error_type"]) for e in log if e["event"] == "component_close_failed"]
    assert closes == [("watch", "TimeoutError")]


async def test_what_needs_the_lease_shares_one_grace_period_the_rest_gets_it_whole(tmp_path: Path) -> None:
    """Like the pass and the watch's reconciles before: waiting for work in flight stays within one
    grace period in all, however many components have some."""
    journal: list[str] = []
    daemon, _ = _daemon(tmp_path, [])
    _grace(daemon, 1.0)
    events, passes, watch = (
        Recorded("events", journal),
        Recorded("passes", journal, needs_lease=True),
        Recorded("watch", journal, needs_lease=True, close="slow"),
    )
    daemon.started = [events, passes, watch]
    await daemon._shutdown()
    assert watch.grace is not None
    assert passes.grace is not None
    assert watch.grace <= 1.0
    assert passes.grace <= 1.0 - 0.6 + 0.05
    assert events.grace == 1.0


async def test_a_component_that_fails_to_start_leaves_the_started_ones_to_close(tmp_path: Path) -> None:
    journal: list[str] = []
    daemon, _ = _daemon(tmp_path, [])

    class Broken(Recorded):
        async def start(self, ctx: Context) -> None:
            raise RuntimeError("cannot start")

    daemon.components = [Recorded("events", journal), Broken("http", journal), Recorded("passes", journal)]
    with pytest.raises(RuntimeError, match="cannot start"):
        await daemon._start()
    assert [c.name for c in daemon.started] == ["events"]
    await daemon._close(list(daemon.started), 1.0)
    assert journal == ["start events", "close events"]
    assert daemon.started == []


async def test_a_reload_reaches_every_started_component_in_order_with_the_new_config(tmp_path: Path) -> None:
    journal: list[str] = []
    log: list[dict[str, object]] = []
    daemon, config = _daemon(tmp_path, log)
    daemon.started = [Recorded("events", journal), Recorded("passes", journal, needs_lease=True)]
    new = Config(config.settings.model_copy(update={"interval": 99.0}), config.desired)
    await daemon._apply(config, new, [])
    assert journal == ["reload events", "reload passes"]
    assert daemon.context.config is new
    [reloaded] = [e for e in log if e["event"] == "config_reloaded"]
    assert reloaded["changed_settings"] == ["interval"]


def test_only_started_components_that_need_the_lease_hear_of_a_change_of_role(tmp_path: Path) -> None:
    journal: list[str] = []
    daemon, _ = _daemon(tmp_path, [])
    daemon.started = [Recorded("http", journal), Recorded("passes", journal, needs_lease=True)]
    daemon._on_role(Role.LEADER, "acquired")
    daemon._on_role(Role.STANDBY, "lost")
    assert journal == [f"{Role.LEADER} passes", f"{Role.STANDBY} passes"]
    assert daemon.context.metrics.leader._value.get() == 0
