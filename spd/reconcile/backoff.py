"""When a processor that went FAILED may be restarted: the restart policy handed to the executor.

The executor asks its policy before restarting a FAILED processor and tells it when a processor was
stopped on purpose; it keeps no restart history itself. The CLI runs one pass and uses `NO_BACKOFF`
(restart now, every time). The daemon runs passes forever and hands in a `RestartBackoff`, so a processor
whose role or stream is broken is retried at 30 s, 60 s, 120 s ... up to a cap instead of on every sweep.
Pure state, clock passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final, Protocol

from spd.model import ProcessorId


@dataclass(frozen=True, slots=True)
class RestartDecision:
    """The policy's answer for one FAILED processor."""

    allowed: bool
    failures: int = 0
    """Restarts issued so far (including this one when allowed)."""
    delay: float | None = None
    """Allowed: seconds before the next restart may follow. Refused: seconds until this one may."""


class RestartPolicy(Protocol):
    def admit(self, pid: ProcessorId, now: float) -> RestartDecision:
        """May a FAILED processor be restarted now? If so, the restart counts as issued."""
        ...

    def healthy(self, pid: ProcessorId) -> None:
        """The processor was seen RUNNING (or stopped on purpose): forget its history."""
        ...


class NoBackoff:
    """Restart a FAILED processor whenever asked: one-shot runs (the CLI)."""

    def admit(self, pid: ProcessorId, now: float) -> RestartDecision:
        return RestartDecision(True)

    def healthy(self, pid: ProcessorId) -> None:
        return None


NO_BACKOFF: Final = NoBackoff()


@dataclass
class RestartBackoff:
    """Exponential backoff per processor, for whoever runs reconcile passes repeatedly (the daemon)."""

    initial: float = 30.0
    maximum: float = 3600.0
    _failures: dict[ProcessorId, int] = field(default_factory=dict)
    _not_before: dict[ProcessorId, float] = field(default_factory=dict)

    def admit(self, pid: ProcessorId, now: float) -> RestartDecision:
        if not self.allowed(pid, now):
            wait = (self.next_attempt(pid) or now) - now
            return RestartDecision(False, self.failures(pid), round(wait, 1))
        delay = self.record_restart(pid, now)
        return RestartDecision(True, self.failures(pid), delay)

    def allowed(self, pid: ProcessorId, now: float) -> bool:
        """May a FAILED processor be restarted now?"""
        return now >= self._not_before.get(pid, 0.0)

    def next_attempt(self, pid: ProcessorId) -> float | None:
        return self._not_before.get(pid)

    def record_restart(self, pid: ProcessorId, now: float) -> float:
        """A restart of a FAILED processor was issued; returns the delay before the next one."""
        count = self._failures.get(pid, 0)
        delay = float(min(self.initial * 2.0**count, self.maximum))
        self._failures[pid] = count + 1
        self._not_before[pid] = now + delay
        return delay

    def failures(self, pid: ProcessorId) -> int:
        return self._failures.get(pid, 0)

    def healthy(self, pid: ProcessorId) -> None:
        """The processor was seen RUNNING (or stopped on purpose): forget its history."""
        self._failures.pop(pid, None)
        self._not_before.pop(pid, None)
