"""The daemon's session triggers: `POST /v1/sessions` and the SQS trigger queue, through the one start path.

Started by `spd.daemon.service.Daemon`. Both hand each trigger body to `spd.sessions.start.SessionStarter`
(validate, budget, ownership, coalesce, Start), the same path as `spd session start` and the windows
(`spd.daemon.session_windows`), so a trigger is refused, coalesced or started the same way wherever it
came from. Triggers for one processor are handled one at a time (a lock per processor): the second of
two simultaneous triggers then reads the session the first opened and is coalesced without a second
Start call, instead of losing a race at the service.

- HTTP: a bearer token from `api_token_file` guards the route (compared in constant time; the file is
  read per request and refused when others may read it, `spd.daemon.api_token`); without a token file
  the daemon refuses to listen beyond loopback (`exposure_problem`: exit 78 at start-up, a failed
  reload on SIGHUP). The answer is the outcome's JSON with a status code per outcome (`status_code`).
  A standby answers 503 and starts nothing: only the lease holder runs sessions. The lease is asked
  again, through the daemon's mutation gate (the same one its reconciler asks), immediately before
  every StartStreamProcessor (`SessionStarter`).
- SQS: long-polled with the watch's queue reader (`spd.aws.watch_queue`). Every message is deleted once
  handled, a malformed or refused one included (logged as `session_refused` with its reason; never
  retried forever); only a temporary refusal (a service error, this daemon no longer the lease holder,
  a ledger that cannot be written) leaves it for SQS to deliver again. A standby reads nothing.
"""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import structlog

from spd.aws.gateway import Gateway
from spd.aws.watch_queue import QueueMessage, WatchQueue
from spd.config.settings import Settings
from spd.config.urls import is_loopback_host
from spd.daemon.api_token import TokenFile
from spd.daemon.http import Request, Response
from spd.daemon.queue_loop import QueueReader, open_queue
from spd.events import Event, EventSink
from spd.model import DesiredState
from spd.reconcile.mutation_gate import OPEN, MutationGate
from spd.reconcile.processor_locks import ProcessorLocks
from spd.sessions.ledger_port import LedgerPort
from spd.sessions.start import Outcome, SessionOutcome, SessionStarter
from spd.sessions.trigger import RefusalReason, SessionRequest, TriggerSource

Logger = structlog.stdlib.BoundLogger

SESSIONS_PATH = "/v1/sessions"
_JSON = "application/json"

REFUSAL_STATUS: Mapping[RefusalReason, int] = {
    RefusalReason.MALFORMED: 400,
    RefusalReason.SECONDS_TIMESTAMP: 400,
    RefusalReason.BAD_TIMESTAMP: 400,
    RefusalReason.BOTH_SELECTORS: 400,
    RefusalReason.BAD_FRAGMENT: 400,
    RefusalReason.BAD_DURATION: 400,
    RefusalReason.AMBIGUOUS_PROCESSOR: 400,
    RefusalReason.UNKNOWN_PROCESSOR: 404,
    RefusalReason.FACE_SEARCH: 409,
    RefusalReason.NOT_FOUND: 409,
    RefusalReason.NOT_OWNED: 409,
    RefusalReason.BUDGET: 429,
    RefusalReason.SERVICE_ERROR: 502,
    RefusalReason.NOT_LEADER: 503,
    RefusalReason.LEDGER_UNAVAILABLE: 503,
}
"""The HTTP status of each refusal: 400 a bad body, 404 a name the spec lacks, 409 a processor that
cannot run a session (face_search, not applied yet, not this stack's), 429 the day's budget spent,
502 the service failed (503 instead when the error is temporary), 503 this daemon may not act now
(the lease may be another's) or its ledger cannot be written."""


def status_code(outcome: SessionOutcome) -> int:
    """201 started, 200 coalesced (a session is open: what the trigger asked for), else per refusal."""
    if outcome.outcome is Outcome.STARTED:
        return 201
    if outcome.outcome is Outcome.COALESCED:
        return 200
    if outcome.temporary:
        return 503
    return REFUSAL_STATUS.get(outcome.refusal or RefusalReason.MALFORMED, 400)


def exposure_problem(settings: Settings) -> str | None:
    """Why the daemon must not listen as configured (None: it may): `POST /v1/sessions` starts sessions,
    so beyond loopback it needs a bearer token."""
    if not settings.metrics_address or settings.api_token_file is not None:
        return None
    host = settings.metrics_address.rpartition(":")[0].strip("[]")
    if is_loopback_host(host):
        return None
    return (
        f"listens on {settings.metrics_address}, beyond loopback, without api_token_file "
        "(SPD_API_TOKEN_FILE): POST /v1/sessions would start sessions for anyone who can reach it; "
        "set a token file or listen on 127.0.0.1"
    )


