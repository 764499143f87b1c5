"""The one reader of a file that holds a secret: the API's bearer token, a webhook's HMAC key.

Both are the same kind of file, so one set of rules, the stricter the better, since whoever reads
either can act as spd's callers or forge its events:

- the file is opened without blocking and checked through the open descriptor, so a FIFO or device
  put in its place never stalls the caller (the daemon's event loop, settings loading), and what is
  checked is what is read;
- it must be a regular file;
- its group and other users must have no access at all (mode bits 077): whoever can read it holds
  the secret, whoever can write it can choose it (ssh refuses a readable key the same way);
- at most `MAX_SECRET_BYTES`: a secret is tens of bytes, and the API token is read for every request;
- the secret is the file's bytes without surrounding whitespace (a trailing newline is usual), and must
  not be empty.

Pure standard library, no I/O beyond the one file: `settings` and `sink_settings` call it while
settings load, so a bad file is a located settings error before anything runs; the daemon calls it
again when it uses the secret.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MAX_SECRET_BYTES = 4096
"""A secret file longer than this is refused: a token or HMAC key is tens of bytes."""


class SecretFileProblem(Exception):
    """Why a file cannot hold a secret. `insecure`: its mode lets the group or other users at it (a
    problem of its permissions, reported apart from a missing, odd or empty file)."""

    def __init__(self, message: str, *, insecure: bool = False) -> None:
        super().__init__(message)
        self.insecure = insecure


def _mode_problem(where: str, mode: int) -> str:
    shown = f"mode {stat.S_IMODE(mode):04o}"
    if mode & stat.S_IROTH:
        return f"{where} is readable by every user (world-readable, {shown}); chmod 600 it"
    return f"{where} is readable or writable by its group or other users ({shown}); chmod 600 it"


def read_secret(path: Path, label: str) -> bytes:
    """The secret in `path`; SecretFileProblem (naming it `label`) if the file cannot hold one."""
    where = f"{label} {str(path)!r}"
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise SecretFileProblem(f"cannot read {where} ({exc.strerror or exc})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise SecretFileProblem(f"{where} is not a regular file")
        if info.st_mode & 0o077:
            raise SecretFileProblem(_mode_problem(where, info.st_mode), insecure=True)
        data = os.read(fd, MAX_SECRET_BYTES + 1)
    except OSError as exc:
        raise SecretFileProblem(f"cannot read {where} ({exc.strerror or exc})") from None
    finally:
        os.close(fd)
    if len(data) > MAX_SECRET_BYTES:
        raise SecretFileProblem(f"{where} is larger than {MAX_SECRET_BYTES} bytes")
    secret = data.strip()
    if not secret:
        raise SecretFileProblem(f"{where} is empty")
    return secret


def secret_file_problem(path: Path, label: str) -> str | None:
    """Why `path` cannot hold a secret (None if it can), for a settings validator's message."""
    try:
        read_secret(path, label)
    except SecretFileProblem as exc:
        return str(exc)
    return None
