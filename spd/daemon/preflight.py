"""The daemon's preflight: the same look-ups as `spd check`, run at start-up and after every reload, as log
events.

`spd run` calls `PreflightTask.start` once its gateway is open and again after each successful SIGHUP
reload. The check runs as a background task beside the passes, never before them: the first full pass
does not wait for it, and whatever it finds, the daemon keeps reconciling (a missing stream is the
operator's to fix; refusing to run would also stop the repairs of every healthy processor). Each finding
is one `preflight_finding` event (error or warning level, like the finding), followed by one
`preflight_done` summary with the counts; a preflight that cannot run at all (endpoint unreachable) logs
`preflight_failed` and waits for the next reload.

The look-ups go through the daemon's own gateway (so the same client pacing and retries as observing) and
`spd.aws.references.check`, which `spd check` and `plan`/`apply` also call, with at most `concurrency`
calls in flight. A reload cancels a preflight still running for the old spec.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import structlog

from spd.aws.gateway import Gateway
from spd.aws.references import check
from spd.config.settings import Settings
from spd.errors import SpdError
from spd.model import DesiredState

Logger = structlog.stdlib.BoundLogger


def wanted(settings: Settings) -> bool:
    """Whether the daemon runs the preflight: the `preflight` setting (with `local` too, as for
    `plan`/`apply`: the sandbox holds the resources the spec references)."""
    return settings.preflight


async def run_preflight(
    gateway: Gateway, desired: DesiredState, settings: Settings, log: Logger, *, trigger: str
) -> None:
    """Look up every reference of `desired` and log what was found; never raises (but cancellation)."""
    log.info("preflight_started", trigger=trigger, stack=desired.stack, processors=len(desired.processors))
    try:
        found = await check(gateway, desired, concurrency=settings.concurrency)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.error(
            "preflight_failed",
            trigger=trigger,
            error=str(exc) or type(exc).__name__,
            error_type=type(exc).__name__,
            exc_info=not isinstance(exc, SpdError),
        )
        return
    for finding, processors in found.items():
        log_at = log.error if finding.severity == "error" else log.warning
        log_at(
            "preflight_finding",
            severity=finding.severity,
            location=finding.location,
            key_path=finding.path,
            message=finding.message,
            processor=processors[0].name if processors else None,
            target=processors[0].target if processors else None,
            processors=[p.name for p in processors],
            finding=str(finding),
        )
    errors = sum(1 for f in found if f.severity == "error")
    done = log.warning if errors else log.info
    done(
        "preflight_done",
        trigger=trigger,
        errors=errors,
        warnings=len(found) - errors,
        processors=len(desired.processors),
        note="the daemon keeps reconciling; fix the references, then reload (SIGHUP) to check again"
        if found
        else None,
    )


class PreflightTask:
    """At most one preflight in flight: starting one cancels the one before (its spec is stale)."""

    def __init__(self, *, track: Callable[[asyncio.Task[None]], None]) -> None:
        self._track = track
        self._task: asyncio.Task[None] | None = None

    def start(
        self, gateway: Gateway, desired: DesiredState, settings: Settings, log: Logger, *, trigger: str
    ) -> None:
        """Run the preflight in the background, unless the `preflight` setting turns it off."""
        self.cancel()
        if not wanted(settings):
            log.debug("preflight_skipped", trigger=trigger, reason="off with preflight=false")
            return
        task = asyncio.create_task(
            run_preflight(gateway, desired, settings, log, trigger=trigger), name="spd-preflight"
        )
        self._task = task
        self._track(task)

    def cancel(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
        self._task = None
