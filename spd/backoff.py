"""Exponential restart backoff for processors that keep going FAILED.

Owned by whoever runs reconcile passes repeatedly (the daemon); the reconciler asks it before
restarting a FAILED processor, so a processor whose role or stream is broken is retried at 30 s, 60 s,
120 s ... up to a cap instead of on every sweep. Pure state, clock passed in.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spd.model import ProcessorId


@dataclass
class RestartBackoff:
    initial: float = 30.0
    maximum: float = 3600.0
    _failures: dict[ProcessorId, int] = field(default_factory=dict)
    _not_before: dict[ProcessorId, float] = field(default_factory=dict)

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
