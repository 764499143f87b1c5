"""`Emulator`: one emulator instance's whole state and the operations the HTTP layers call.

It owns the stream-processor backends (one moto `BaseBackend` per account and region), the current
`EmulatorConfig`, fault rules, TPS buckets, statistics and the optional state file, plus the injected
clock, sleep and random source. Everything that changes state happens under `Emulator.lock` and, when it
changes stream processors or settings, is written to the state file before the lock is released.

The backends are kept here rather than in a moto `BackendDict` on purpose: a `BackendDict` is a
process-wide registry that moto's own `/moto-api/reset` clears and that only admits boto3's region list,
while this state must belong to one emulator (the embedded one and a test's own can share a process), be
persisted with it, and accept whatever region the request was signed for.

Used by `spd.emulator.responses` (the Rekognition operations), `spd.emulator.control` (the control API),
and the entry points (`spd.emulator.server`, `spd.emulator.embedded`, `spd emulator`).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from spd.emulator.config import EmulatorConfig
from spd.emulator.errors import RekognitionError
from spd.emulator.faults import FaultInjector, Stats, TokenBuckets
from spd.emulator.models import StreamProcessorBackend
from spd.errors import ExitCode, SpdError

STATE_FORMAT = "spd-emulator-state"
STATE_VERSION = 1
DEFAULT_ACCOUNT = "123456789012"
"""moto's default account, which every request with unknown credentials maps to."""


class EmulatorStateError(SpdError):
    """The state file exists but cannot be used (not JSON, another format, invalid settings)."""

    exit_code = ExitCode.CONFIG


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


class Emulator:
    """The emulated service; thread-safe, time-injectable, optionally persisted."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        config: EmulatorConfig | None = None,
        clock: Callable[[], float] = time.time,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        on_call: Callable[[CallRecord], None] | None = None,
    ) -> None:
        self.lock = threading.RLock()
        self.state_file = state_file
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        self.on_call = on_call
        self._config = config or EmulatorConfig()
        self._backends: dict[tuple[str, str], StreamProcessorBackend] = {}
        self._faults = FaultInjector()
        self._buckets = TokenBuckets()
        self._stats = Stats()
        self._rng = random.Random(self._config.random_seed)
        if state_file is not None and state_file.exists():
            self._load(state_file)

    # -- state -------------------------------------------------------------------------------------

    @property
    def config(self) -> EmulatorConfig:
        return self._config

    def now(self) -> float:
        return self.clock()

    def backend(self, account: str, region: str) -> StreamProcessorBackend:
        key = (account, region)
        backend = self._backends.get(key)
        if backend is None:
            with self.lock:
                backend = self._backends.setdefault(key, StreamProcessorBackend(region, account))
        return backend

    def configure(self, changes: Mapping[str, Any]) -> EmulatorConfig:
        """Apply a partial config change (`ConfigValueError` if invalid) and persist it."""
        with self.lock:
            new = self._config.updated(changes)
            if new.random_seed != self._config.random_seed or "random_seed" in changes:
                self._rng = random.Random(new.random_seed)
            if new.tps != self._config.tps:
                self._buckets.clear()
            self._config = new
            self.persist()
            return new

    def reset(self) -> None:
        """Forget every processor, setting, fault and statistic, and the data of moto's other services."""
        with self.lock:
            self._backends.clear()
            self._config = EmulatorConfig()
            self._faults.clear()
            self._buckets.clear()
            self._stats.clear()
            self._rng = random.Random(None)
            self.persist()
        # moto keeps its services' data in process-wide registries; reset only those already in use, so
        # that a reset never imports (or slows down on) services nobody called.
        from moto.core.base_backend import BackendDict

        BackendDict.reset()

    def fail(self, name: str, message: str, *, region: str, account: str) -> dict[str, Any]:
        with self.lock:
            described = self.backend(account, region).fail(name, message, self.now())
            self.persist()
            return described

    def processors(self) -> list[dict[str, Any]]:
        with self.lock:
            now = self.now()
            out: list[dict[str, Any]] = []
            for (account, region), backend in sorted(self._backends.items()):
                for item in backend.summary(now):
                    out.append({"Account": account, "Region": region, **item})
            return out

    # -- runtime aids ------------------------------------------------------------------------------

    def add_fault(self, spec: Mapping[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self._faults.add(spec).to_json()

    def clear_faults(self) -> None:
        with self.lock:
            self._faults.clear()

    def faults(self) -> list[dict[str, Any]]:
        with self.lock:
            return self._faults.to_json()

    def stats(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return self._stats.to_json()

    def clear_stats(self) -> None:
        with self.lock:
            self._stats.clear()

    def admit(self, operation: str, *, account: str, region: str, subject: str | None = None) -> None:
        """Count the call and apply latency, TPS limits and faults; raises the error the caller sees."""
        with self.lock:
            self._stats.calls[operation] += 1
            config = self._config
        delay = config.operation_latency_seconds(operation)
        if delay > 0:
            # Outside the lock: a slow operation must not hold up the others.
            self.sleep(delay)
        with self.lock:
            rate = config.operation_tps(operation)
            if rate is not None and not self._buckets.take(
                (account, region, operation), rate, self.monotonic()
            ):
                self._stats.throttled[operation] += 1
                raise RekognitionError("ProvisionedThroughputExceededException", "Provisioned Rate exceeded.")
            fault = self._faults.draw(operation, self._rng, subject=subject)
            if fault is not None:
                self._stats.injected[operation] += 1
                status = fault.status
                if status is None and fault.error == "ThrottlingException":
                    status = config.throttling_status
                raise RekognitionError(fault.error, fault.message, status=status)

    def record(self, call: CallRecord) -> None:
        """Account for a finished call and hand it to the call logger."""
        if call.status >= 400:
            with self.lock:
                self._stats.errors[call.operation] += 1
                if call.error_code:
                    self._stats.error_codes[call.error_code] += 1
        if self.on_call is not None:
            self.on_call(call)

    # -- persistence -------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            accounts: dict[str, dict[str, Any]] = {}
            for (account, region), backend in sorted(self._backends.items()):
                if not backend.empty:
                    accounts.setdefault(account, {})[region] = backend.to_json()
            return {
                "format": STATE_FORMAT,
                "version": STATE_VERSION,
                "saved_at": self.now(),
                "config": self._config.to_json(),
                "accounts": accounts,
            }

    def persist(self) -> None:
        """Write the state file atomically (temporary file, then rename); no-op without a state file."""
        if self.state_file is None:
            return
        with self.lock:
            data = json.dumps(self.snapshot(), separators=(",", ":"))
            path = self.state_file
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            try:
                tmp.write_text(data, encoding="utf-8")
                os.replace(tmp, path)
            finally:
                if tmp.exists():
                    tmp.unlink()

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, ValueError) as exc:
            raise EmulatorStateError(f"{path}: cannot read emulator state: {exc}") from exc
        if not isinstance(data, dict) or data.get("format") != STATE_FORMAT:
            raise EmulatorStateError(f"{path}: not an spd emulator state file")
        if data.get("version") != STATE_VERSION:
            raise EmulatorStateError(f"{path}: unsupported state version {data.get('version')!r}")
        try:
            self._config = EmulatorConfig().updated(data.get("config") or {})
            self._rng = random.Random(self._config.random_seed)
            for account, regions in dict(data.get("accounts") or {}).items():
                for region, backend_data in dict(regions).items():
                    self.backend(str(account), str(region)).load_json(backend_data)
        except (ValueError, KeyError, TypeError) as exc:
            raise EmulatorStateError(f"{path}: invalid emulator state: {exc}") from exc
