"""The lease two daemons share so only one reconciles: the decisions, without the I/O.

The protocol is that of awslabs' amazon-dynamodb-lock-client, chosen because no host ever compares its
clock with another's. The lease record holds only a holder id, a record version number (a random
string) and the lease duration; no timestamps:

* the holder writes a fresh version every `heartbeat` (a third of the lease), each write conditional on
  the version it wrote last;
* a standby reads the record every `heartbeat` and remembers, by its *own* monotonic clock, since when it
  has seen the same version; after a whole lease of the same version it takes over with a write
  conditional on that version (so of two standbys racing, exactly one wins);
* the holder counts from the moment it *sent* its last confirmed write: once that is `lease - margin`
  old (the "danger zone") it refuses every mutating call, because a standby may be about to take over.

Why this is safe: a standby first sees a version no earlier than the holder sent it, and waits a whole
lease from then; the holder stops mutating `margin` before a lease from the send. So the holder's last
mutating call is checked at least `margin` before any standby could be leader; `margin` covers the time
that call spends in flight. It is a quarter of the lease (5 s for the default 20 s), so a holder has two
renewals (at 1/3 and 2/3) before it stops. Only clock *rates* matter, never offsets: two hosts whose wall
clocks differ by hours agree on the lease.

Used by `spd.daemon.leader` (which does the DynamoDB calls of `spd.aws.lease_table`) and, through the
guard it hands the executor, by every mutating call.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

MIN_LEASE_SECONDS = 2.0
MAX_LEASE_SECONDS = 600.0
MARGIN_FRACTION = 0.25
"""The holder stops mutating once its last confirmed renewal is older than lease * (1 - this)."""


class Role(enum.StrEnum):
    LEADER = "leader"
    STANDBY = "standby"


class Step(enum.Enum):
    """What the daemon should do next about the lease."""

    WAIT = "wait"
    ACQUIRE = "acquire"
    """No record: create it (conditional on it being absent)."""
    TAKE_OVER = "take_over"
    """The same version for a whole lease: replace it (conditional on that version)."""
    RENEW = "renew"


@dataclass(frozen=True, slots=True)
class LeaseRecord:
    """The record as read from the table: no time in it, only identities."""

    holder: str
    version: str
    lease_seconds: float


@dataclass(frozen=True, slots=True)
class LeaseTiming:
    lease: float

    @property
    def heartbeat(self) -> float:
        """How often the holder renews and a standby reads."""
        return self.lease / 3

    @property
    def margin(self) -> float:
        return self.lease * MARGIN_FRACTION

    @property
    def safe_for(self) -> float:
        """How long after sending its last confirmed write the holder may still mutate."""
        return self.lease - self.margin


class LeaseState:
    """One daemon's view of the lease, driven by what it read or wrote and by its monotonic clock.

    Every method takes `now` from the caller's monotonic clock; nothing here reads any clock.
    """

    def __init__(self, timing: LeaseTiming) -> None:
        self.timing = timing
        self.role = Role.STANDBY
        self.version: str | None = None
        """The version this daemon last wrote (while leader)."""
        self.confirmed_at: float | None = None
        """When this daemon sent its last write that the table confirmed (while leader)."""
        self._seen: tuple[str, str] | None = None
        self._seen_since: float | None = None

    # -- the holder --------------------------------------------------------------------------------

    def refusal(self, now: float) -> str | None:
        """Why a mutating call must not be made now, or None when it may."""
        if self.role is not Role.LEADER:
            return "not the leader (standby)"
        assert self.confirmed_at is not None
        age = now - self.confirmed_at
        if age >= self.timing.safe_for:
            return (
                f"lease renewal last confirmed {age:.1f}s ago, past the safe {self.timing.safe_for:g}s "
                f"(lease {self.timing.lease:g}s minus margin {self.timing.margin:g}s)"
            )
        return None

    def won(self, version: str, sent_at: float) -> None:
        """A conditional write of ours (acquire, take-over or renewal) succeeded."""
        self.role = Role.LEADER
        self.version = version
        self.confirmed_at = sent_at
        self._seen = None
        self._seen_since = None

    def lost(self) -> None:
        """Leadership is over (a conditional write failed, the danger zone, or a release)."""
        self.role = Role.STANDBY
        self.version = None
        self.confirmed_at = None

    # -- the standby -------------------------------------------------------------------------------

    def observe(self, record: LeaseRecord | None, now: float) -> Step:
        """What to do after reading `record` (None: no record) at `now`."""
        if self.role is Role.LEADER:
            return Step.RENEW
        if record is None:
            self._seen = None
            self._seen_since = None
            return Step.ACQUIRE
        key = (record.holder, record.version)
        if key != self._seen or self._seen_since is None:
            self._seen = key
            self._seen_since = now
            return Step.WAIT
        # The holder's own lease, if longer, is what it counts on; never take over earlier than that.
        lease = max(self.timing.lease, record.lease_seconds)
        return Step.TAKE_OVER if now - self._seen_since >= lease else Step.WAIT
