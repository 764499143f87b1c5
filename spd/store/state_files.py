"""Where spd's local state files live: created private, opened without following symlinks, refused when
another user could tamper with them.

spd often runs as root (the systemd unit) and keeps its state (the session ledger, the history, the
embedded emulator's fleet) in SQLite files. Whoever can write to the directory holding such a file can
put a symlink in place of the file, or of the `-wal`/`-shm` companions SQLite opens by name itself, and
have root create or overwrite the symlink's target; or swap in a database of their own. So, as sshd's
StrictModes does for `~/.ssh`:

- missing directories are created one by one with mode 0700, whatever the umask (`mkdir -p` semantics
  would give the parents 0777 under umask 000);
- the directory holding a state file must be owned by this user or root and writable by neither group
  nor others; otherwise the open is refused (exit 78), naming the directory and the fix. Refused rather
  than warned about: a warning in a daemon's journal is read after the damage, and the companions
  cannot be protected any other way;
- an ancestor directory every user may write to without the sticky bit is refused as well (anyone could
  rename the state directory away and put their own there); a sticky one such as `/tmp` is fine;
- the file itself is opened with O_NOFOLLOW (a symlink is refused, never followed) and must be a
  regular file (checked before opening, so a FIFO or device is never opened).

Errors: `StoreError` (exit 78) for what the operator must fix; `StoreTemporaryError` (exit 75,
EX_TEMPFAIL) for what passes by itself (disk full, I/O error), so that systemd retries instead of
stopping the service as it does for 78.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

from spd.errors import ExitCode, SpdError

FILE_MODE = 0o600
DIRECTORY_MODE = 0o700

FileIdentity = tuple[int, int]
"""(device, inode) of a file, to tell later that a path still names the file this process created."""

_OPEN_FLAGS = os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK

DISK_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
TEMPORARY_ERRNOS = DISK_FULL_ERRNOS | {errno.EIO, errno.ENOMEM, errno.EAGAIN, errno.EINTR}
"""Failures that pass by themselves (space freed, a storage hiccup over): exit 75, retried. A read-only
file system (EROFS), a permission or a missing directory are not: exit 78."""

COMPANION_SUFFIXES = ("-wal", "-shm", "-journal")


class StoreError(SpdError):
    """A state file that cannot be used: not a database, another program's, damaged, too new, unsafe."""

    exit_code = ExitCode.CONFIG


class StoreTemporaryError(StoreError):
    """A state file that cannot be used for now (disk full, I/O error): exit 75, worth retrying."""

    exit_code = ExitCode.TEMPFAIL


def disk_full_message(path: Path, what: str, detail: str) -> str:
    return f"{path}: disk full: cannot {what} ({detail}); free space on its file system, then retry"


def os_error(path: Path, what: str, exc: OSError) -> StoreError:
    """`exc` (from `what`, e.g. "create this directory") as a one-line error naming `path`."""
    reason = exc.strerror or str(exc)
    if exc.errno in DISK_FULL_ERRNOS:
        return StoreTemporaryError(disk_full_message(path, what, reason))
    if exc.errno in TEMPORARY_ERRNOS:
        return StoreTemporaryError(f"{path}: cannot {what}: {reason} (a temporary failure; retry)")
    return StoreError(f"{path}: cannot {what}: {reason}")


def make_private_directory(directory: Path) -> None:
    """Create `directory` and its missing parents, each with mode 0700 (the umask can only narrow it),
    then check that it is safe to keep state in (`check_private_directory`)."""
    missing: list[Path] = []
    current = Path(os.path.abspath(directory))
    while not os.path.lexists(current) and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        try:
            os.mkdir(path, DIRECTORY_MODE)
        except FileExistsError:
            pass  # made by another process meanwhile; checked below like any existing directory
        except OSError as exc:
            raise os_error(path, "create this directory", exc) from None
    check_private_directory(directory)


