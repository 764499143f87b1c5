"""`spd run` as a real subprocess for the daemon tests: its JSON log lines, signals, HTTP endpoints."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import forkserver
from spdrun import SPD, spd_env

# Small intervals keep the module fast; nothing asserts on how fast anything was.
FAST_DAEMON = {
    "SPD_INTERVAL": "2",
    "SPD_STATUS_INTERVAL": "0.5",
    "SPD_METRICS_ADDRESS": "127.0.0.1:0",
    "SPD_LOG_FORMAT": "json",
    "SPD_GRACE_PERIOD": "10",
    "SPD_FAILED_BACKOFF_INITIAL": "1",
    "SPD_FAILED_BACKOFF_MAX": "4",
}

Line = dict[str, Any]


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample in a Prometheus text exposition (labels in sorted order, as rendered);
    None when there is no such line."""
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    series = f"{name}{{{wanted}}}" if labels else name
    found = re.search(rf"^{re.escape(series)} ([0-9.e+-]+)$", text, re.MULTILINE)
    return float(found.group(1)) if found else None


class Daemon:
    """A running `spd run`; stdout is parsed line by line as it arrives."""

    def __init__(
        self,
        args: Sequence[str],
        *,
        env: Mapping[str, str | None] | None = None,
        cwd: Path | None = None,
    ) -> None:
        """`env` is laid over `FAST_DAEMON`; a None value removes the variable (e.g. to let a settings
        file decide a value `FAST_DAEMON` sets)."""
        given = {**FAST_DAEMON, **(env or {})}
        removed = {k for k, v in given.items() if v is None}
        kept = {k: v for k, v in given.items() if v is not None}
        environ = {k: v for k, v in spd_env(kept).items() if k not in removed}
        self.proc: subprocess.Popen[str] | forkserver.ForkedProcess
        forked = forkserver.popen(["run", *args], env=environ, cwd=str(cwd or os.getcwd()))
        self.proc = forked or subprocess.Popen(
            [*SPD, "run", *args],
            env=environ,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[Line] = []
        self.raw: list[str] = []
        self.stderr = ""
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read_stdout, daemon=True),
            threading.Thread(target=self._read_stderr, daemon=True),
        ]
        for t in self._readers:
            t.start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            with self._changed:
                self.raw.append(raw)
                try:
                    self.lines.append(json.loads(raw))
                except json.JSONDecodeError:
                    self.lines.append({"event": "<unparsed>", "raw": raw})
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def wait_for(self, event: str, *, timeout: float = 20, after: int = 0, **fields: Any) -> tuple[int, Line]:
        """The first line at index >= `after` named `event` whose fields match; (index, line)."""
        return self.wait_until(
            lambda line: line.get("event") == event and all(line.get(k) == v for k, v in fields.items()),
            timeout=timeout,
            after=after,
            what=f"{event} {fields}",
        )

    def wait_until(
        self, predicate: Callable[[Line], bool], *, timeout: float = 20, after: int = 0, what: str = "line"
    ) -> tuple[int, Line]:
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for i in range(after, len(self.lines)):
                    if predicate(self.lines[i]):
                        return i, self.lines[i]
                remaining = deadline - time.monotonic()
                if remaining <= 0 or (self.proc.poll() is not None and not self._readers[0].is_alive()):
                    raise AssertionError(f"no {what} in the daemon's output:\n{self.dump()}")
                self._changed.wait(min(remaining, 0.2))

    def events(self, name: str) -> list[Line]:
        with self._changed:
            return [line for line in self.lines if line.get("event") == name]

    def dump(self) -> str:
        with self._changed:
            out = "".join(self.raw[-80:])
        return f"{out}\n--- stderr ---\n{self.stderr}"

    @property
    def http(self) -> str:
        _, started = self.wait_for("daemon_started")
        return f"http://{started['metrics_address']}"

    def get(self, path: str) -> tuple[int, str]:
        try:
            with urllib.request.urlopen(self.http + path, timeout=10) as response:
                return response.status, response.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, err.read().decode()

    def metric(self, name: str, **labels: str) -> float | None:
        """One sample from the daemon's /metrics (see `sample`)."""
        _, text = self.get("/metrics")
        return sample(text, name, **labels)

    def signal(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def stop(self, timeout: float = 30) -> int:
        """SIGTERM (once), then the exit code."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        return self.wait(timeout)

    def wait(self, timeout: float = 30) -> int:
        """The exit code of a daemon that exits by itself."""
        try:
            return self.proc.wait(timeout=timeout)
        finally:
            for t in self._readers:
                t.join(timeout=5)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)

    @property
    def pid(self) -> int:
        return self.proc.pid


def leader_of(*daemons: Daemon, timeout: float = 20) -> tuple[Daemon, Daemon]:
    """(the one that logged leader_acquired, another); fails if more than one or none did in `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holders = [d for d in daemons if d.events("leader_acquired")]
        if holders:
            assert len(holders) == 1, [d.dump() for d in daemons]
            other = next(d for d in daemons if d is not holders[0])
            return holders[0], other
        time.sleep(0.05)
    raise AssertionError("nobody became leader:\n" + "\n".join(d.dump() for d in daemons))


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