def _json(code: int, body: Mapping[str, Any]) -> Response:
    return code, _JSON, (json.dumps(body) + "\n").encode()


class SessionTriggers:
    """The starter as the daemon uses it: the current spec and stack, one ledger, a lock per processor."""

    def __init__(
        self,
        gateway: Gateway,
        ledger: Callable[[], LedgerPort],
        *,
        settings: Callable[[], Settings],
        desired: Callable[[], DesiredState],
        on_event: EventSink,
        active: Callable[[], bool],
        gate: MutationGate = OPEN,
    ) -> None:
        """`ledger` opens the ledger on first use (a daemon that never sees a trigger writes nothing);
        `active`: False while this daemon is a standby (high availability): then nothing starts;
        `gate`: the daemon's mutation gate (its lease, then ownership), asked right before every Start."""
        self._gateway = gateway
        self._ledger = ledger
        self._settings = settings
        self._desired = desired
        self._on_event = on_event
        self.active = active
        self._gate = gate
        self._locks = ProcessorLocks()
        self._token = TokenFile()

    def _starter(self, on_event: EventSink) -> SessionStarter:
        return SessionStarter(
            gateway=self._gateway,
            stack=self._desired().stack,
            ledger=self._ledger,
            on_event=on_event,
            gate=self._gate,
        )

    async def trigger(
        self, body: str | bytes, *, source: TriggerSource, fields: Mapping[str, Any] | None = None
    ) -> SessionOutcome:
        """One trigger body through the start path; `fields` are added to its event (e.g. message_id)."""
        extra = dict(fields or {})

        def emit(event: Event) -> None:
            self._on_event(Event(event.name, {**event.fields, **extra}) if extra else event)

        starter = self._starter(emit)
        request = await starter.request(body, self._desired(), source=source)
        if isinstance(request, SessionOutcome):
            return request
        return await self.start(request, starter=starter)

    async def start(
        self, request: SessionRequest, *, starter: SessionStarter | None = None
    ) -> SessionOutcome:
        """A checked request (a window's), one at a time per processor."""
        async with self._locks.hold(request.processor):
            return await (starter or self._starter(self._on_event)).start(request)

    # -- POST /v1/sessions ----------------------------------------------------------------------------

    async def handle_http(self, request: Request) -> Response:
        """`POST /v1/sessions`: authenticate, then one trigger; never a traceback."""
        token_file = self._settings().api_token_file
        if token_file is not None:
            expected = self._token.token(token_file)
            if expected is None:
                return _json(503, {"error": "the API token file is refused; see the daemon's log"})
            scheme, _, given = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode("utf-8", "replace"), expected
            ):
                return _json(401, {"error": "missing or wrong bearer token (Authorization: Bearer <token>)"})
        if not self.active():
            return _json(
                503,
                {
                    "error": "this daemon is a standby (another daemon holds the lease); send triggers to the leader"
                },
            )
        # Shielded: a caller that hangs up (or the server's read timeout) must not cut a trigger off
        # between its Start and its ledger row; it finishes and is counted either way.
        outcome = await asyncio.shield(self.trigger(request.body, source=TriggerSource.HTTP))
        return _json(status_code(outcome), outcome.document())


class SessionQueueReader(QueueReader):
    """Reads the trigger queue until closed; every message is deleted once handled, unless temporary."""

    def __init__(
        self,
        queue: WatchQueue,
        triggers: SessionTriggers,
        *,
        log: Callable[[], Logger],
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        super().__init__(
            queue,
            name="session_queue",
            handle=self.handle,
            active=triggers.active,
            log=log,
            sleep=sleep,
            concurrent=True,
        )
        self._triggers = triggers

    async def handle(self, message: QueueMessage) -> bool:
        """Trigger one message; False (leave it for SQS to deliver again) only for a temporary failure.
        Messages of a batch are handled concurrently (one at a time per processor); one that raises is
        logged and deleted, or kept if the failure is temporary (the ledger's disk), by the reader loop."""
        outcome = await self._triggers.trigger(
            message.body, source=TriggerSource.SQS, fields={"message_id": message.message_id}
        )
        if outcome.temporary:
            self._log().warning(
                "session_queue_retry_later",
                messages=[message.message_id],
                note="a temporary refusal: SQS delivers these again after their visibility timeout",
            )
            return False
        return True


def open_session_queue(
    gateway: Gateway,
    url: str,
    triggers: SessionTriggers,
    *,
    spec_regions: tuple[str, ...],
    environ: Mapping[str, str],
    log: Callable[[], Logger],
) -> SessionQueueReader:
    """A started reader of `url`, in the URL's region (AWS queue URLs name it), else `spd.config.fallback_region`'s."""
    reader = SessionQueueReader(open_queue(gateway, url, spec_regions, environ), triggers, log=log)
    reader.start()
    return reader
