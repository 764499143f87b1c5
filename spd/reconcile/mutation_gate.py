"""The one gate asked before every mutating call spd makes, whichever path makes it.

The reconcile executor's steps (`spd.reconcile.executor`) and a session's Start (`spd.sessions.start`) both ask
the same `MutationGate` right before the call, after reading the processor's `spd:stack` tag:

1. the lease: may this process mutate at all now? (`Leadership.refusal` in a daemon with `ha`; a
   lone daemon or a one-shot command always may). Under `ha.mode: shards` the lease is per target: the
   executor asks `for_target(processor's target)`, whose lease part is the lease of that target's shard
   (`spd.daemon.shards.ShardKeeper.refusal`); a session Start asks the gate itself, whose lease part is
   then this daemon's member record being safely fresh (any live daemon may start a session). Asked first, because a process that may have lost
   the lease must draw no conclusion about the fleet either (it is not the one to act on it).
2. ownership: does the tag as just read name this stack? spd changes only its own processors; a
   processor untagged or handed to another stack since it was planned is refused.

The daemon builds one gate and hands it to both its reconciler and its session triggers, so the two
paths can never disagree on either question.
"""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

from spd.errors import EndpointError

Guard = Callable[[], str | None]
"""The lease's answer: None to go ahead, or why this process must not mutate now."""
TargetGuard = Callable[[str], str | None]
"""The lease's answer for a processor of one target (`ha.mode: shards`: that target's shard lease)."""


def always_allowed() -> str | None:
    """The lease of a process that needs none (a one-shot command, a daemon without `ha`)."""
    return None


@dataclass(frozen=True, slots=True)
class NotLeader:
    """The lease said no: `reason` is its sentence."""

    reason: str


@dataclass(frozen=True, slots=True)
class NotOwned:
    """The processor's `spd:stack` tag, as just read, is `owner` (None: no tag), not this stack."""

    owner: str | None

    def describe(self) -> str:
        return "no spd:stack tag" if self.owner is None else f"spd:stack={self.owner}"


Refusal = NotLeader | NotOwned


def owner_refusal(stack: str, owner: str | None) -> NotOwned | None:
    """The ownership rule, in one place: a processor is this stack's exactly when its tag names it."""
    return None if owner == stack else NotOwned(owner)


@dataclass(frozen=True, slots=True)
class MutationGate:
    """Asked before every mutating call: the lease first, then the ownership tag as just read."""

    lease: Guard = always_allowed
    target_lease: TargetGuard | None = None
    """Under `ha.mode: shards`: the lease of a target's shard (None: `lease` answers for every target)."""

    def for_target(self, target: str) -> MutationGate:
        """The gate for the processors of `target`: its lease part is that target's shard lease, when
        leases are per target; else this gate."""
        guard = self.target_lease
        if guard is None:
            return self
        return MutationGate(lambda: guard(target))

    def lease_refusal(self) -> NotLeader | None:
        """The lease alone: for a call that has no owner to check yet (a create, a first look)."""
        reason = self.lease()
        return None if reason is None else NotLeader(reason)

    def refusal(self, stack: str, owner: str | None) -> Refusal | None:
        """None when the call may go ahead on a processor whose tag reads `owner`, else why not."""
        return self.lease_refusal() or owner_refusal(stack, owner)

    def adopt_refusal(self, owner: str | None) -> Refusal | None:
        """Adopting is the reverse ownership rule: only a processor with no `spd:stack` tag at all."""
        return self.lease_refusal() or (None if owner is None else NotOwned(owner))


SEND_GUARD: ContextVar[Guard | None] = ContextVar("spd_send_guard", default=None)
"""The lease to ask again as each mutating request leaves (set by the executor and the session start
path around their calls, asked by the gateway after the call's pacer slot and before every retry): a
call may wait for its slot, or retry, longer than the lease's margin, so the answer given before the
wait says nothing about the moment the request is sent."""


class SendRefused(EndpointError):
    """A mutating request not sent: the lease lapsed while it waited for its slot or a retry."""

    def __init__(self, operation: str, reason: str) -> None:
        super().__init__(f"{operation} not sent: {reason}")
        self.operation = operation
        self.reason = reason


OPEN = MutationGate()
"""The gate of a process that needs no lease: only ownership is checked."""
