"""The check every file holding a secret passes: the API's bearer token, a webhook's HMAC key.

Pure standard library, no I/O beyond the one file: `settings` and `sink_settings` call it while
settings load, so a bad file is a located settings error before anything runs.
"""

from __future__ import annotations

import stat
from pathlib import Path


def read_secret(path: Path) -> bytes:
    """A secret file's bytes without surrounding whitespace (a trailing newline is usual)."""
    return path.read_bytes().strip()


def secret_file_problem(path: Path, label: str) -> str | None:
    """Why `path` cannot hold a secret (None if it can): unreadable, not a regular file (checked before
    reading, so a FIFO never blocks), readable by every user, or empty. `label` names it in the message."""
    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            return f"{label} {str(path)!r}: not a regular file"
        secret = read_secret(path)
    except OSError as exc:
        return f"{label} {str(path)!r}: cannot read: {exc.strerror or exc}"
    if info.st_mode & stat.S_IROTH:
        # Anyone on the machine could read it and act as spd's callers; refuse, as ssh refuses a readable key.
        return f"{label} {str(path)!r} is readable by every user (world-readable); chmod o-r it (e.g. 0600)"
    if not secret:
        return f"{label} {str(path)!r} is empty"
    return None
