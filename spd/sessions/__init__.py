"""Connected-home sessions: triggers, the start path and the session ledger.

- `spd.sessions.trigger` (pure): a trigger body -> a `SessionRequest`, or `TriggerRefused` with a reason.
- `spd.sessions.start`: `SessionStarter`, the one start path (budget, ownership, coalescing, Start).
- `spd.sessions.notifications` (pure): an SQS message from a processor's SNS topic -> a `Notification`.
- `spd.sessions.ledger`: the SQLite ledger of triggers and notifications in the state directory.

Used by `spd session start`, `spd sessions` and the daemon's trigger, window and results paths.
"""
