"""`Emulator`: one emulator instance's whole state and the operations the HTTP layers call.

It owns the stream-processor backends (one moto `BaseBackend` per account and region), the current
`EmulatorConfig`, fault rules, TPS buckets, statistics and the optional state file, plus the injected
clock, sleep and random source.

Everything that reads or changes processors or settings happens under `Emulator.lock`. With a state file
(`spd.emulator.backend.state`, SQLite in WAL mode) that lock also keeps the memory in step with the file, which
other processes may share: taking it first reloads the records others committed since (checked with one
`PRAGMA data_version`), every change starts by taking the file's write lock (`BEGIN IMMEDIATE`, from the
backend's `before_change` hook) and reloading again, so its checks see the latest state, and `persist()`
writes just the changed records and commits before the response goes out. A change that fails is rolled
back and its records restored from the file when the lock is released. Readers never wait for writers.

Faults, TPS buckets and statistics are runtime aids, never persisted, under a lock of their own so that
counting a call never touches the state file.

The backends are kept here rather than in a moto `BackendDict` on purpose: a `BackendDict` is a
process-wide registry that moto's own `/moto-api/reset` clears and that only admits boto3's region list,
while this state must belong to one emulator (the embedded one and a test's own can share a process), be
persisted with it, and accept whatever region the request was signed for.

Used by `spd.emulator.http.responses` (the Rekognition operations), `spd.emulator.http.control` (the control API),
and the entry points (`spd.emulator.http.server`, `spd.emulator.embedded`, `spd emulator`).
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from types import TracebackType
from typing import Any

from spd.emulator.backend.config import EmulatorConfig
from spd.emulator.backend.errors import RekognitionError
from spd.emulator.backend.face_collections import Collection, already_exists, collection_not_found
from spd.emulator.backend.faults import FaultInjector, Stats, TokenBuckets
from spd.emulator.backend.models import StreamProcessor, StreamProcessorBackend
from spd.emulator.backend.sessions import DetectionError, ScriptedLabel, Sessions, parse_detections
from spd.emulator.backend.state import (
    Changes,
    EmulatorStateError,
    EmulatorStore,
    Key,
    SandboxReference,
    open_store,
)

__all__ = ["DEFAULT_ACCOUNT", "CallRecord", "Emulator", "EmulatorStateError"]

DEFAULT_ACCOUNT = "123456789012"
"""moto's default account, which every request with unknown credentials maps to."""


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One handled request, for the per-call log line of `spd emulator`."""

    operation: str
    region: str
    name: str | None
    status: int
    error_code: str | None = None

    def log_line(self) -> str:
        line = f"{self.operation} {self.region} {self.name or '-'} {self.status}"
        return f"{line} {self.error_code}" if self.error_code else line


class _StateLock:
    """`Emulator.lock`: a re-entrant lock whose outermost acquisition syncs with the state file.

    Entering reloads what other processes committed; leaving ends a write transaction the body left
    open (a change that raised before `persist`), rolling it back and restoring the records it touched.
    """

    def __init__(self, emulator: Emulator) -> None:
        self._lock = threading.RLock()
        self._depth = 0
        self._emulator = emulator

    def __enter__(self) -> _StateLock:
        self._lock.acquire()
        self._depth += 1
        if self._depth == 1:
            try:
                self._emulator._sync()
            except BaseException:
                self._depth -= 1
                self._lock.release()
                raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        try:
            if self._depth == 1:
                self._emulator._abandon_write()
        finally:
            self._depth -= 1
            self._lock.release()


class Emulator:
    """The emulated service; thread-safe, time-injectable, optionally persisted (and shareable)."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        legacy_state_file: Path | None = None,
        config: EmulatorConfig | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_call: Callable[[CallRecord], None] | None = None,
        strict: bool = False,
    ) -> None:
        """`legacy_state_file`: a JSON state of older versions to convert into `state_file` if that is
        missing. `strict`: `strict_references` on whatever the settings say (the `--local` sandbox).
        Raises `EmulatorStateError` if the state file is unusable."""
        self.lock = _StateLock(self)
        self._runtime_lock = threading.RLock()
        self.state_file = state_file
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.on_call = on_call
        self._config = config or EmulatorConfig()
        self._config_changed = False
        self._backends: dict[Key, StreamProcessorBackend] = {}
        self._collections: dict[Key, dict[str, Collection]] = {}
        self._faults = FaultInjector()
        self._buckets = TokenBuckets()
        self._stats = Stats()
        self._account_stats: dict[str, Stats] = {}
        """The same counters per account (calls, throttled, injected: what `admit` sees)."""
        self._rng = random.Random(self._config.random_seed)
        self.sessions = Sessions(clock=clock)
        """Connected-home sessions' timers and scripted detections (runtime only, never persisted)."""
        self._strict = strict
        self._sandbox: dict[tuple[str, str, str, str], SandboxReference] = {}
        self._store: EmulatorStore | None = None
        if state_file is not None:
            self._store = open_store(state_file, legacy=legacy_state_file)
            try:
                with self.lock:
                    self._restore_sandbox()  # the first sync loaded everything else
            except BaseException:
                self._store.close()
                raise

    def close(self) -> None:
        """Cancel the session timers and close the state file (everything acknowledged is committed)."""
        self.sessions.close()
        with self.lock:
            if self._store is not None:
                self._store.close()
                self._store = None

    # -- state -------------------------------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        if self._strict and not self._config.strict_references:
            return replace(self._config, strict_references=True)
        return self._config

    def now(self) -> float:
        return self.clock()

    def backend(self, account: str, region: str) -> StreamProcessorBackend:
        key = (account, region)
        backend = self._backends.get(key)
        if backend is None:
            with self.lock:
                backend = self._backends.get(key)
                if backend is None:
                    backend = StreamProcessorBackend(region, account)
                    backend.before_change = self._begin_write
                    self._backends[key] = backend
        return backend

    def configure(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """Apply a partial config change (`ConfigValueError` if invalid) and persist it."""
        with self.lock:
            self._begin_write()
            new = self._config.updated(changes)
            self._set_config(new, reseed="random_seed" in changes)
            self._config_changed = True
            self.persist()
            return new

    def _set_config(self, new: EmulatorConfig, *, reseed: bool = False) -> None:
        with self._runtime_lock:
            if reseed or new.random_seed != self._config.random_seed:
                self._rng = random.Random(new.random_seed)
            if new.tps != self._config.tps:
                self._buckets.clear()
            self._config = new

    def reset(self) -> None:
        """Forget every processor, setting, fault, statistic, session timer and scripted detection, and the
        data of moto's other services."""
        self.sessions.reset()
        with self.lock:
            self._begin_write()
            for backend in self._backends.values():
                backend.reset()
            self._collections.clear()
            self._sandbox.clear()
            self._config = EmulatorConfig()
            self._config_changed = False
            with self._runtime_lock:
                self._faults.clear()
                self._buckets.clear()
                self._stats.clear()
                self._account_stats.clear()
                self._rng = random.Random(None)
            if self._store is not None:
                self._store.clear()
                self._store.commit()
        # moto keeps its services' data in process-wide registries; reset only those already in use, so
        # that a reset never imports (or slows down on) services nobody called.
        from spd.emulator.moto_services.moto_glue import BackendDict

        BackendDict.reset()

    def fail(self, name: str, message: str, *, region: str, account: str) -> dict[str, Any]:
        with self.lock:
            described = self.backend(account, region).fail(name, message, self.now())
            self.persist()
        self.sessions.cancel((account, region, name))
        return described

    def script_detections(
        self, name: str, body: Mapping[str, Any], *, region: str, account: str
    ) -> list[ScriptedLabel]:
        """Script the LABEL_DETECTED notifications of the processor's next session (`spd.emulator.backend.sessions`).

        ResourceNotFoundException for an unknown processor; `DetectionError` for a face-search processor or
        a detection the processor could not report.
        """
        with self.lock:
            processor = self.backend(account, region).get(name, self.now())
            home = processor.settings.get("ConnectedHome")
            if not isinstance(home, dict):
                raise DetectionError(
                    f"stream processor {name} is a face-search processor; detections are for connected home"
                )
            labels = parse_detections(body, [str(label) for label in home.get("Labels", [])])
        self.sessions.script((account, region, name), labels)
        return labels

    def processors(self, account: str | None = None) -> list[dict[str, Any]]:
        """Every processor's summary, in every account and region (or in `account` only)."""
        with self.lock:
            now = self.now()
            out: list[dict[str, Any]] = []
            for (owner, region), backend in sorted(self._backends.items()):
                if account is not None and owner != account:
                    continue
                for item in backend.summary(now):
                    out.append({"Account": owner, "Region": region, **item})
            return out

    def reference_check(self, account: str, region: str) -> Callable[[StreamProcessor], str | None]:
        """What strict Start asks (`spd.emulator.backend.references`): why a processor of this account and region
        cannot run, given moto's resources and this emulator's collections, or None."""
        from spd.emulator.backend import references

        def check(processor: StreamProcessor) -> str | None:
            return references.problem(processor, account, region, self.collections(account, region))

        return check

    # -- face collections ------------------------------------------------------------------------

    def collections(self, account: str, region: str) -> dict[str, Collection]:
        """The face collections of one account and region, by CollectionId (a copy)."""
        with self.lock:
            return dict(self._collections.get((account, region), {}))

    def collection(self, account: str, region: str, collection_id: str) -> Collection:
        """One face collection; ResourceNotFoundException if there is none of that id."""
        with self.lock:
            found = self._collections.get((account, region), {}).get(collection_id)
            if found is None:
                raise collection_not_found(collection_id)
            return found

    def create_collection(
        self, account: str, region: str, collection_id: str, tags: Mapping[str, str] | None = None
    ) -> Collection:
        """Create a face collection (ResourceAlreadyExistsException if the id is taken), committed."""
        with self.lock:
            self._begin_write()
            key = (account, region)
            if collection_id in self._collections.get(key, {}):
                raise already_exists(collection_id)
            if tags is not None and len(tags) > self.config.max_tags:
                raise RekognitionError(
                    "ServiceQuotaExceededException",
                    f"A collection can have at most {self.config.max_tags} tags.",
                )
            collection = Collection(collection_id, self.now(), dict(tags or {}))
            self._commit_collection(key, collection_id, collection)
            self._collections.setdefault(key, {})[collection_id] = collection
            return collection

    def delete_collection(self, account: str, region: str, collection_id: str) -> None:
        """Delete a face collection (ResourceNotFoundException if there is none), committed."""
        with self.lock:
            self._begin_write()
            key = (account, region)
            if collection_id not in self._collections.get(key, {}):
                raise collection_not_found(collection_id)
            self._commit_collection(key, collection_id, None)
            del self._collections[key][collection_id]

    def tag_collection(self, account: str, region: str, collection_id: str, tags: Mapping[str, str]) -> None:
        """TagResource on a collection: the same limit as on a processor (`max_tags`), committed."""
        with self.lock:
            self._begin_write()
            key = (account, region)
            found = self.collection(account, region, collection_id)
            merged = {**found.tags, **tags}
            limit = self.config.max_tags
            if len(merged) > limit:
                raise RekognitionError(
                    "ServiceQuotaExceededException",
                    f"A collection can have at most {limit} tags; this request would make {len(merged)}.",
                )
            changed = replace(found, tags=merged)
            self._commit_collection(key, collection_id, changed)
            self._collections[key][collection_id] = changed

    def untag_collection(self, account: str, region: str, collection_id: str, keys: Iterable[str]) -> None:
        """UntagResource on a collection, committed; keys it does not carry are ignored."""
        with self.lock:
            self._begin_write()
            key = (account, region)
            found = self.collection(account, region, collection_id)
            gone = set(keys)
            changed = replace(found, tags={k: v for k, v in found.tags.items() if k not in gone})
            self._commit_collection(key, collection_id, changed)
            self._collections[key][collection_id] = changed

    def _commit_collection(self, key: Key, collection_id: str, collection: Collection | None) -> None:
        """Write one collection change in its own transaction (memory changes only once it is committed)."""
        store = self._store
        if store is None:
            return
        try:
            store.save_collection(key, collection_id, collection)
            store.commit()
        except BaseException:
            store.rollback()
            raise

    # -- the --local sandbox's resources (spd.emulator.moto_services.sandbox) --------------------------------------

    def provide(self, account: str, references: Iterable[tuple[str, str, str]]) -> list[SandboxReference]:
        """Create, once, what a spec references: (kind, region, identifier) in `account`; the ones created.

        A reference met for the first time is recorded (created if missing, taken as it is if it exists
        already); one recorded before is left alone, even if it has since been deleted: on AWS nothing
        would bring it back either.
        """
        from spd.emulator.moto_services import sandbox

        with self.lock:
            self._begin_write()
            store = self._store
            if store is not None:
                self._sandbox = {ref.key: ref for ref in store.sandbox_references()}
            new: list[SandboxReference] = []
            seen: set[tuple[str, str, str, str]] = set()
            created: list[SandboxReference] = []
            resources = sandbox.Resources()
            for kind, region, identifier in references:
                ref = SandboxReference(
                    account, "" if kind in ("role", "bucket") else region, kind, identifier
                )
                if ref.key in self._sandbox or ref.key in seen:
                    continue
                seen.add(ref.key)
                new.append(ref)
                if kind == "collection":
                    if identifier not in self._collections.get((account, region), {}):
                        self.create_collection(account, region, identifier, sandbox.SANDBOX_TAG)
                        created.append(ref)
                elif not resources.exists(kind, identifier, account=account, region=region or "us-east-1"):
                    resources.create(kind, identifier, account=account, region=region or "us-east-1")
                    created.append(ref)
            self._record_sandbox(new)
            return created

    def note_sandbox_deletions(self) -> None:
        """Record, after a call to moto's services, which sandbox resources are gone (deleted by hand)."""
        if not self._sandbox:
            return
        from spd.emulator.moto_services import sandbox

        with self.lock:
            resources = sandbox.Resources()
            gone = [
                replace(ref, present=False)
                for ref in self._sandbox.values()
                if ref.present
                and ref.kind in sandbox.MOTO_KINDS
                and not resources.exists(
                    ref.kind, ref.identifier, account=ref.account, region=ref.region or "us-east-1"
                )
            ]
            if gone:
                self._begin_write()
                self._record_sandbox(gone)

    def _record_sandbox(self, references: list[SandboxReference]) -> None:
        store = self._store
        if references and store is not None:
            self._begin_write()
            try:
                store.save_sandbox_references(references)
                store.commit()
            except BaseException:
                store.rollback()
                raise
        elif store is not None and store.in_write:
            store.commit()
        for ref in references:
            self._sandbox[ref.key] = ref

    def _restore_sandbox(self) -> None:
        """moto's data lives in process memory: create again what the sandbox provided and still has."""
        store = self._store
        if store is None:
            return
        self._sandbox = {ref.key: ref for ref in store.sandbox_references()}
        present = [r for r in self._sandbox.values() if r.present and r.kind != "collection"]
        if not present:
            return
        from spd.emulator.moto_services import sandbox

        resources = sandbox.Resources()
        for ref in present:
            resources.create(ref.kind, ref.identifier, account=ref.account, region=ref.region or "us-east-1")

    # -- runtime aids ------------------------------------------------------------------------------

    def add_fault(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        with self._runtime_lock:
            return self._faults.add(spec).to_json()

    def clear_faults(self) -> None:
        with self._runtime_lock:
            self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        with self._runtime_lock:
            return self._faults.to_json()

    def stats(self, account: str | None = None) -> dict[str, dict[str, int]]:
        """Every call's counters, or one account's (its calls, throttled and injected faults; errors and
        error codes are counted for all accounts together)."""
        with self._runtime_lock:
            if account is None:
                return self._stats.to_json()
            return self._account_stats.get(account, Stats()).to_json()

    def clear_stats(self) -> None:
        with self._runtime_lock:
            self._stats.clear()
            self._account_stats.clear()

    def admit(self, operation: str, *, account: str, region: str, subject: str | None = None) -> None:
        """Count the call and apply latency, TPS limits and faults; raises the error the caller sees."""
        with self._runtime_lock:
            self._stats.calls[operation] += 1
            per_account = self._account_stats.setdefault(account, Stats())
            per_account.calls[operation] += 1
            config = self._config
        delay = config.operation_latency_seconds(operation)
        if delay > 0:
            # Outside the lock: a slow operation must not hold up the others.
            self.sleep(delay)
        with self._runtime_lock:
            rate = config.operation_tps(operation)
            if rate is not None and not self._buckets.take(
                (account, region, operation), rate, self.monotonic()
            ):
                self._stats.throttled[operation] += 1
                per_account.throttled[operation] += 1
                raise RekognitionError("ProvisionedThroughputExceededException", "Provisioned Rate exceeded.")
            fault = self._faults.draw(operation, self._rng, subject=subject)
            if fault is not None:
                self._stats.injected[operation] += 1
                per_account.injected[operation] += 1
                status = fault.status
                if status is None and fault.error == "ThrottlingException":
                    status = config.throttling_status
                raise RekognitionError(fault.error, fault.message, status=status)

    def record(self, call: CallRecord) -> None:
        """Account for a finished call and hand it to the call logger."""
        if call.status >= 400:
            with self._runtime_lock:
                self._stats.errors[call.operation] += 1
                if call.error_code:
                    self._stats.error_codes[call.error_code] += 1
        if self.on_call is not None:
            self.on_call(call)

    # -- persistence -------------------------------------------------------------------------------

    def persist(self) -> None:
        """Commit the changes made under the lock (one transaction); called before a change is answered.

        Without a state file it only forgets which records changed.
        """
        with self.lock:
            store = self._store
            if store is None:
                for backend in self._backends.values():
                    backend.take_changes()
                self._config_changed = False
                return
            self._begin_write()
            processors: dict[Key, dict[str, StreamProcessor | None]] = {}
            reservations: dict[Key, dict[str, float | None]] = {}
            for key, backend in self._backends.items():
                changed, reserved = backend.take_changes()
                if changed:
                    processors[key] = changed
                if reserved:
                    reservations[key] = reserved
            try:
                if processors or reservations or self._config_changed:
                    store.save(processors, reservations, self._config if self._config_changed else None)
                store.commit()
            except BaseException:
                store.rollback()
                self._restore(processors, reservations)
                raise
            self._config_changed = False

    def _sync(self) -> None:
        """Bring memory up to date with what other processes committed (outside a write)."""
        store = self._store
        if store is not None and not store.in_write:
            self._apply(store.changes())

    def _begin_write(self) -> None:
        """Take the state file's write lock (once per change) and reload what others committed first."""
        store = self._store
        if store is not None and not store.in_write:
            self._apply(store.begin())

    def _abandon_write(self) -> None:
        """End a write the lock's holder left open: roll it back and restore the records it touched."""
        store = self._store
        if store is None or not store.in_write:
            return
        store.rollback()
        touched = {key: backend.take_changes() for key, backend in self._backends.items()}
        self._restore(
            {key: changed for key, (changed, _) in touched.items()},
            {key: reserved for key, (_, reserved) in touched.items()},
        )
        if self._config_changed:
            self._config_changed = False
            self._store_config_reload()

    def _store_config_reload(self) -> None:
        store = self._store
        stored = store.config() if store is not None else None
        if stored is not None:
            self._set_config(stored)

    def _restore(
        self,
        processors: Mapping[Key, Mapping[str, object]],
        reservations: Mapping[Key, Mapping[str, object]],
    ) -> None:
        store = self._store
        if store is None:
            return
        for key, names in processors.items():
            backend = self.backend(*key)
            for name in names:
                stored = store.processor(key, name)
                if stored is None:
                    backend.remove(name)
                else:
                    backend.put(stored)
        for key, names in reservations.items():
            backend = self.backend(*key)
            for name in names:
                backend.put_reservation(name, store.reservation(key, name))

    def _apply(self, changes: Changes | None) -> None:
        if changes is None:
            return
        if changes.full:
            for backend in self._backends.values():
                backend.reset()
        if changes.config is not None:
            self._set_config(changes.config)
        self._collections = {key: dict(named) for key, named in changes.collections.items()}
        for (account, region), processor in changes.processors:
            self.backend(account, region).put(processor)
        for (account, region), name, until in changes.reservations:
            self.backend(account, region).put_reservation(name, until)
