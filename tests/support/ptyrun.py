"""Running the real `spd` command with a terminal (a pty) on stdin and stderr, and stdout on the same
terminal or on a pipe, answering a question when it appears. For tests of what depends on a terminal."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import subprocess
import termios
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import forkserver
from spdrun import SPD, spd_env


@dataclass(frozen=True)
class TerminalRun:
    code: int
    terminal: str
    """Everything written to the terminal (stderr, and stdout unless it was piped)."""
    stdout: str
    """What went to the pipe when stdout was piped; empty otherwise."""


def run_on_terminal(
    args: Sequence[str],
    *,
    env: Mapping[str, str] | None = None,
    drop_env: Sequence[str] = (),
    pipe_stdout: bool = False,
    question: str = "Apply these changes?",
    answer: str | None = None,
    interrupt_after: str | None = None,
    timeout: float = 60.0,
) -> TerminalRun:
    """`drop_env` removes variables `spd_env` sets (e.g. NO_COLOR) to see the command's defaults; `env`
    is applied after it.

    The pty is the command's controlling terminal (its own session), so an `answer` of "\x03" is a real
    Ctrl-C: the terminal turns it into SIGINT, as it does for an operator. `interrupt_after` sends
    SIGINT to the command once that text has appeared on the terminal.
    """
    environment = spd_env()
    for name in drop_env:
        environment.pop(name, None)
    environment.update(env or {})
    leader, follower = os.openpty()
    proc = _start(args, environment, follower, pipe_stdout)
    os.close(follower)
    streams = {leader: b""}
    if proc.stdout is not None:
        streams[proc.stdout.fileno()] = b""
    open_fds = set(streams)
    answered = answer is None
    deadline = time.monotonic() + timeout
    try:
        while open_fds and time.monotonic() < deadline:
            ready, _, _ = select.select(list(open_fds), [], [], 0.1)
            for fd in ready:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the child closed the terminal
                    chunk = b""
                if not chunk:
                    open_fds.discard(fd)
                streams[fd] += chunk
            if not answered and question.encode() in streams[leader]:
                os.write(leader, (answer or "").encode() + (b"" if answer == "\x03" else b"\n"))
                answered = True
            if interrupt_after is not None and interrupt_after.encode() in streams[leader]:
                proc.send_signal(signal.SIGINT)
                interrupt_after = None
            if proc.poll() is not None and not ready:
                break
        code = proc.wait(timeout=10)
        piped = streams[proc.stdout.fileno()] if proc.stdout is not None else b""
        return TerminalRun(code, streams[leader].decode(errors="replace"), piped.decode(errors="replace"))
    finally:
        os.close(leader)
        if proc.stdout is not None:
            proc.stdout.close()
        if proc.poll() is None:
            proc.kill()


def _start(
    args: Sequence[str], env: Mapping[str, str], follower: int, pipe_stdout: bool
) -> subprocess.Popen[bytes] | forkserver.ForkedProcess:
    """`spd ARGS` in a session of its own on the terminal `follower`: forked from the fork server
    (tests/support/forkserver.py) when it can be, else exec'd."""
    chosen = forkserver.running()
    if chosen is not None:
        out_r, out_w = os.pipe() if pipe_stdout else (None, None)
        try:
            fds = (follower, follower if out_w is None else out_w, follower)
            forked = chosen.spawn(args, env=env, cwd=None, fds=fds, terminal=True)
        finally:
            if out_w is not None:
                os.close(out_w)
        if forked is not None:
            forked.stdout = None if out_r is None else open(out_r, "rb")  # noqa: SIM115
            return forked
        if out_r is not None:
            os.close(out_r)
    return subprocess.Popen(
        [*SPD, *args],
        stdin=follower,
        stdout=subprocess.PIPE if pipe_stdout else follower,
        stderr=follower,
        env=env,
        start_new_session=True,
        preexec_fn=_take_terminal,
    )


def _take_terminal() -> None:
    """In the child, in its new session: make the pty on stdin the controlling terminal."""
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)
