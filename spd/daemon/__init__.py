"""The daemon behind `spd run`: scheduling, signals, logs, sd_notify, health and metrics.

`spd.daemon.service.run_daemon` is the entry point (called by `spd.cli.run_cmd`); the other modules are
its parts: `passes` (one pass at a time), `logs` (structlog pipeline and redaction), `notify`
(sd_notify), `metrics` (Prometheus registry and health), `http` (the /healthz and /metrics responder).
"""
