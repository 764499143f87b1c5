"""The daemon's log pipeline: structlog JSON lines on stdout, one line per event, nothing secret.

Called once by `spd run` at start-up (and again when SIGHUP changes `log_level` or `log_format`).
spd's own events and every standard-library logger (botocore, aiobotocore, APScheduler, asyncio) go
through the same processors, so the journal holds one format. When stdout is the journal
(`$JOURNAL_STREAM` names stdout's device and inode), each line starts with the sd-daemon priority prefix
(`<3>` error, `<4>` warning, `<6>` info, `<7>` debug), so `journalctl -p warning` filters on it.

Credentials never reach a line: the `redact` processor blanks values under secret-looking keys,
access-key-shaped strings and the `user:password@` of URLs anywhere, including inside messages and
tracebacks.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Mapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from spd.config.urls import redact_userinfo

REDACTED = "[REDACTED]"

# Keys whose values are secrets wherever they appear (case-insensitive substring match).
_SECRET_KEY_PARTS = (
    "secret",
    "token",
    "authorization",
    "password",
    "passwd",
    "credential",
    "signature",
    "private_key",
)
# AWS access key ids (long-term AKIA, temporary ASIA) and the other unique-id prefixes.
_ACCESS_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|AIDA|AROA|ABIA|ACCA)[A-Z0-9]{16}\b")
# `key=value` / `'key': 'value'` / `"key": b'value'` pairs inside free text (botocore debug output,
# exception messages), and the SigV4 parts of an Authorization header.
_SECRET_PAIR = re.compile(
    r"(?i)((?:aws_)?(?:secret_access_key|secret|session_token|security[-_]token|token|authorization|"
    r"password|credential|signature)['\"]?\s*[:=]\s*b?['\"]?)([^'\"\s,;}]+)"
)

# Syslog priorities of the sd-daemon prefix, by standard-library level.
_PRIORITIES = ((logging.CRITICAL, 2), (logging.ERROR, 3), (logging.WARNING, 4), (logging.INFO, 6))

# Libraries that are chatty at INFO (APScheduler announces every job run) or DEBUG (botocore dumps every
# request); they log at WARNING and above unless the operator asks for debug.
_NOISY = ("botocore", "aiobotocore", "apscheduler", "aiohttp", "urllib3", "asyncio")

LOGGER_NAME = "spd"


def _secret_key(key: object) -> bool:
    lowered = str(key).lower()
    return any(part in lowered for part in _SECRET_KEY_PARTS)


def redact_text(text: str) -> str:
    """`text` with access key ids, `secret=value`-shaped pairs and URL passwords blanked."""
    text = redact_userinfo(text)
    text = _SECRET_PAIR.sub(lambda m: m.group(1) + REDACTED, text)
    return _ACCESS_KEY_ID.sub(REDACTED, text)


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {k: REDACTED if _secret_key(k) else _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_redact_value(v) for v in value]
    return value


def redact(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """structlog processor: no credential survives, under any key or inside any string."""
    for key in list(event_dict):
        if key.startswith("_"):
            continue  # structlog's own bookkeeping (the stdlib record), never rendered
        event_dict[key] = REDACTED if _secret_key(key) and key != "event" else _redact_value(event_dict[key])
    return event_dict


_LEADING = ("timestamp", "level", "event", "logger")


def _leading_keys(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Timestamp, level and event first: the line reads left to right in `journalctl -o cat`."""
    ordered = {k: event_dict[k] for k in _LEADING if k in event_dict}
    ordered.update(event_dict)
    return ordered


