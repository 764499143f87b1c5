"""The bearer token of `POST /v1/sessions`, read from `api_token_file`: at start-up, on reload, per request.

Read again for every request (a few bytes) rather than cached by modification time: a token rotated
within one mtime tick, or written keeping the old time (`cp -p`, `touch -r`, a restored backup), takes
effect at once, and a token file whose mode changed at run time is checked as it is now.

A file that its group or other users may read or write is refused (503 per request, exit 78 at
start-up, `config_reload_failed` on reload): whoever can read it can start sessions, whoever can write
it can choose the token. The file is opened without blocking and checked through the open descriptor,
so a FIFO or device put in its place never stalls the event loop, and what is checked is what is read.
The token is the file's bytes without surrounding whitespace, as `spd.secret_file.read_secret` reads
every secret.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from spd.daemon.logs import LOGGER_NAME

INSECURE = "api_token_file_insecure"
"""Logged (once per change) when the token file's mode lets its group or other users at it."""
UNUSABLE = "api_token_file_unusable"
"""Logged (once per change) when the token file cannot be read, is not a regular file, or is empty."""
USABLE = "api_token_file_usable"
"""Logged once when a token file that was refused is accepted again."""

MAX_TOKEN_BYTES = 4096
"""A token file longer than this is refused: a token is tens of bytes, and every request reads it."""


class TokenFileProblem(Exception):
    """Why the token file cannot be used; `event` is the log event that reports it."""

    def __init__(self, event: str, message: str) -> None:
        super().__init__(message)
        self.event = event


def read_token(path: Path) -> bytes:
    """The token in `path`; TokenFileProblem if the file cannot hold it (see the module docstring)."""
    where = f"api_token_file {str(path)!r}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise TokenFileProblem(UNUSABLE, f"cannot open {where} ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise TokenFileProblem(UNUSABLE, f"{where} is not a regular file")
        if info.st_mode & 0o077:
            raise TokenFileProblem(
                INSECURE,
                f"{where} is readable or writable by its group or other users "
                f"(mode {stat.S_IMODE(info.st_mode):04o}); chmod 600 it",
            )
        data = os.read(fd, MAX_TOKEN_BYTES + 1)
    except OSError as exc:
        raise TokenFileProblem(UNUSABLE, f"cannot read {where} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_TOKEN_BYTES:
        raise TokenFileProblem(UNUSABLE, f"{where} is larger than {MAX_TOKEN_BYTES} bytes")
    token = data.strip()
    if not token:
        raise TokenFileProblem(UNUSABLE, f"{where} is empty")
    return token


def token_file_problem(path: Path) -> str | None:
    """Why `path` cannot be the token file (None: it can); settings loading calls it at start-up and
    on every reload, so a bad file is a located settings error before anything listens."""
    try:
        read_token(path)
    except TokenFileProblem as exc:
        return str(exc)
    return None


class TokenFile:
    """The token as requests see it: read per request, each new problem logged once (not per request)."""

    def __init__(self, log: logging.Logger | None = None) -> None:
        # The standard-library logger: the daemon's pipeline renders its records as JSON lines like
        # every other event (spd.daemon.logs), and this needs no logger handed down through the wiring.
        self._log = log or logging.getLogger(LOGGER_NAME)
        self._reported: str | None = None

    def token(self, path: Path) -> bytes | None:
        """The current token, or None (the file is refused; logged when the reason is new)."""
        try:
            token = read_token(path)
        except TokenFileProblem as exc:
            if str(exc) != self._reported:
                self._reported = str(exc)
                self._log.error(exc.event, extra={"path": str(path), "error": str(exc)})
            return None
        if self._reported is not None:
            self._reported = None
            self._log.info(USABLE, extra={"path": str(path)})
        return token
