"""Which files a spec path stands for, and reading one of them, with every failure a located error.

Called by `spd.spec.loader`. A spec directory's entry that matches the spec pattern but cannot be read (a
dangling symlink, a symlink loop, a FIFO, socket, device or directory named `*.yaml`, a file spd may not
read) is an error, never a skip: skipping would drop that file's processors from the desired state, and
`apply --prune` would then delete them. A non-regular file is never opened (opening a FIFO for reading
blocks until a writer appears; opening a device can have effects): the type is checked with `stat`
first, and the open itself is non-blocking and checked again with `fstat`, in case the entry changed
in between.

A spec decides which processors run on whose credentials, so, as sudo refuses a world-writable sudoers
and sshd a world-writable `authorized_keys`, a spec another user could change is refused (exit 78, a
located error naming the fix): a spec directory every user may write to (anyone could add a file, and
the sticky bit does not prevent adding), a spec file every user may write to, and a spec file in a
directory every user may write to, unless that directory is sticky and the file is this user's or root's
(then no one else can have put it there or replace it). Refused rather than warned about: `spd run`
would otherwise apply the planted processors at once, the warning read in its journal afterwards.
Write access for the group is accepted: it is a grant an administrator made (a deploy group owning
`/etc/spd`), not an accident of a mode.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from spd.errors import Diagnostic, SpecError

SPEC_SUFFIXES = (".yaml", ".yml")

_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC


def spec_files(path: Path) -> list[Path]:
    """The files a spec path stands for: itself, or the directory's *.yaml/*.yml entries, sorted.

    Entries starting with `.` are skipped (editor swap files, `..data` of a mounted ConfigMap); every
    other matching entry is returned whatever it is, for `read_spec_text` to read or to report.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as exc:
        raise SpecError([_located(path, why_unreadable(path, exc))]) from None
    if not stat.S_ISDIR(mode):
        return [path]
    if mode & stat.S_IWOTH:
        raise SpecError([_located(path, _writable_directory(mode, path))])
    try:
        with os.scandir(path) as entries:
            names = [
                entry.name
                for entry in entries
                if entry.name.endswith(SPEC_SUFFIXES) and not entry.name.startswith(".")
            ]
    except OSError as exc:
        raise SpecError([_located(path, "cannot list this directory: " + _reason(exc))]) from None
    if not names:
        raise SpecError([_located(path, "no *.yaml or *.yml spec files in this directory")])
    return [path / name for name in sorted(names)]


def read_spec_text(file: Path, *, kind: str = "spec") -> str | Diagnostic:
    """The file's text, or the diagnostic saying why it cannot be had. `kind` names the file in a
    refusal: the settings file is read the same way ("settings"), since it names the spec and the
    endpoint and so decides as much as a spec does."""
    try:
        mode = os.stat(file).st_mode
        if not stat.S_ISREG(mode):
            return _located(file, _not_regular(mode))
        fd = os.open(file, _OPEN_FLAGS)
    except OSError as exc:
        return _located(file, why_unreadable(file, exc))
    with os.fdopen(fd, "rb") as handle:
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):  # replaced between stat and open
                return _located(file, _not_regular(info.st_mode))
            untrusted = _untrusted(file, info, kind)
            if untrusted is not None:
                return _located(file, untrusted)
            raw = handle.read()
        except OSError as exc:
            return _located(file, why_unreadable(file, exc))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return Diagnostic(str(file), line, column, "", "not valid UTF-8 text")


def _untrusted(file: Path, info: os.stat_result, kind: str) -> str | None:
    """Why another user could have written or replaced the opened spec `file` (None if no one could)."""
    mode = stat.S_IMODE(info.st_mode)
    if mode & stat.S_IWOTH:
        return (
            f"this {kind} file is writable by every user (mode {mode:04o}), so anyone on this machine "
            f"could change the fleet; `chmod o-w {file}`"
        )
    home = Path(os.path.realpath(file)).parent
    try:
        folder = os.stat(home)
    except OSError:  # pragma: no cover - the directory holding an open file exists
        return None
    if not folder.st_mode & stat.S_IWOTH:
        return None
    if folder.st_mode & stat.S_ISVTX and info.st_uid in (os.geteuid(), 0):
        return None  # sticky: only its owner (this user, or root) can have put it there or replace it
    return (
        f"this {kind} file is in {home}, a directory every user may write to "
        f"(mode {stat.S_IMODE(folder.st_mode):04o}), so anyone could replace it; keep it in a "
        "directory only its owner can write to"
    )


def _writable_directory(mode: int, path: Path) -> str:
    return (
        f"this spec directory is writable by every user (mode {stat.S_IMODE(mode):04o}), so anyone on "
        f"this machine could add a spec file, and processors with it; `chmod o-w {path}`"
    )


def why_unreadable(path: Path, exc: OSError) -> str:
    """What an operator needs to hear about a failed stat or open of `path`."""
    if exc.errno == errno.ENOENT and path.is_symlink():
        try:
            target = os.readlink(path)
        except OSError:  # pragma: no cover - removed in between
            target = "?"
        return f"dangling symlink: its target {target!r} does not exist"
    if exc.errno == errno.ENOENT:
        return "no such file or directory"
    if exc.errno == errno.ELOOP:
        return "symlink loop: the path never resolves to a file (too many levels of symbolic links)"
    return "cannot read: " + _reason(exc)


def _reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return (exc.strerror or str(exc)).lower()


def _not_regular(mode: int) -> str:
    if stat.S_ISDIR(mode):
        kind = "a directory (spec directories are not read recursively)"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO (named pipe)"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:  # pragma: no cover - every other type is one of the above on Linux
        kind = "some other kind of file"
    return f"not a regular file but {kind}; a spec file must be a regular file (or a symlink to one)"


def _located(path: Path, message: str) -> Diagnostic:
    return Diagnostic(str(path), 1, 1, "", message)