def check_private_directory(directory: Path) -> None:
    """Refuse a state directory another user could write to, or that another user owns."""
    try:
        info = os.stat(directory)
    except OSError as exc:
        raise os_error(directory, "use this state directory", exc) from None
    if not stat.S_ISDIR(info.st_mode):
        raise StoreError(f"{directory}: not a directory; spd keeps its state files in a directory there")
    euid = os.geteuid()
    if info.st_uid not in (euid, 0):
        raise StoreError(
            f"{directory}: state directory owned by uid {info.st_uid}, not by this user (uid {euid}) or "
            f"root, so that user could replace spd's state files; use a directory of your own, or "
            f"`chown {euid} {directory}`"
        )
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022:
        who = "every user" if mode & stat.S_IWOTH else "its group"
        raise StoreError(
            f"{directory}: state directory writable by {who} (mode {mode:04o}), so another user could "
            f"plant a symlink or a database of their own there; `chmod go-w {directory}` (spd creates "
            f"it 0700), or use a directory of your own"
        )
    for ancestor in _ancestors(directory):
        try:
            parent = os.stat(ancestor)
        except OSError:  # pragma: no cover - an ancestor of an existing directory exists
            continue
        if parent.st_mode & stat.S_IWOTH and not parent.st_mode & stat.S_ISVTX:
            raise StoreError(
                f"{directory}: its parent directory {ancestor} is writable by every user without the "
                f"sticky bit, so anyone could move the state directory away and put their own in its "
                f"place; `chmod o-w {ancestor}` (or +t), or use another directory"
            )


def _ancestors(directory: Path) -> list[Path]:
    """The directories above `directory`, as written and as resolved (a symlink's home counts too)."""
    found: dict[Path, None] = {}
    for start in (Path(os.path.abspath(directory)), Path(os.path.realpath(directory))):
        found.update(dict.fromkeys(start.parents))
    return list(found)


def open_private_file(path: Path) -> FileIdentity | None:
    """Make sure the state file `path` exists (mode 0600), without following a symlink: its identity if
    this call created it (for `remove_if_still_empty`), None if it was there already."""
    try:
        before = os.lstat(path)
    except FileNotFoundError:
        before = None
    except OSError as exc:
        raise os_error(path, "open this state file", exc) from None
    if before is not None:
        _check_regular(path, before.st_mode)
    created = False
    try:
        if before is None:
            try:
                fd = os.open(path, _OPEN_FLAGS | os.O_CREAT | os.O_EXCL, FILE_MODE)
                created = True
            except FileExistsError:
                fd = os.open(path, _OPEN_FLAGS)
        else:
            fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise StoreError(_symlink_message(path)) from None
        raise os_error(path, "open this state file", exc) from None
    try:
        info = os.fstat(fd)
    finally:
        os.close(fd)
    _check_regular(path, info.st_mode)  # replaced between lstat and open
    return (info.st_dev, info.st_ino) if created else None


def remove_if_still_empty(path: Path, identity: FileIdentity) -> None:
    """Remove `path` if it is still the empty file this process created (a failed open leaves nothing
    behind, so the next start does not meet a 0-byte file), with its empty SQLite companions."""
    try:
        info = os.lstat(path)
    except OSError:
        return
    if (info.st_dev, info.st_ino) != identity or info.st_size != 0:
        return
    with contextlib.suppress(OSError):
        os.unlink(path)
    for suffix in COMPANION_SUFFIXES:
        companion = Path(f"{path}{suffix}")
        try:
            found = os.lstat(companion)
        except OSError:
            continue
        # An empty database holds nothing any journal could belong to: its companions are debris too.
        if stat.S_ISREG(found.st_mode):
            with contextlib.suppress(OSError):
                os.unlink(companion)


def _check_regular(path: Path, mode: int) -> None:
    if stat.S_ISLNK(mode):
        raise StoreError(_symlink_message(path))
    if not stat.S_ISREG(mode):
        raise StoreError(f"{path}: not a regular file; a state file must be one (spd creates it)")


def _symlink_message(path: Path) -> str:
    return (
        f"{path}: a symbolic link; spd never follows a symlink to a state file (another user may have "
        f"planted it): remove it, or name the real file"
    )
