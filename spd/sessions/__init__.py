"""Connected-home sessions: triggers, the start path and the session ledger.

- `spd.sessions.trigger` (pure): a trigger body -> a `SessionRequest`, or `TriggerRefused` with a reason.
- `spd.sessions.start`: `SessionStarter`, the one start path (budget, ownership, coalescing, Start).
- `spd.sessions.notifications` (pure): an SQS message from a processor's SNS topic -> a `Notification`.
- `spd.sessions.ledger_port`: the ledger's port (`LedgerPort`) and records, whatever stores them.
- `spd.sessions.ledger`: the SQLite ledger of triggers and notifications in the state directory, and
  its adapter to the port (`SqliteLedger`); the shared table's is `spd.aws.ledger_table`.

Used by `spd session start`, `spd sessions` and the daemon's trigger, window and results paths.
"""
