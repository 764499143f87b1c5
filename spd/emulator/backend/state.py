"""The emulator's state file: processors, name reservations, face collections and settings in SQLite.

Layout (schema version 1): one `emulator` row (change counter `seq`, reset `generation`, the settings as
JSON, NULL until first set), a `processors` row per (account, region, name) holding the processor's record as JSON, and a
`reserved_names` row per name in its reuse window; schema version 2 adds a `collections` row per
(account, region, CollectionId) holding `spd.emulator.backend.face_collections.Collection` as JSON; schema version 3
adds a `sandbox_references` row per resource the `--local` sandbox created for a spec (`spd.emulator.moto_services.sandbox`),
`present` until it is seen deleted, so that it is created once and never again. Every row carries the `seq` of the transaction that
last wrote it, so a process sharing the file reloads only what others changed (`EmulatorStore.changes`,
triggered by `PRAGMA data_version`); a reset bumps `generation`, which makes the others reload it all.

The file may also hold the JSON snapshot older versions wrote; `open_store` converts it once (the JSON
is kept beside it as `NAME-backup` / `NAME.json-backup`) and refuses it whole, naming the record, if
anything in it is damaged. Rows read back from SQLite are checked just as strictly.

Used by `spd.emulator.backend.service.Emulator`, which holds the lock this class relies on.
"""

from __future__ import annotations

import fcntl
import json
import os
import sqlite3
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from spd.emulator.backend.config import ConfigValueError, EmulatorConfig
from spd.emulator.backend.face_collections import Collection
from spd.emulator.backend.models import RecordError, StreamProcessor
from spd.errors import ExitCode, SpdError
from spd.store.sqlite_store import Database, Schema, StoreError, StoreTemporaryError, is_sqlite_file

LEGACY_FORMAT = "spd-emulator-state"
LEGACY_VERSION = 1

Key = tuple[str, str]
"""(account, region)."""

SCHEMA = Schema(
    kind="spd emulator state",
    application_id=0x53504445,  # "SPDE"
    migrations=(
        """
        CREATE TABLE emulator (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            seq INTEGER NOT NULL,
            generation INTEGER NOT NULL,
            config TEXT
        );
        INSERT INTO emulator (id, seq, generation, config) VALUES (1, 0, 0, NULL);
        CREATE TABLE processors (
            account TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            seq INTEGER NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (account, region, name)
        ) WITHOUT ROWID;
        CREATE INDEX processors_by_seq ON processors (seq);
        CREATE TABLE reserved_names (
            account TEXT NOT NULL,
            region TEXT NOT NULL,
            name TEXT NOT NULL,
            seq INTEGER NOT NULL,
            until REAL NOT NULL,
            PRIMARY KEY (account, region, name)
        ) WITHOUT ROWID;
        CREATE INDEX reserved_names_by_seq ON reserved_names (seq);
        """,
        """
        CREATE TABLE collections (
            account TEXT NOT NULL,
            region TEXT NOT NULL,
            collection_id TEXT NOT NULL,
            seq INTEGER NOT NULL,
            record TEXT NOT NULL,
            PRIMARY KEY (account, region, collection_id)
        ) WITHOUT ROWID;
        """,
        """
        CREATE TABLE sandbox_references (
            account TEXT NOT NULL,
            region TEXT NOT NULL,
            kind TEXT NOT NULL,
            identifier TEXT NOT NULL,
            present INTEGER NOT NULL,
            seq INTEGER NOT NULL,
            PRIMARY KEY (account, region, kind, identifier)
        ) WITHOUT ROWID;
        """,
    ),
)


@dataclass(frozen=True, slots=True)
class SandboxReference:
    """A resource the `--local` sandbox created for a spec; `present` False once it was seen deleted."""

    account: str
    region: str
    kind: str
    identifier: str
    present: bool = True

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.account, self.region, self.kind, self.identifier)


