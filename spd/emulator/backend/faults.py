"""Injected misbehaviour and call accounting: fault rules, TPS token buckets and call statistics.

These are runtime aids for tests and experiments, not service state, so they are never persisted.
None of them locks: `spd.emulator.backend.service.Emulator` calls them under its own lock.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spd.emulator.backend.config import ALL_OPERATIONS, EMULATED_OPERATIONS, Bound, ConfigValueError
from spd.emulator.backend.errors import ERROR_STATUS

FAULT_BOUNDS: dict[str, Bound] = {
    "count": Bound(1, 1_000_000, integer=True),
    "rate": Bound(0, 1, low_exclusive=True),
    "status": Bound(400, 599, integer=True),
}
"""The ranges of a fault rule's numbers (the manual's control API page, docs/reference/emulator-control-api.md, shows the same)."""

MAX_FAULT_MESSAGE = 2048


@dataclass(slots=True)
class Fault:
    """One rule: calls to `operation` fail with `error`, `remaining` more times and/or at `rate`.

    `processor` narrows the rule to calls about that processor (its `Name`, or the last part of its
    `ResourceArn`), so a test can make one processor's reads fail while the others succeed.
    """

    id: int
    operation: str
    error: str
    message: str | None
    status: int | None
    remaining: int | None
    rate: float | None
    processor: str | None = None
    injected: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "error": self.error,
            "message": self.message,
            "status": self.status,
            "count": self.remaining,
            "rate": self.rate,
            "processor": self.processor,
            "injected": self.injected,
        }


class FaultInjector:
    """The active fault rules, checked in the order they were added."""

    def __init__(self) -> None:
        self._faults: list[Fault] = []
        self._next_id = 1

    def add(self, spec: Mapping[str, Any]) -> Fault:
        """Validate a control-API fault request and activate it; `ConfigValueError` if malformed."""
        if not isinstance(spec, Mapping):
            raise ConfigValueError("a fault must be a JSON object")
        allowed = {"operation", "error", "count", "rate", "message", "status", "processor"}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ConfigValueError(
                f"unknown fault key(s): {', '.join(unknown)}; known: {', '.join(sorted(allowed))}"
            )
        operation = spec.get("operation", ALL_OPERATIONS)
        if not isinstance(operation, str) or (
            operation != ALL_OPERATIONS and operation not in EMULATED_OPERATIONS
        ):
            raise ConfigValueError(
                f"unknown operation {operation!r}; expected one of {', '.join(EMULATED_OPERATIONS)} or '*'"
            )
        error = spec.get("error", "ThrottlingException")
        if not isinstance(error, str) or error not in ERROR_STATUS:
            raise ConfigValueError(
                f"unknown error {error!r}; expected one of {', '.join(sorted(ERROR_STATUS))}"
            )
        count = spec.get("count")
        rate = spec.get("rate")
        if count is None and rate is None:
            raise ConfigValueError("a fault needs 'count' (number of failures) or 'rate' (probability 0..1)")
        if count is not None:
            count = FAULT_BOUNDS["count"].check("count", count)
        if rate is not None:
            rate = FAULT_BOUNDS["rate"].check("rate", rate)
        message = spec.get("message")
        if message is not None and (not isinstance(message, str) or len(message) > MAX_FAULT_MESSAGE):
            raise ConfigValueError(f"message must be a string of at most {MAX_FAULT_MESSAGE} characters")
        status = spec.get("status")
        if status is not None:
            status = FAULT_BOUNDS["status"].check("status", status)
        processor = spec.get("processor")
        if processor is not None and (not isinstance(processor, str) or not processor):
            raise ConfigValueError("processor must be a non-empty string (a processor name)")
        fault = Fault(
            id=self._next_id,
            operation=operation,
            error=error,
            message=message,
            status=status,
            remaining=count,
            rate=rate,
            processor=processor,
        )
        self._next_id += 1
        self._faults.append(fault)
        return fault

    def draw(self, operation: str, rng: random.Random, *, subject: str | None = None) -> Fault | None:
        """The fault that hits this call (about processor `subject`), if any; consumes one use of a
        counted fault."""
        for fault in self._faults:
            if fault.operation not in (operation, ALL_OPERATIONS):
                continue
            if fault.processor is not None and fault.processor != subject:
                continue
            if fault.rate is not None and rng.random() >= fault.rate:
                continue
            fault.injected += 1
            if fault.remaining is not None:
                fault.remaining -= 1
                if fault.remaining <= 0:
                    self._faults.remove(fault)
            return fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def to_json(self) -> list[dict[str, Any]]:
        return [f.to_json() for f in self._faults]


class TokenBuckets:
    """Per-key token buckets: `rate` tokens a second, holding at most one second's worth (at least 1)."""

    def __init__(self) -> None:
        self._buckets: dict[tuple[str, ...], tuple[float, float]] = {}

    def take(self, key: tuple[str, ...], rate: float, now: float) -> bool:
        capacity = max(1.0, rate)
        tokens, last = self._buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + max(0.0, now - last) * rate)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return True
        self._buckets[key] = (tokens, now)
        return False

    def clear(self) -> None:
        self._buckets.clear()


class Stats:
    """What the control API reports at `GET /_emulator/stats`."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.throttled: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.error_codes: Counter[str] = Counter()
        self.injected: Counter[str] = Counter()

    def clear(self) -> None:
        for counter in (self.calls, self.throttled, self.errors, self.error_codes, self.injected):
            counter.clear()

    def to_json(self) -> dict[str, dict[str, int]]:
        return {
            "calls": dict(self.calls),
            "throttled": dict(self.throttled),
            "errors": dict(self.errors),
            "error_codes": dict(self.error_codes),
            "injected": dict(self.injected),
        }
