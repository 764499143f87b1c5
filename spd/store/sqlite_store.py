"""Local persistent state in SQLite: one small, generic layer over the standard library's `sqlite3`.

Every piece of state spd keeps on local disk (the emulator's processors and settings today; a session
ledger and a history later) goes through `Database`, so that all of it gets the same guarantees:

- the file and its `-wal`/`-shm` companions are private (mode 0600; SQLite gives the companions the
  main file's mode), in a directory created with mode 0700 if missing;
- WAL journal, so readers never wait for a writer and several processes can share one file; writers
  serialise on `BEGIN IMMEDIATE` with a busy timeout instead of failing at once;
- `synchronous=NORMAL`: a committed transaction survives the process being killed (SIGKILL included);
  only a power loss can take back the last few commits, which local tool state can afford;
- a schema identified by `PRAGMA application_id` (another program's database is refused, never
  altered) and versioned by `PRAGMA user_version`, upgraded by numbered migration scripts inside one
  write transaction, so two processes opening a new file at once migrate it exactly once;
- the file opened as `spd.store.state_files` says: no symlink followed, in a directory no other user can
  write to, created with private parents whatever the umask;
- one exception family carrying one line that names the file: `StoreError` (exit 78) for what the
  operator must fix (another program's file, a damaged one), `StoreTemporaryError` (exit 75) for what
  passes by itself (disk full, I/O error). SQLite failures are told apart by their error code, never by
  their message text; an open that fails leaves no empty file behind.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from spd.store.state_files import (
    FileIdentity,
    StoreError,
    StoreTemporaryError,
    disk_full_message,
    make_private_directory,
    open_private_file,
    remove_if_still_empty,
)

__all__ = [
    "Database",
    "Schema",
    "StoreError",
    "StoreTemporaryError",
    "default_state_dir",
    "is_locked",
    "is_sqlite_file",
    "primary_code",
    "sqlite_error",
    "store_errors",
]

SQLITE_HEADER = b"SQLite format 3\x00"

# Primary result codes (https://sqlite.org/rescode.html); extended codes carry them in their low byte.
SQLITE_BUSY = 5
SQLITE_LOCKED = 6
SQLITE_NOMEM = 7
SQLITE_READONLY = 8
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CANTOPEN = 14


def primary_code(exc: BaseException) -> int | None:
    """The SQLite primary result code of `exc` (its extended code's low byte), None when it has none.
    Errors are told apart by this code, never by their message (its words change between versions)."""
    code = getattr(exc, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def is_locked(exc: BaseException) -> bool:
    """Whether `exc` says another connection holds the database (SQLITE_BUSY or SQLITE_LOCKED)."""
    return primary_code(exc) in (SQLITE_BUSY, SQLITE_LOCKED)


@dataclass(frozen=True, slots=True)
class Schema:
    """What a database holds: its identity and the scripts that build it up version by version."""

    kind: str
    """How errors name this kind of file, e.g. "spd emulator state"."""
    application_id: int
    """Stored in the file header; a database carrying another id is refused."""
    migrations: Sequence[str]
    """SQL scripts; script `i` upgrades a database from version `i` to `i + 1`."""

    @property
    def version(self) -> int:
        return len(self.migrations)


def default_state_dir() -> Path:
    """The user's spd state directory, `$XDG_STATE_HOME/spd` or `~/.local/state/spd` (XDG base directory
    spec; a relative XDG_STATE_HOME is ignored): where every local state file lives unless told otherwise."""
    base = os.environ.get("XDG_STATE_HOME", "")
    root = Path(base) if base and Path(base).is_absolute() else Path.home() / ".local" / "state"
    return root / "spd"


def is_sqlite_file(path: Path) -> bool:
    """True if `path` starts with the SQLite header (False for a missing or empty file)."""
    try:
        with path.open("rb") as file:
            return file.read(len(SQLITE_HEADER)) == SQLITE_HEADER
    except FileNotFoundError:
        return False


def sqlite_error(path: Path, kind: str, exc: sqlite3.Error) -> StoreError:
    """`exc` as a one-line error naming the file, temporary or not by its SQLite error code.

    Temporary (exit 75, retried by systemd): a full disk (SQLITE_FULL, or an I/O or open error while the file
    system has no free block), an I/O error (SQLITE_IOERR: storage that hiccups, e.g. over the network,
    often recovers, and a retry costs nothing), a lock held past the busy timeout, no memory. Everything
    else is the operator's to fix (exit 78): a damaged file, another program's, a read-only file system.
    """
    primary = primary_code(exc)
    # SQLite says SQLITE_FULL only for the database and its journal; a companion that cannot grow on a
    # full disk (the -shm index) comes back as an I/O error, and a file it cannot create as CANTOPEN.
    out_of_space = primary in (SQLITE_IOERR, SQLITE_CANTOPEN) and _no_space_left(path.parent)
    if primary == SQLITE_FULL or out_of_space:
        return StoreTemporaryError(disk_full_message(path, f"write {kind}", str(exc)))
    if primary == SQLITE_IOERR:
        return StoreTemporaryError(f"{path}: I/O error on {kind} ({exc}); a temporary failure, retry")
    if is_locked(exc) or primary == SQLITE_NOMEM:
        return StoreTemporaryError(f"{path}: {kind} unavailable for now ({exc}); retry")
    if primary == SQLITE_CORRUPT:
        return StoreError(
            f"{path}: damaged {kind} database ({exc}); move it aside (spd starts a new one) or restore a copy"
        )
    if primary == SQLITE_CANTOPEN:
        return StoreError(f"{path}: cannot open {kind} ({exc})")
    if primary == SQLITE_READONLY:
        return StoreError(f"{path}: cannot write {kind} ({exc})")
    return StoreError(f"{path}: not an {kind} database ({exc})")


def _no_space_left(directory: Path) -> bool:
    try:
        info = os.statvfs(directory)
    except OSError:
        return False
    # f_files is 0 on file systems without an inode limit (btrfs): no inode count to run out of there.
    return info.f_bavail == 0 or (info.f_files > 0 and info.f_favail == 0)


@contextmanager
def store_errors(path: Path, kind: str) -> Iterator[None]:
    """Turn the SQLite errors of the block (a query on a damaged file, a full disk) into `StoreError`s."""
    try:
        yield
    except sqlite3.Error as exc:
        raise sqlite_error(path, kind, exc) from exc


class Database:
    """One connection to one state file, shared by the threads of its owner under the owner's lock.

    Autocommit by default (each statement its own transaction); `write()` or `begin_write()` /
    `commit()` / `rollback()` group a change. `data_version()` tells whether another connection
    committed since the last call, so a cache of the rows can be refreshed only when needed.
    """

    def __init__(self, path: Path, schema: Schema, *, busy_timeout: float = 30.0) -> None:
        self.path = path
        self.schema = schema
        make_private_directory(path.parent)
        created = open_private_file(path)
        try:
            self.conn = sqlite3.connect(
                path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
        except sqlite3.Error as exc:
            self._discard(created)
            raise sqlite_error(path, schema.kind, exc) from exc
        try:
            self._check_identity()  # before anything that writes, e.g. the journal mode in the header
            self._use_wal(busy_timeout)
            self.conn.execute("PRAGMA synchronous=NORMAL")
            self._migrate()
        except sqlite3.Error as exc:
            self.conn.close()
            self._discard(created)
            raise sqlite_error(path, schema.kind, exc) from exc
        except StoreError:
            self.conn.close()
            self._discard(created)
            raise

    def _discard(self, created: FileIdentity | None) -> None:
        """After a failed open: remove the file if this open created it and it is still empty."""
        if created is not None:
            remove_if_still_empty(self.path, created)

    def _use_wal(self, busy_timeout: float) -> None:
        """WAL mode, waiting out other openers: switching the journal mode answers "database is locked"
        at once, without the busy handler, while another connection of a new file holds it."""
        deadline = time.monotonic() + busy_timeout
        while True:
            try:
                self.conn.execute("PRAGMA journal_mode=WAL")
                return
            except sqlite3.OperationalError as exc:
                if not is_locked(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.01)

    def _check_identity(self) -> tuple[int, int]:
        """(application id, schema version), refusing another program's database or a newer schema."""
        schema, conn = self.schema, self.conn
        # One read transaction for the three reads: in autocommit each would see its own snapshot, and a
        # process creating the file meanwhile would look like "no id, no version, but tables".
        snapshot = not conn.in_transaction
        if snapshot:
            conn.execute("BEGIN")
        try:
            app_id = int(conn.execute("PRAGMA application_id").fetchone()[0])
            version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            tables = int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
        finally:
            # SQLite ends the transaction itself on some errors (an I/O error, a full disk); a ROLLBACK
            # then would fail too, and its error would hide the one that tells what happened.
            if snapshot and conn.in_transaction:
                conn.execute("ROLLBACK")
        if app_id == 0 and version == 0:
            if tables:
                raise StoreError(f"{self.path}: not an {schema.kind} database (it holds other tables)")
        elif app_id != schema.application_id:
            raise StoreError(f"{self.path}: not an {schema.kind} database (application id {app_id})")
        if version > schema.version:
            raise StoreError(
                f"{self.path}: {schema.kind} version {version} is newer than this spd supports "
                f"({schema.version})"
            )
        return app_id, version

    def _migrate(self) -> None:
        schema = self.schema
        with self.write() as conn:
            # Again under the write lock: another process may have created or upgraded it meanwhile.
            app_id, version = self._check_identity()
            if app_id == 0:
                conn.execute(f"PRAGMA application_id = {int(schema.application_id)}")
            for index in range(version, schema.version):
                # executescript would commit the open transaction; run the statements one by one.
                for statement in _statements(schema.migrations[index]):
                    conn.execute(statement)
            if version != schema.version:
                conn.execute(f"PRAGMA user_version = {schema.version}")

    # -- transactions ------------------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self.conn.in_transaction

    def begin_write(self) -> None:
        """Take the database's write lock now (waiting up to the busy timeout), not at the first write."""
        self.conn.execute("BEGIN IMMEDIATE")

    def begin_read(self) -> None:
        """Start a read transaction: the following reads see one consistent snapshot."""
        self.conn.execute("BEGIN")

    def commit(self) -> None:
        self.conn.execute("COMMIT")

    def rollback(self) -> None:
        if self.conn.in_transaction:
            self.conn.execute("ROLLBACK")

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """A write transaction: committed if the block succeeds, rolled back if it raises."""
        self.begin_write()
        try:
            yield self.conn
        except BaseException:
            self.rollback()
            raise
        self.commit()

    def data_version(self) -> int:
        """Changes whenever another connection commits to the file (never for this one's own commits)."""
        return int(self.conn.execute("PRAGMA data_version").fetchone()[0])

    def close(self) -> None:
        self.conn.close()


def _statements(script: str) -> Iterator[str]:
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                yield buffer.strip()
            buffer = ""
    if buffer.strip():
        yield buffer.strip()
