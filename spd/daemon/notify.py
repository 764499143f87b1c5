"""The sd_notify protocol, spoken directly: datagrams to `$NOTIFY_SOCKET`.

Used by the daemon (`spd.daemon.service`) to tell systemd it is ready, what it is doing, that its event
loop is alive (watchdog) and that it is stopping. The protocol is one `KEY=VALUE` line per field in a
single datagram on a unix socket; an address starting with `@` is in the abstract namespace. With no
`NOTIFY_SOCKET` (run by hand, in a container) every call is a no-op.

Sends never block: they run on the daemon's event loop, and a receiver that stopped reading (its queue
full) would otherwise freeze every pass, `/healthz` and the watchdog itself. A message that cannot be
sent at once is dropped and counted (`dropped`, exported as `spd_notify_dropped_total`), and logged as
`notify_dropped` at most once per `DROP_LOG_INTERVAL`.
"""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Callable, Mapping

from spd.config.urls import redact_userinfo

DROP_LOG_INTERVAL = 60.0
"""Seconds between two `notify_dropped` log lines; the drops in between are summed into the next one."""

_log = logging.getLogger("spd.notify")


class Notifier:
    """Sends sd_notify messages; never raises, since systemd being away must not stop the daemon."""

    def __init__(self, address: str | None, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._address: str | bytes | None = None
        self._socket: socket.socket | None = None
        self._clock = clock
        self.dropped = 0
        """Messages that could not be sent (receiver's queue full, socket gone), since start-up."""
        self._unlogged = 0
        self._last_log: float | None = None
        if address and address[0] in "/@":
            # A leading '@' names the abstract namespace, spelled with a NUL byte on the wire.
            self._address = "\0" + address[1:] if address[0] == "@" else address
            self._socket = socket.socket(
                socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC | socket.SOCK_NONBLOCK
            )

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Notifier:
        return cls(environ.get("NOTIFY_SOCKET"))

    @property
    def enabled(self) -> bool:
        return self._socket is not None

    def notify(self, *fields: str) -> bool:
        """Send `fields` (each `KEY=VALUE`) as one message; True when it was delivered to the socket.

        Never waits: a message the socket cannot take at once is dropped and counted.
        """
        if self._socket is None or self._address is None:
            return False
        # A newline inside a value would start a new field: keep STATUS= lines one line. STATUS= may quote
        # an error message, and `systemctl status` shows it to anyone.
        message = "\n".join(redact_userinfo(f.replace("\n", " ")) for f in fields)
        try:
            self._socket.sendto(message.encode("utf-8"), self._address)
        except OSError as exc:
            self._dropped(fields[0].partition("=")[0] if fields else "", exc)  # e.g. WATCHDOG
            return False
        return True

    def _dropped(self, kind: str, exc: OSError) -> None:
        self.dropped += 1
        self._unlogged += 1
        now = self._clock()
        if self._last_log is not None and now - self._last_log < DROP_LOG_INTERVAL:
            return
        self._last_log = now
        _log.warning(
            "notify_dropped",
            extra={
                "dropped": self._unlogged,
                "dropped_total": self.dropped,
                "field": kind,
                "error": exc.strerror or type(exc).__name__,
                "note": f"not waited for; this line comes at most every {DROP_LOG_INTERVAL:g}s",
            },
        )
        self._unlogged = 0

    def ready(self, status: str | None = None) -> bool:
        return self.notify("READY=1", *([f"STATUS={status}"] if status else []))

    def reloading(self) -> bool:
        # MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) order the reload; older ones ignore it.
        return self.notify("RELOADING=1", f"MONOTONIC_USEC={time_monotonic_usec()}")

    def status(self, text: str) -> bool:
        return self.notify(f"STATUS={text}")

    def watchdog(self) -> bool:
        return self.notify("WATCHDOG=1")

    def stopping(self, status: str | None = None) -> bool:
        return self.notify("STOPPING=1", *([f"STATUS={status}"] if status else []))

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


def time_monotonic_usec() -> int:
    return time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000


def watchdog_period(environ: Mapping[str, str], *, pid: int) -> float | None:
    """Seconds between WATCHDOG=1 pings (half of `$WATCHDOG_USEC`), or None when no watchdog applies.

    `$WATCHDOG_PID`, when set, names the process the watchdog is meant for; a child that inherited the
    environment must not ping on its parent's behalf.
    """
    usec = environ.get("WATCHDOG_USEC", "")
    if not usec.isdigit() or int(usec) == 0:
        return None
    owner = environ.get("WATCHDOG_PID", "")
    if owner and (not owner.isdigit() or int(owner) != pid):
        return None
    return int(usec) / 2 / 1_000_000