def _console_stack_key(_: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
    """Console only: show spd's `stack` field as `spd_stack=NAME`.

    structlog's ConsoleRenderer takes a `stack` key for a stack trace and prints its value on a line of
    its own, so `daemon_started` would end with a bare stack name on the next line. JSON lines keep the
    documented `stack` key.
    """
    if "stack" in event_dict:
        event_dict = {("spd_stack" if k == "stack" else k): v for k, v in event_dict.items()}
    return event_dict


def stream_is_journal(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when `stream` is the journal's stdout connection (systemd sets `$JOURNAL_STREAM=dev:ino`)."""
    dev, _, ino = environ.get("JOURNAL_STREAM", "").partition(":")
    if not dev.isdigit() or not ino.isdigit():
        return False
    try:
        st = os.fstat(stream.fileno())
    except (OSError, ValueError, AttributeError):
        return False
    return st.st_dev == int(dev) and st.st_ino == int(ino)


def syslog_priority(levelno: int) -> int:
    for threshold, priority in _PRIORITIES:
        if levelno >= threshold:
            return priority
    return 7


class _Formatter(structlog.stdlib.ProcessorFormatter):
    """ProcessorFormatter that can prefix each line with its journal priority."""

    def __init__(self, *, journal: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._journal = journal

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        return f"<{syslog_priority(record.levelno)}>{line}" if self._journal else line


class _Handler(logging.StreamHandler):  # type: ignore[type-arg]
    """Marks the handler spd installed, so a reconfiguration replaces it instead of adding another."""


def _add_logger_name(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    record = event_dict.get("_record")
    if record is not None:
        event_dict["logger"] = record.name
    elif "logger" not in event_dict:
        event_dict["logger"] = getattr(logger, "name", LOGGER_NAME)
    return event_dict


def configure_logging(
    *,
    level: str = "info",
    fmt: str = "auto",
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> structlog.stdlib.BoundLogger:
    """Install the pipeline on the root logger and return spd's structured logger.

    `fmt`: `json`, `console` (readable lines), or `auto` (JSON unless stdout is a terminal).
    """
    out = sys.stdout if stream is None else stream
    env = os.environ if environ is None else environ
    journal = stream_is_journal(out, env)
    use_json = fmt == "json" or (fmt == "auto" and (journal or not _isatty(out)))
    timestamper = structlog.processors.TimeStamper(fmt="iso", utc=True)
    _install_handler(_handler(out, journal=journal, use_json=use_json, timestamper=timestamper), level)

    stdlib_logger = logging.getLogger(LOGGER_NAME)
    logger: structlog.stdlib.BoundLogger = structlog.wrap_logger(
        stdlib_logger,
        wrapper_class=structlog.stdlib.BoundLogger,
        processors=[
            structlog.stdlib.filter_by_level,
            structlog.stdlib.add_log_level,
            _add_logger_name,
            timestamper,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
    )
    return logger


def _handler(out: TextIO, *, journal: bool, use_json: bool, timestamper: Processor) -> _Handler:
    """The one handler writing to `out`: JSON or console lines, with the journal's priority prefix."""
    renderers: list[Processor] = (
        [structlog.processors.JSONRenderer()]
        if use_json
        else [_console_stack_key, structlog.dev.ConsoleRenderer(colors=False, pad_event_to=0)]
    )
    foreign_chain: list[Processor] = [
        structlog.stdlib.add_log_level,
        _add_logger_name,
        structlog.stdlib.ExtraAdder(),
        timestamper,
    ]
    handler = _Handler(out)
    handler.setFormatter(
        _Formatter(
            journal=journal,
            foreign_pre_chain=foreign_chain,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                redact,
                _leading_keys,
                *renderers,
            ],
        )
    )
    return handler


def _install_handler(handler: _Handler, level: str) -> None:
    """On the root logger, in place of the one a previous configuration installed; the noisy
    libraries' loggers quiet unless at debug."""
    levelno = logging.getLevelNamesMapping()[level.upper()]
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(levelno)
    for name in _NOISY:
        logging.getLogger(name).setLevel(levelno if levelno <= logging.DEBUG else logging.WARNING)
    logging.captureWarnings(True)


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def level_number(name: str) -> int:
    """`info` -> logging.INFO (event levels are names, stdlib wants numbers)."""
    return logging.getLevelNamesMapping().get(name.upper(), logging.INFO)
