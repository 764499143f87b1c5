"""Which files a spec path stands for, and reading one of them, with every failure a located error.

Called by `spd.spec.loader`. A spec directory's entry that matches the spec pattern but cannot be read (a
dangling symlink, a symlink loop, a FIFO, socket, device or directory named `*.yaml`, a file spd may not
read) is an error, never a skip: skipping would drop that file's processors from the desired state, and
`apply --prune` would then delete them. A non-regular file is never opened (opening a FIFO for reading
blocks until a writer appears; opening a device can have effects): the type is checked with `stat`
first, and the open itself is non-blocking and checked again with `fstat`, in case the entry changed
in between.
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


def read_spec_text(file: Path) -> str | Diagnostic:
    """The file's text, or the diagnostic saying why it cannot be had."""
    try:
        mode = os.stat(file).st_mode
        if not stat.S_ISREG(mode):
            return _located(file, _not_regular(mode))
        fd = os.open(file, _OPEN_FLAGS)
    except OSError as exc:
        return _located(file, why_unreadable(file, exc))
    with os.fdopen(fd, "rb") as handle:
        try:
            mode = os.fstat(fd).st_mode
            if not stat.S_ISREG(mode):  # replaced between stat and open
                return _located(file, _not_regular(mode))
            raw = handle.read()
        except OSError as exc:
            return _located(file, why_unreadable(file, exc))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        column = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return Diagnostic(str(file), line, column, "", "not valid UTF-8 text")


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
