"""The daemon behind `spd run`: scheduling, signals, logs, sd_notify, health and metrics.

`spd.daemon.service.run_daemon` is the entry point (called by `spd.cli.run_cmd`). The daemon runs a list
of components of one shape, sharing one context (`component`): the passes and preflight (`pass_loop`),
the queue readers and session windows (`readers`), the watchdog, history and sinks, HTTP endpoint and
lease (`plumbing`). Below them: `passes` (one pass at a time), `logs` (structlog pipeline and
redaction), `notify` (sd_notify), `metrics` (Prometheus registry and health), `http` (the /healthz and
/metrics responder).
"""
