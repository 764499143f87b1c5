"""Every log event the daemon writes: its name, level, fields and when it happens, defined once.

The daemon's lines are a product contract: dashboards, alerts and `jq` filters select on `event`. This
table is where every name is written down; the log-events page of the manual is generated from it
(`spd.docs`), and `tests/unit/docs/test_log_events.py` holds it to the code both ways: every name the code
logs is here, and every name here is logged somewhere. Names the core reports are the constants of
`spd.events`; the daemon adds its own (start-up, reloads, queues, the lease, the preflight).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LogEvent:
    """One log event: `name` is the line's `event` field; `fields` and `when` are for people."""

    name: str
    level: str
    fields: str
    when: str
    group: str


_DAEMON = "The daemon"
_PROCESSOR = "Processors"
_PASSES = "Passes"
_SESSIONS = "Sessions"
_WATCH = "The watch"
_OUT = "Event sinks and history"
_LEASE = "High availability"
_PREFLIGHT = "Preflight"

LOG_EVENTS: tuple[LogEvent, ...] = (
    # -- the daemon's life --
    LogEvent(
        "daemon_started",
        "info",
        "`version`, `pid`, `spec`, `stack`, `processors`, `interval`, `status_interval`, `metrics_address` (the bound address), `endpoint` (`aws`, `local` or the URL)",
        "start-up, before the first pass",
        _DAEMON,
    ),
    LogEvent(
        "config_invalid",
        "error",
        "`source` (`spec` or `settings`), `errors` (`file:line:col: key.path: message` lines)",
        "start-up with an invalid spec or settings; exit 78 follows",
        _DAEMON,
    ),
    LogEvent(
        "spec_warning",
        "warning",
        "`warning` (`file:line:col: ...`)",
        "start-up and reload, once per warning of the spec",
        _DAEMON,
    ),
    LogEvent(
        "config_reloaded",
        "info",
        "`spec`, `stack`, `processors`, `changed_settings`, `restart_required`",
        "SIGHUP with a valid spec and settings; a full pass follows at once",
        _DAEMON,
    ),
    LogEvent(
        "config_restart_required",
        "warning",
        "`settings`, `note`",
        "a reload changed settings that only a restart applies (`endpoint_url`, `local`, `local_state`, `rate_limits`, `max_attempts`, `metrics_address`, `watch_queue_url`, `results_queue_url`, `event_sinks`, `history_file`, `session_queue_url`, `ha`); the running values are kept",
        _DAEMON,
    ),
    LogEvent(
        "config_reload_failed",
        "error",
        "`source` (`spec`, `settings`, or `unexpected` for an error spd did not foresee), `errors` (`file:line:col: …` lines), `kept_spec`, `kept_processors`",
        "SIGHUP with an invalid spec or settings; the previous ones keep running",
        _DAEMON,
    ),
    LogEvent(
        "shutdown_started",
        "info",
        "`signal`, `grace_period`, `in_flight` (`reconcile`, `status_sweep` or null)",
        "SIGTERM or SIGINT",
        _DAEMON,
    ),
    LogEvent(
        "pass_abandoned",
        "warning",
        "`kind`, `grace_period`, `note`",
        "the pass in flight outlived the grace period and was cancelled",
        _DAEMON,
    ),
    LogEvent(
        "component_close_failed",
        "error",
        "`component` (`passes`, `watch`, `lease`, `events`...), `error`, `error_type`",
        "a part of the daemon failed to stop, or outlived the grace period while stopping; the others "
        "(and the lease's release) still close",
        _DAEMON,
    ),
    LogEvent("daemon_stopped", "info", "`reason`", "last line before exit 0", _DAEMON),
    LogEvent(
        "daemon_failed", "error", "`error`, `error_type`", "the daemon could not run at all; exit 1", _DAEMON
    ),
    LogEvent(
        "notify_dropped",
        "warning",
        "`dropped` (since the last such line), `dropped_total`, `field` (first field of the message, e.g. `WATCHDOG`), `error`, `note`; logger `spd.notify`",
        "an sd_notify message could not be sent at once (the socket's queue is full or it is gone) and was dropped; at most one line a minute",
        _DAEMON,
    ),
    LogEvent(
        "http_request_failed",
        "error",
        "`error`, `error_type`",
        "a request to the daemon's HTTP server raised what no handler foresaw; it is answered 500",
        _DAEMON,
    ),
    LogEvent(
        "api_token_file_unusable",
        "error",
        "`path`, `error`",
        "the `api_token_file` cannot be read, is not a regular file, is empty or too large (once per change); `POST /v1/sessions` is refused meanwhile",
        _SESSIONS,
    ),
    LogEvent(
        "api_token_file_insecure",
        "error",
        "`path`, `error`",
        "the `api_token_file` is readable or writable by its group or other users (once per change); refused like an unusable one",
        _SESSIONS,
    ),
    LogEvent(
        "api_token_file_usable",
        "info",
        "`path`",
        "a token file that was refused is accepted again (once)",
        _SESSIONS,
    ),
    # -- passes --
    LogEvent(
        "reconcile_completed",
        "info",
        "`duration` (s), `api_calls`, `api_calls_by_operation`, `processors`, `planned` (actions by kind), `done` (steps by kind: create, start, stop, update, tag, delete), `drifted`, `errors`",
        "end of every full pass",
        _PASSES,
    ),
    LogEvent(
        "reconcile_failed",
        "error",
        "`error`, `error_type`, `duration`, `consecutive_failures`",
        "a full pass failed as a whole; retried next interval",
        _PASSES,
    ),
    LogEvent(
        "status_sweep_completed",
        "info",
        "`duration`, `processors` (listed), `drifted`, `started`, `stopped`, `errors`, `disowned` (left alone: no longer this stack's), `api_calls`",
        "end of every sweep",
        _PASSES,
    ),
    LogEvent(
        "status_sweep_failed",
        "error",
        "`error`, `error_type`, `duration`, `consecutive_failures`",
        "a sweep failed as a whole",
        _PASSES,
    ),
    LogEvent(
        "status_sweep_skipped", "debug", "`reason`", "a sweep came due while a pass was running", _PASSES
    ),
    LogEvent(
        "target_failed",
        "error",
        "`target`, `error`",
        "a declared target could not be read (role not assumed, unreachable): once per pass; nothing of it is planned, the other targets carry on",
        _PASSES,
    ),
    # -- one processor --
    LogEvent(
        "drift_detected",
        "warning",
        "`processor`, `region`, `field` (e.g. `status`, `connected_home.labels`, `tags.team`), `desired`, `observed`; full passes add `forces_replacement`, sweeps add `source: status_sweep`",
        "a processor of the spec differs from it, one line per field",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_adopted",
        "info",
        "`processor`, `region`, `stack`",
        "`spd apply --adopt` tagged a processor for this stack (the daemon never adopts)",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_created",
        "info",
        "`processor`, `region`, `kind` (`face_search` or `connected_home`)",
        "created",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_updated",
        "info",
        "`processor`, `region`, `fields`",
        "updated in place (settings and/or tags)",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_replaced",
        "info",
        "`processor`, `region`, `fields` (those forcing the replacement)",
        "deleted and created again",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_started",
        "info",
        "`processor`, `region`, `previous_status`; after a FAILED status also `restart` (count) and `next_restart_after` (seconds)",
        "started",
        _PROCESSOR,
    ),
    LogEvent("processor_stopped", "info", "`processor`, `region`", "stopped", _PROCESSOR),
    LogEvent("processor_deleted", "info", "`processor`, `region`", "pruned (`prune: true`)", _PROCESSOR),
    LogEvent(
        "processor_failed",
        "error",
        "`processor`, `region`, `status_message`",
        "a processor is in FAILED",
        _PROCESSOR,
    ),
    LogEvent(
        "restart_deferred",
        "warning",
        "`processor`, `region`, `failures`, `retry_in` (seconds)",
        "a FAILED processor is waiting out its restart backoff",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_conflict",
        "warning",
        "`processor`, `region`, `reason`",
        "the name belongs to a processor without this stack's tag; never touched",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_blocked",
        "warning",
        "`processor`, `region`, `reason`",
        "`protect: true` (or pruning off) blocks a change",
        _PROCESSOR,
    ),
    LogEvent(
        "processor_error",
        "error",
        "`processor`, `region`, `error`, `steps_done`",
        "a step failed for this processor, or it could not be read (full pass); the others carry on",
        _PROCESSOR,
    ),
    LogEvent(
        "ownership_lost",
        "warning",
        "`processor`, `region`, `step` (`start`, `stop`, `update`, `tag`, `untag`, `delete`, `create`), `owner` (its `spd:stack` tag now, null if none), `steps_done`",
        "just before a step, the processor no longer carries this stack's tag (untagged or retagged since it was observed): no call is made on it; a sweep also forgets it until a full pass finds it ours again",
        _PROCESSOR,
    ),
    # -- the preflight --
    LogEvent(
        "preflight_started",
        "info",
        "`trigger` (`start`, `reload`, `leader`), `stack`, `processors`",
        "the preflight begins, in the background beside the first pass",
        _PREFLIGHT,
    ),
    LogEvent(
        "preflight_finding",
        "error / warning",
        "`severity`, `location` (`file:line:col`), `key_path`, `message`, `processor`, `target`, `processors` (all sharing the reference through `defaults`), `finding`",
        "one per finding, at the finding's level",
        _PREFLIGHT,
    ),
    LogEvent(
        "preflight_done",
        "info (warning with errors)",
        "`trigger`, `errors`, `warnings`, `processors`, `note`",
        "the preflight finished; the daemon keeps reconciling either way",
        _PREFLIGHT,
    ),
    LogEvent(
        "preflight_failed",
        "error",
        "`trigger`, `error`, `error_type`",
        "the preflight could not run at all (endpoint unreachable); tried again at the next reload",
        _PREFLIGHT,
    ),
    LogEvent(
        "preflight_skipped",
        "debug",
        "`trigger`, `reason`",
        "`preflight: false`, or a standby (it runs the preflight on becoming leader)",
        _PREFLIGHT,
    ),
    # -- sessions --
    LogEvent(
        "session_started",
        "info",
        "`processor`, `region`, `target`, `trigger` (`http`, `sqs`, `window`), `session_id`, `reason`, `refusal`, `max_duration_seconds`, `selector`; `message_id` for `sqs`",
        "a trigger started a session",
        _SESSIONS,
    ),
    LogEvent(
        "session_coalesced",
        "info",
        "as `session_started`",
        "a trigger found a session open: no second Start",
        _SESSIONS,
    ),
    LogEvent(
        "session_refused",
        "warning",
        "as `session_started`",
        "a trigger was refused (`refusal` says why)",
        _SESSIONS,
    ),
    LogEvent(
        "session_window_opened",
        "info",
        "`processor`, `region`, `cron`, `timezone`, `opened_at`, `closes_at`",
        "a session window opened (its cron fired, or it was already in progress at start-up or reload)",
        _SESSIONS,
    ),
    LogEvent(
        "session_window_closed",
        "info",
        "`processor`, `region`, `sessions_started`, `coalesced`, `refused`",
        "the window's time is up (or a reload removed it)",
        _SESSIONS,
    ),
    LogEvent(
        "session_queue_started", "info", "`queue`, `region`", "the SQS trigger queue is being read", _SESSIONS
    ),
    LogEvent(
        "session_queue_receive_failed",
        "error",
        "`queue`, `error`, `error_type`, `consecutive_failures`, `retry_in`",
        "the trigger queue could not be read (retried with backoff up to 60 s)",
        _SESSIONS,
    ),
    LogEvent(
        "session_queue_receive_recovered",
        "info",
        "`queue`, `after_failures`",
        "the trigger queue could be read again",
        _SESSIONS,
    ),
    LogEvent(
        "session_queue_delete_failed",
        "error",
        "`error`, `messages`",
        "handled trigger messages could not be deleted",
        _SESSIONS,
    ),
    LogEvent(
        "session_queue_message_failed",
        "error",
        "`queue`, `message_id`, `error_type`, `error`, `raised_at`, `action` (`kept for redelivery` or `deleted`)",
        "handling one message raised; a temporary error keeps it for SQS to deliver again, any other deletes it; the other messages carry on",
        _SESSIONS,
    ),
    LogEvent(
        "session_queue_stopped",
        "error",
        "`queue`, `reason`; `error_type` when it raised",
        "the queue's reader ended without being closed (once); `/healthz` names the stopped reader",
        _SESSIONS,
    ),
    LogEvent(
        "session_queue_retry_later",
        "warning",
        "`messages`, `note`",
        "triggers that met a temporary service error are left on the queue for SQS to deliver again",
        _SESSIONS,
    ),
    LogEvent(
        "session_results_started", "info", "`queue`, `region`", "start-up with `results_queue_url`", _SESSIONS
    ),
    LogEvent(
        "session_completed",
        "info",
        "`processor`, `region`, `target` (both from the ledger's row for the session; null when it was not started here), `session_id`, `event_id`, `processed_seconds`",
        "a session's STREAM_PROCESSING_COMPLETE notification reached the ledger (once: a redelivery gives nothing)",
        _SESSIONS,
    ),
    LogEvent(
        "labels_detected",
        "info",
        "`processor`, `region`, `session_id`, `event_id`, `labels`",
        "a LABEL_DETECTED notification reached the ledger (once)",
        _SESSIONS,
    ),
    LogEvent(
        "session_notification_malformed",
        "warning",
        "`message_id`, `error`, `body` (first 200 characters)",
        "a results-queue message is not a notification in the documented format; deleted",
        _SESSIONS,
    ),
    LogEvent(
        "session_notification_failed",
        "error",
        "`message_id`, `session_id`, `error`, `error_type`",
        "the ledger could not take a notification; the message stays on the queue",
        _SESSIONS,
    ),
    LogEvent(
        "session_notification_duplicate",
        "debug",
        "`message_id`, `session_id`, `event_id`",
        "a redelivered notification; nothing changes",
        _SESSIONS,
    ),
    LogEvent(
        "session_results_receive_failed",
        "error",
        "`queue`, `error`, `error_type`, `consecutive_failures`, `retry_in`",
        "the results queue could not be read (retried with backoff up to 60 s)",
        _SESSIONS,
    ),
    LogEvent(
        "session_results_receive_recovered",
        "info",
        "`queue`, `after_failures`",
        "the results queue could be read again",
        _SESSIONS,
    ),
    LogEvent(
        "session_results_delete_failed",
        "error",
        "`error`, `messages`",
        "handled messages could not be deleted (they come back; a redelivery changes nothing)",
        _SESSIONS,
    ),
    LogEvent(
        "session_results_message_failed",
        "error",
        "`queue`, `message_id`, `error_type`, `error`, `raised_at`, `action` (`kept for redelivery` or `deleted`)",
        "handling one message raised; a temporary error keeps it for SQS to deliver again, any other deletes it; the other messages carry on",
        _SESSIONS,
    ),
    LogEvent(
        "session_results_stopped",
        "error",
        "`queue`, `reason`; `error_type` when it raised",
        "the queue's reader ended without being closed (once); `/healthz` names the stopped reader",
        _SESSIONS,
    ),
    LogEvent(
        "session_notification_values_dropped",
        "warning",
        "`message_id`, `session_id`, `dropped`",
        "a notification carried values out of range; they are left out, the rest is recorded",
        _SESSIONS,
    ),
    LogEvent(
        "session_ledger_failed",
        "error",
        "the trigger's outcome fields (as `session_started`), `error`, `note`",
        "a trigger's outcome could not be written to the session ledger (an intent row then stays, counted against the budget)",
        _SESSIONS,
    ),
    # -- the watch --
    LogEvent(
        "watch_started",
        "info",
        "`queue`, `region`",
        "the watch begins reading: at start-up, or, with `ha.table`, on becoming leader",
        _WATCH,
    ),
    LogEvent(
        "watch_paused",
        "info",
        "`queue`, `reason` (`standby`)",
        "the daemon lost the lease: the watch reads nothing until it leads again",
        _WATCH,
    ),
    LogEvent(
        "watch_event",
        "info (`debug` for own calls, `warning` when malformed)",
        "`outcome`, `ignored` (the reason, or null), `message_id`, `processor`, `region`, `event_name`, `user_agent` (up to 512 characters); `error` when malformed",
        "every message read (`debug` too for `not_my_shard`: under `ha.mode: shards`, a processor of a shard another daemon holds, its message made visible again at once for that daemon)",
        _WATCH,
    ),
    LogEvent(
        "watch_reconciled",
        "info",
        "`processor`, `region`, `planned`, `done`, `drifted`, `errors`, `api_calls`, `api_calls_by_operation`, `duration`",
        "one processor reconciled for the watch (its drift and actions are logged as `drift_detected`, `processor_updated`... as in a pass)",
        _WATCH,
    ),
    LogEvent(
        "watch_reconcile_failed",
        "error",
        "`processor`, `region`, `error`, `error_type`",
        "that reconcile failed as a whole",
        _WATCH,
    ),
    LogEvent(
        "watch_receive_failed",
        "error",
        "`queue`, `error`, `error_type`, `consecutive_failures`, `retry_in`",
        "the queue cannot be read (missing, denied, unreachable); retried with backoff up to 60 s",
        _WATCH,
    ),
    LogEvent(
        "watch_receive_recovered",
        "info",
        "`queue`, `after_failures`",
        "the queue could be read again",
        _WATCH,
    ),
    LogEvent(
        "watch_delete_failed",
        "error",
        "`error`, `messages`",
        "handled messages could not be deleted (they will come back and be handled again)",
        _WATCH,
    ),
    LogEvent(
        "watch_release_failed",
        "warning",
        "`message_id`, `error`",
        "under `ha.mode: shards`, a message for another daemon's shard could not be made visible again at once; SQS delivers it again after its visibility timeout",
        _WATCH,
    ),
    LogEvent(
        "watch_message_failed",
        "error",
        "`queue`, `message_id`, `error_type`, `error`, `raised_at`, `action` (`kept for redelivery` or `deleted`)",
        "handling one message raised; a temporary error keeps it for SQS to deliver again, any other deletes it; the other messages carry on",
        _WATCH,
    ),
    LogEvent(
        "watch_stopped",
        "error",
        "`queue`, `reason`; `error_type` when it raised",
        "the queue's reader ended without being closed (once); `/healthz` names the stopped reader",
        _WATCH,
    ),
    # -- events out --
    LogEvent(
        "event_sink_dropped",
        "warning",
        "`sink` (e.g. `webhook:https://hooks.example.com/spd`), `reason` (`queue_full`, `retries_exhausted`, `shutdown`), `error`, `event_type`, `event_id`, `attempts`",
        "an event sink never got an event",
        _OUT,
    ),
    LogEvent(
        "history_pruned",
        "info",
        "`removed`, `retention_days`",
        "start-up and hourly, when events older than `history_retention` were deleted",
        _OUT,
    ),
    LogEvent(
        "history_write_failed",
        "error",
        "`path` (the file, or `store table '<name>'`), `error`, `lost` (at shutdown, with the shared store)",
        "the history could not take an event (once per outage); passes go on. With the shared store a "
        "failed batch stays buffered and is tried again a second later",
        _OUT,
    ),
    LogEvent(
        "history_events_dropped",
        "error",
        "`table`, `dropped`, `error` (when the table refused the batch)",
        "the shared store's history buffer passed 10000 events while its table could not be written (the oldest were dropped), or the table refused a batch as invalid",
        _OUT,
    ),
    LogEvent(
        "history_prune_failed",
        "error",
        "`path`, `error`",
        "old events could not be deleted from the history file; tried again in an hour",
        _OUT,
    ),
    # -- the lease --
    LogEvent(
        "leader_acquired",
        "info",
        "`lease`, `table`, `holder`, `lease_seconds`, `how` (`lease was free` or `took over an expired lease`), `previous_holder`",
        "this daemon holds the lease and reconciles",
        _LEASE,
    ),
    LogEvent(
        "leader_lost",
        "warning",
        "`lease`, `holder`, `reason` (`released on shutdown`, `the lease record changed: another daemon holds it`, or the danger zone reached)",
        "this daemon stopped leading",
        _LEASE,
    ),
    LogEvent(
        "lease_error",
        "warning",
        "`operation`, `error`",
        "the lease could not be read or written; once per new error",
        _LEASE,
    ),
    LogEvent(
        "shard_acquired",
        "info",
        "`shard`, `table`, `holder`, `lease_seconds`, `how` (`lease was free` or `took over an expired lease`), `previous_holder`",
        "under `ha.mode: shards`, this daemon holds the shard's lease and reconciles its processors",
        _LEASE,
    ),
    LogEvent(
        "shard_released",
        "info",
        "`shard`, `holder`, `reason` (`beyond quota N`, `no longer in the spec`, `released on shutdown`)",
        "under `ha.mode: shards`, this daemon gave the shard up so another takes it at its next read",
        _LEASE,
    ),
    LogEvent(
        "shard_lost",
        "warning",
        "`shard`, `holder`, `reason` (`the lease record changed: another daemon holds it`, or the danger zone reached)",
        "under `ha.mode: shards`, this daemon stopped holding the shard without giving it up",
        _LEASE,
    ),
    LogEvent(
        "mutation_refused",
        "warning",
        "`processor`, `region`, `step`, `reason`, `steps_done`",
        "a mutating call the lease guard stopped: this daemon is no longer (safely) the holder",
        _LEASE,
    ),
)

BY_NAME: dict[str, LogEvent] = {event.name: event for event in LOG_EVENTS}
