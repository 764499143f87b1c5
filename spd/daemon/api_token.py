"""The bearer token of `POST /v1/sessions`, read from `api_token_file`: at start-up, on reload, per request.

Read again for every request (a few bytes) rather than cached by modification time: a token rotated
within one mtime tick, or written keeping the old time (`cp -p`, `touch -r`, a restored backup), takes
effect at once, and a token file whose mode changed at run time is checked as it is now.

The file passes the rules of every secret file (`spd.config.secret_file.read_secret`: opened without
blocking and checked through the descriptor, a regular file, no access for its group or other users,
a size cap, not empty). A refused file means 503 per request, exit 78 at start-up,
`config_reload_failed` on reload: whoever can read it can start sessions, whoever can write it can
choose the token.
"""

from __future__ import annotations

import logging
from pathlib import Path

from spd.config.secret_file import MAX_SECRET_BYTES, SecretFileProblem, read_secret
from spd.daemon.logs import LOGGER_NAME

INSECURE = "api_token_file_insecure"
"""Logged (once per change) when the token file's mode lets its group or other users at it."""
UNUSABLE = "api_token_file_unusable"
"""Logged (once per change) when the token file cannot be read, is not a regular file, or is empty."""
USABLE = "api_token_file_usable"
"""Logged once when a token file that was refused is accepted again."""

MAX_TOKEN_BYTES = MAX_SECRET_BYTES


class TokenFileProblem(Exception):
    """Why the token file cannot be used; `event` is the log event that reports it."""

    def __init__(self, event: str, message: str) -> None:
        super().__init__(message)
        self.event = event


def read_token(path: Path) -> bytes:
    """The token in `path`; TokenFileProblem, with the event that reports it, if the file is refused."""
    try:
        return read_secret(path, "api_token_file")
    except SecretFileProblem as exc:
        if exc.insecure:
            raise TokenFileProblem(INSECURE, str(exc)) from None
        raise TokenFileProblem(UNUSABLE, str(exc)) from None


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