class EmulatorStateError(SpdError):
    """The state file exists but cannot be used (not a state file, damaged records, invalid settings)."""

    exit_code = ExitCode.CONFIG


@dataclass(slots=True)
class Changes:
    """Records committed by other processes since the last look (all of them when `full`)."""

    full: bool
    config: EmulatorConfig | None
    """The settings, when they changed (always when `full`)."""
    processors: list[tuple[Key, StreamProcessor]] = field(default_factory=list)
    reservations: list[tuple[Key, str, float]] = field(default_factory=list)
    collections: dict[Key, dict[str, Collection]] = field(default_factory=dict)
    """Every face collection (few and small, so read whole whenever anything changed: that also carries
    deletions)."""


class EmulatorStore:
    """The open state file. Not thread-safe: the owning `Emulator` calls it under its lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.db = Database(path, SCHEMA)
        except StoreTemporaryError:
            raise  # a full disk stays temporary (exit 75), not a broken state file
        except StoreError as exc:
            raise EmulatorStateError(str(exc)) from exc
        self._data_version: int | None = None
        self._seq = -1
        self._generation: int | None = None
        self._config_text: str | None = None

    def close(self) -> None:
        self.db.close()

    # -- reading -----------------------------------------------------------------------------------

    def changes(self) -> Changes | None:
        """What others committed since the last call (everything on the first), or None if nothing."""
        version = self.db.data_version()
        if version == self._data_version:
            return None
        self._data_version = version
        own = not self.db.in_transaction
        if own:
            self.db.begin_read()
        try:
            seq, generation, config_text = self.db.conn.execute(
                "SELECT seq, generation, config FROM emulator WHERE id = 1"
            ).fetchone()
            full = generation != self._generation
            since = -1 if full else self._seq
            if seq == self._seq and not full:
                return None
            changes = Changes(
                full=full,
                config=self._parse_config(config_text) if full or config_text != self._config_text else None,
            )
            for account, region, name, record in self.db.conn.execute(
                "SELECT account, region, name, record FROM processors WHERE seq > ?", (since,)
            ):
                key = (str(account), str(region))
                changes.processors.append((key, self._parse_row(key, str(name), record)))
            for account, region, name, until in self.db.conn.execute(
                "SELECT account, region, name, until FROM reserved_names WHERE seq > ?", (since,)
            ):
                if isinstance(until, bool) or not isinstance(until, int | float):
                    raise self._damaged(
                        f"name reservation {account}/{region}/{name}: {until!r} is not a time"
                    )
                changes.reservations.append(((str(account), str(region)), str(name), float(until)))
            changes.collections = self.collections()
        finally:
            if own:
                self.db.commit()
        self._seq, self._generation, self._config_text = seq, generation, config_text
        return changes

    def processor(self, key: Key, name: str) -> StreamProcessor | None:
        row = self.db.conn.execute(
            "SELECT record FROM processors WHERE account = ? AND region = ? AND name = ?", (*key, name)
        ).fetchone()
        return None if row is None else self._parse_row(key, name, row[0])

    def collections(self) -> dict[Key, dict[str, Collection]]:
        """Every stored face collection, by (account, region) and CollectionId."""
        out: dict[Key, dict[str, Collection]] = {}
        for account, region, collection_id, record in self.db.conn.execute(
            "SELECT account, region, collection_id, record FROM collections"
        ):
            key = (str(account), str(region))
            try:
                collection = Collection.from_json(str(collection_id), json.loads(record))
            except (TypeError, ValueError) as exc:
                raise self._damaged(f"collection {account}/{region}/{collection_id}: {exc}") from None
            out.setdefault(key, {})[collection.collection_id] = collection
        return out

    def sandbox_references(self) -> list[SandboxReference]:
        """Every resource the sandbox has provided, present or since deleted."""
        return [
            SandboxReference(str(account), str(region), str(kind), str(identifier), bool(present))
            for account, region, kind, identifier, present in self.db.conn.execute(
                "SELECT account, region, kind, identifier, present FROM sandbox_references"
            )
        ]

    def save_sandbox_references(self, references: list[SandboxReference]) -> None:
        """Record (insert or update) sandbox references in the open write transaction."""
        conn = self.db.conn
        (seq,) = conn.execute("UPDATE emulator SET seq = seq + 1 WHERE id = 1 RETURNING seq").fetchone()
        for ref in references:
            conn.execute(
                "INSERT OR REPLACE INTO sandbox_references (account, region, kind, identifier, present, seq) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (ref.account, ref.region, ref.kind, ref.identifier, int(ref.present), seq),
            )
        self._seq = seq

    def reservation(self, key: Key, name: str) -> float | None:
        row = self.db.conn.execute(
            "SELECT until FROM reserved_names WHERE account = ? AND region = ? AND name = ?", (*key, name)
        ).fetchone()
        return None if row is None else float(row[0])

    def _parse_row(self, key: Key, name: str, record: object) -> StreamProcessor:
        where = f"processor {key[0]}/{key[1]}/{name}"
        try:
            data = json.loads(record) if isinstance(record, str) else None
        except ValueError:
            data = None
        if data is None:
            raise self._damaged(f"{where}: the record is not JSON")
        try:
            processor = StreamProcessor.from_json(data)
        except RecordError as exc:
            raise self._damaged(f"{where}: {exc}") from None
        if processor.name != name:
            raise self._damaged(f"{where}: the record is named {processor.name!r}")
        return processor

    def config(self) -> EmulatorConfig | None:
        """The stored settings (None if never set)."""
        (text,) = self.db.conn.execute("SELECT config FROM emulator WHERE id = 1").fetchone()
        return self._parse_config(text)

    def _parse_config(self, text: object) -> EmulatorConfig | None:
        if text is None:
            return None
        try:
            data = json.loads(text) if isinstance(text, str) else None
            if not isinstance(data, dict):
                raise ConfigValueError("not a JSON object")
            return EmulatorConfig().updated(data)
        except ValueError as exc:
            raise self._damaged(f"settings: {exc}") from None

    def _damaged(self, message: str) -> EmulatorStateError:
        return EmulatorStateError(f"{self.path}: damaged emulator state: {message}")

    # -- writing (inside `begin`/`commit`) ---------------------------------------------------------

    def begin(self) -> Changes | None:
        """Take the write lock and return what others committed before it was granted."""
        self.db.begin_write()
        try:
            return self.changes()
        except BaseException:
            self.db.rollback()
            raise

    def save(
        self,
        processors: Mapping[Key, Mapping[str, StreamProcessor | None]],
        reservations: Mapping[Key, Mapping[str, float | None]],
        config: EmulatorConfig | None = None,
    ) -> None:
        """Write changed records (None: delete it) in the open write transaction."""
        conn = self.db.conn
        (seq,) = conn.execute("UPDATE emulator SET seq = seq + 1 WHERE id = 1 RETURNING seq").fetchone()
        records = {
            key: {
                name: None if processor is None else json.dumps(processor.to_json(), separators=(",", ":"))
                for name, processor in named.items()
            }
            for key, named in processors.items()
        }
        _write_rows(conn, "processors", "record", records, seq)
        _write_rows(conn, "reserved_names", "until", reservations, seq)
        if config is not None:
            text = json.dumps(config.to_json(), separators=(",", ":"), sort_keys=True)
            conn.execute("UPDATE emulator SET config = ? WHERE id = 1", (text,))
            self._config_text = text
        self._seq = seq

    def save_collection(self, key: Key, collection_id: str, collection: Collection | None) -> None:
        """Write (None: delete) one face collection in the open write transaction."""
        conn = self.db.conn
        (seq,) = conn.execute("UPDATE emulator SET seq = seq + 1 WHERE id = 1 RETURNING seq").fetchone()
        if collection is None:
            conn.execute(
                "DELETE FROM collections WHERE account = ? AND region = ? AND collection_id = ?",
                (*key, collection_id),
            )
        else:
            conn.execute(
                "INSERT OR REPLACE INTO collections (account, region, collection_id, seq, record) "
                "VALUES (?, ?, ?, ?, ?)",
                (*key, collection_id, seq, json.dumps(collection.to_json(), separators=(",", ":"))),
            )
        self._seq = seq

    def clear(self) -> None:
        """Forget every record and setting (in the open write transaction); others reload everything."""
        conn = self.db.conn
        conn.execute("DELETE FROM processors")
        conn.execute("DELETE FROM collections")
        conn.execute("DELETE FROM sandbox_references")
        conn.execute("DELETE FROM reserved_names")
        seq, generation = conn.execute(
            "UPDATE emulator SET seq = seq + 1, generation = generation + 1, config = '{}' WHERE id = 1 "
            "RETURNING seq, generation"
        ).fetchone()
        self._seq, self._generation, self._config_text = seq, generation, "{}"

    def commit(self) -> None:
        self.db.commit()

    def rollback(self) -> None:
        self.db.rollback()

    @property
    def in_write(self) -> bool:
        return self.db.in_transaction


# -- opening, and converting the JSON snapshot of older versions ---------------------------------------


def open_store(path: Path, *, legacy: Path | None = None) -> EmulatorStore:
    """Open (creating if missing) the state database at `path`.

    If `path` holds the JSON snapshot of older versions it is converted in place; if `path` does not
    exist and `legacy` (a JSON snapshot elsewhere) does, that is converted into `path`.
    """
    try:
        size = path.stat().st_size
        sqlite = bool(size) and is_sqlite_file(path)
    except FileNotFoundError:
        size, sqlite = None, False
    except OSError as exc:
        raise EmulatorStateError(f"{path}: cannot read emulator state: {exc.strerror or exc}") from exc
    if size:
        if not sqlite:
            _convert_json(path, path)
    elif size is None and legacy is not None and legacy.exists():
        _convert_json(legacy, path)
    return EmulatorStore(path)


def _backup_name(source: Path) -> Path:
    base = source.name + ("-backup" if source.suffix == ".json" else ".json-backup")
    candidate = source.with_name(base)
    n = 1
    while candidate.exists():
        candidate = source.with_name(f"{base}.{n}")
        n += 1
    return candidate


def _convert_json(source: Path, target: Path) -> None:
    """Convert the JSON snapshot `source` into a new database at `target`, once, whole or not at all.

    Under an exclusive lock on the JSON file, so that processes starting together convert it once; the
    database appears at `target` in one rename, so no process ever sees a half-converted state.
    """
    try:
        file = source.open("rb")
    except FileNotFoundError:
        return  # another process converted it meanwhile
    except OSError as exc:
        raise EmulatorStateError(f"{source}: cannot read emulator state: {exc}") from exc
    temporary = target.with_name(f".{target.name}.{os.getpid()}.converting")
    with file:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX)
        try:
            if os.stat(source).st_ino != os.fstat(file.fileno()).st_ino:
                return  # replaced by the converted database while this process waited
        except FileNotFoundError:
            return
        if source != target and target.exists():
            return
        config, backends = parse_legacy_state(source, file.read())
        try:
            store = EmulatorStore(temporary)
            try:
                store.begin()
                store.save(
                    {key: {p.name: p for p in processors} for key, (processors, _) in backends.items()},
                    {key: reserved for key, (_, reserved) in backends.items()},
                    config,
                )
                store.commit()
            finally:
                store.close()
            os.link(source, _backup_name(source))
            os.replace(temporary, target)
            if source != target:
                source.unlink()
        finally:
            for leftover in _with_companions(temporary):
                leftover.unlink(missing_ok=True)


def _with_companions(path: Path) -> Iterator[Path]:
    yield path
    for suffix in ("-wal", "-shm", "-journal"):
        yield path.with_name(path.name + suffix)


LegacyBackends = dict[Key, tuple[list[StreamProcessor], dict[str, float | None]]]


def parse_legacy_state(path: Path, raw: bytes) -> tuple[EmulatorConfig, LegacyBackends]:
    """Read and check a whole JSON snapshot; `EmulatorStateError` names the first damaged record."""

    def damaged(message: str) -> EmulatorStateError:
        return EmulatorStateError(f"{path}: damaged emulator state: {message}")

    try:
        data = json.loads(raw.decode("utf-8"))
    except (UnicodeError, ValueError) as exc:
        raise EmulatorStateError(
            f"{path}: not an spd emulator state file (neither an SQLite database nor JSON: {exc})"
        ) from None
    if not isinstance(data, dict) or data.get("format") != LEGACY_FORMAT:
        raise EmulatorStateError(f"{path}: not an spd emulator state file")
    if data.get("version") != LEGACY_VERSION:
        raise EmulatorStateError(f"{path}: unsupported state version {data.get('version')!r}")
    settings = data.get("config") or {}
    try:
        if not isinstance(settings, dict):
            raise ConfigValueError("not a JSON object")
        config = EmulatorConfig().updated(settings)
    except ValueError as exc:
        raise damaged(f"settings: {exc}") from None
    accounts = data.get("accounts") or {}
    if not isinstance(accounts, dict):
        raise damaged("'accounts' is not an object")
    backends: LegacyBackends = {}
    for account, regions in accounts.items():
        if not isinstance(regions, dict):
            raise damaged(f"account {account}: not an object of regions")
        for region, backend in regions.items():
            key = (str(account), str(region))
            if not isinstance(backend, dict):
                raise damaged(f"region {account}/{region}: not an object")
            processors: list[StreamProcessor] = []
            seen: set[str] = set()
            items: Any = backend.get("processors") or []
            if not isinstance(items, list):
                raise damaged(f"region {account}/{region}: 'processors' is not a list")
            for index, item in enumerate(items):
                label = item.get("name") if isinstance(item, dict) else None
                where = f"processor {account}/{region}/{label if isinstance(label, str) else f'#{index + 1}'}"
                try:
                    processor = StreamProcessor.from_json(item)
                except RecordError as exc:
                    raise damaged(f"{where}: {exc}") from None
                if processor.name in seen:
                    raise damaged(f"{where}: two records of this name")
                seen.add(processor.name)
                processors.append(processor)
            reserved: dict[str, float | None] = {}
            names: Any = backend.get("reserved_names") or {}
            if not isinstance(names, dict):
                raise damaged(f"region {account}/{region}: 'reserved_names' is not an object")
            for name, until in names.items():
                if isinstance(until, bool) or not isinstance(until, int | float):
                    raise damaged(f"name reservation {account}/{region}/{name}: {until!r} is not a time")
                reserved[str(name)] = float(until)
            backends[key] = (processors, reserved)
    return config, backends


def _write_rows(
    conn: sqlite3.Connection,
    table: str,
    column: str,
    rows: Mapping[Key, Mapping[str, object | None]],
    seq: int,
) -> None:
    """Upsert each (account, region, name) row's `column` with change number `seq`; None deletes the row.

    `table` and `column` are this module's own names, never input.
    """
    for (account, region), named in rows.items():
        for name, value in named.items():
            if value is None:
                conn.execute(
                    f"DELETE FROM {table} WHERE account = ? AND region = ? AND name = ?",
                    (account, region, name),
                )
            else:
                conn.execute(
                    f"INSERT OR REPLACE INTO {table} (account, region, name, seq, {column}) VALUES (?, ?, ?, ?, ?)",
                    (account, region, name, seq, value),
                )
