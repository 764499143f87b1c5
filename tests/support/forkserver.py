"""A pre-imported `spd` for the tests' command-line processes: a fork server.

The end-to-end tests start several hundred `spd` processes, and each used to pay the interpreter's start-up
and its imports (aiobotocore, aiohttp, pydantic, the spec's models, moto for `--local`): half a second of
CPU or more apiece, more than half of the whole suite's CPU on a two-core machine. The server below imports
those once and forks a child per command. Each child is still a real process: its own pid, its own
standard streams (the caller's file descriptors, passed over a Unix socket with SCM_RIGHTS), its own
environment, working directory and signal dispositions, and an exit status reported by the server (which
is its parent) exactly as `subprocess` reports it: a code, or minus the signal that ended it. The child
runs the same entry point as `python -m spd` and exits as the interpreter does (non-daemon threads joined,
`atexit` handlers run, streams flushed).

What a fork cannot reproduce stays on a real `exec`: a request whose environment changes what the
interpreter or a module reads once at start-up (`PYTHON*`, the locale, moto's settings), and the tests
that are about start-up itself (import laziness, the console script, installation), which call
`subprocess` directly. `SPD_TEST_EXEC=1` sends every command through a real `exec`.

Run as a script, this module is the server: `python forkserver.py SOCKET`. It prints `ready` once it
listens, and stops when its standard input closes (the test process that started it has gone).
"""

from __future__ import annotations

import array
import atexit
import contextlib
import fcntl
import functools
import importlib
import io
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import threading
from collections.abc import Mapping, Sequence
from typing import Any

# What the tests' commands import: every command's module, the embedded emulator behind `--local`, the
# daemon, and the AWS client stack.
PRELOAD = (
    "spd.cli.app",
    "spd.cli.reconcile_cmd",
    "spd.cli.check_cmd",
    "spd.cli.completion_cmd",
    "spd.cli.history_cmd",
    "spd.cli.iam_cmd",
    "spd.cli.import_cmd",
    "spd.cli.run_cmd",
    "spd.cli.validate_cmd",
    "spd.cli.session_cmd",
    "spd.cli.store_cmd",
    "spd.cli.preflight_run",
    "spd.emulator.embedded",
    "spd.emulator.command",
    "spd.daemon.service",
    "spd.connect",
    "spd.emulator.moto_services.sandbox",
    "spd.emulator.moto_services.dynamodb_transactions",
    "spd.emulator.backend.references",
    "aiobotocore.session",
    "botocore.session",
    "xml.dom.minidom",
)

MOTO_SERVICES = ("dynamodb", "kms", "kinesis", "kinesisvideo", "sns", "sqs", "s3", "iam", "sts", "events")
"""moto's services behind a `--local` sandbox and the daemon's watch and sinks: moto imports each on its
first request, which every `--local` command that creates references would pay again."""

SERVICES = (*MOTO_SERVICES, "rekognition")
"""The services whose botocore and moto models the server reads before forking."""

START_UP_VARIABLES = ("PYTHON", "LANG", "LC_", "MOTO_", "TEST_SERVER_MODE")
"""Prefixes of the variables read once when the interpreter or a module starts: a request that sets one
differently from the server's own environment runs through a real `exec`."""

_HEADER = struct.Struct("!I")
_FDS = 3


# -- the server --------------------------------------------------------------------------------------------


def serve(path: str) -> None:
    """Import, listen on `path`, then fork a child per request until standard input closes."""
    for name in PRELOAD:
        importlib.import_module(name)
    from moto.backends import get_backend
    from moto.core.routing import get_service_router

    for service in MOTO_SERVICES:
        get_backend(service)  # type: ignore[call-overload]
    for service in SERVICES:
        get_service_router(service)  # moto reads botocore's model of a service once a process (cached)
    _share_botocore_loader(SERVICES)
    import gc

    gc.collect()
    gc.freeze()  # the children share these pages instead of copying them as the collector touches them
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(64)
    selector = selectors.DefaultSelector()
    selector.register(listener, selectors.EVENT_READ, ("accept", None))
    selector.register(sys.stdin, selectors.EVENT_READ, ("stop", None))
    children: dict[int, tuple[socket.socket, int]] = {}  # pid -> (connection, pidfd)
    print("ready", flush=True)
    while True:
        for key, _ in selector.select():
            kind, pid = key.data
            if kind == "stop":
                for child in children:
                    _signal(child, signal.SIGKILL)
                return
            if kind == "accept":
                conn, _ = listener.accept()
                try:
                    request, fds = _receive(conn)
                except (OSError, ValueError, EOFError):
                    conn.close()
                    continue
                if not forkable(request["env"]):
                    for fd in fds:
                        os.close(fd)
                    conn.sendall(b"exec\n")
                    conn.close()
                    continue
                others = [listener, *(c for c, _ in children.values())]
                others += [pidfd for _, pidfd in children.values()]
                child = _fork(request, fds, conn, others, selector)
                pidfd = os.pidfd_open(child)
                children[child] = (conn, pidfd)
                selector.register(pidfd, selectors.EVENT_READ, ("exited", child))
                selector.register(conn, selectors.EVENT_READ, ("client", child))
                with contextlib.suppress(OSError):  # a client already gone is seen by the selector
                    conn.sendall(f"{child}\n".encode())
            elif kind == "client":
                # The client went away before its child ended (killed, or timed out and gone): so does the
                # child. (The same select may have reported its exit first: then there is nothing to do.)
                if pid in children:
                    selector.unregister(key.fileobj)
                    _signal(pid, signal.SIGKILL)
            elif kind == "exited":
                _, status = os.waitpid(pid, 0)
                conn, pidfd = children.pop(pid)
                selector.unregister(pidfd)
                os.close(pidfd)
                if _registered(selector, conn):
                    selector.unregister(conn)
                with contextlib.suppress(OSError):
                    conn.sendall(f"{os.waitstatus_to_exitcode(status)}\n".encode())
                conn.close()


def _share_botocore_loader(services: Sequence[str]) -> None:
    """Give every botocore session a forked command opens the one loader the server has filled.

    botocore reads a service's JSON model (and the endpoints, partitions and retry data) once per loader,
    and a session makes a loader of its own: each command paid for reading them again, for every client
    it opened. What a loader returns is the same data either way; the children only skip the reading."""
    import botocore.exceptions
    import botocore.loaders
    import botocore.session

    shared = botocore.loaders.create_loader()
    original = botocore.loaders.create_loader

    def create_loader(search_path_string: str | None = None) -> botocore.loaders.Loader:
        return shared if search_path_string is None else original(search_path_string)

    botocore.session.create_loader = create_loader  # type: ignore[attr-defined]
    for service in services:
        for model in ("service-2", "paginators-1", "waiters-2", "endpoint-rule-set-1"):
            with contextlib.suppress(botocore.exceptions.DataNotFoundError):
                shared.load_service_model(service, model)
    for name in ("endpoints", "partitions", "_retry", "sdk-default-configuration"):
        with contextlib.suppress(botocore.exceptions.DataNotFoundError):
            shared.load_data(name)


def forkable(env: Mapping[str, str]) -> bool:
    """Whether a command with this environment can be forked from a server started with `os.environ`:
    every variable read once at start-up (START_UP_VARIABLES) the same. `PYTHONPATH` may add the folder
    the server imported spd from (the project, installed in editable mode), and nothing else."""
    names = {n for n in (*env, *os.environ) if n.startswith(START_UP_VARIABLES) and n != "PYTHONPATH"}
    same = all(env.get(n) == os.environ.get(n) for n in names)
    return same and _search_path(env) == _search_path(os.environ)


def _search_path(env: Mapping[str, str]) -> set[str]:
    import spd

    home = os.path.dirname(os.path.dirname(os.path.realpath(spd.__file__)))
    entries = {os.path.realpath(p) for p in env.get("PYTHONPATH", "").split(os.pathsep) if p}
    return entries - {home}


def _registered(selector: selectors.BaseSelector, conn: socket.socket) -> bool:
    try:
        selector.get_key(conn)
    except KeyError:
        return False
    return True


def _signal(pid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)


def _receive(conn: socket.socket) -> tuple[dict[str, Any], list[int]]:
    fds = array.array("i")
    data, ancillary, _, _ = conn.recvmsg(_HEADER.size, socket.CMSG_SPACE(_FDS * fds.itemsize))
    for level, type_, payload in ancillary:
        if level == socket.SOL_SOCKET and type_ == socket.SCM_RIGHTS:
            fds.frombytes(payload[: len(payload) - len(payload) % fds.itemsize])
    if len(data) != _HEADER.size or len(fds) != _FDS:
        for fd in fds:
            os.close(fd)
        raise ValueError("malformed request")
    (length,) = _HEADER.unpack(data)
    body = b""
    while len(body) < length:
        chunk = conn.recv(length - len(body))
        if not chunk:
            raise EOFError
        body += chunk
    return json.loads(body), list(fds)


def _fork(
    request: dict[str, Any],
    fds: list[int],
    conn: socket.socket,
    others: Sequence[Any],
    selector: selectors.BaseSelector,
) -> int:
    pid = os.fork()
    if pid:
        for fd in fds:
            os.close(fd)
        return pid
    code = 70
    try:
        selector.close()
        conn.close()
        for other in others:
            if isinstance(other, int):
                os.close(other)
            else:
                other.close()
        code = _run_child(request, fds)
    except BaseException:  # a broken harness says why on the server's stderr
        import traceback

        traceback.print_exc()
    finally:
        os._exit(code)


def _run_child(request: dict[str, Any], fds: list[int]) -> int:
    """Become the command: its streams, environment, directory and umask, then `spd`'s entry point, then the
    interpreter's own exit (non-daemon threads, `atexit`, flushed streams)."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
    for fd in fds:
        if fd > 2:
            os.close(fd)
    if request.get("terminal"):
        os.setsid()
        fcntl.ioctl(0, termios.TIOCSCTTY, 0)
    os.chdir(request["cwd"])
    os.umask(request["umask"])
    os.environ.clear()
    os.environ.update(request["env"])
    sys.argv = [request["argv0"], *request["args"]]
    extra = [p for p in request["env"].get("PYTHONPATH", "").split(os.pathsep) if p]
    sys.path[:1] = [request["cwd"], *extra]
    encoding = sys.stdout.encoding
    sys.stdin = sys.__stdin__ = _stream(0, "r", encoding, "strict")
    sys.stdout = sys.__stdout__ = _stream(1, "w", encoding, "strict")
    sys.stderr = sys.__stderr__ = _stream(2, "w", encoding, "backslashreplace")
    from spd.cli.app import main

    code: int
    try:
        main(list(request["args"]))
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc.code)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 1
    except BaseException:  # the interpreter prints it and exits 1
        sys.excepthook(*sys.exc_info())
        code = 1
    threading._shutdown()  # type: ignore[attr-defined]  # what the interpreter does at exit
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    return code


def _stream(fd: int, mode: str, encoding: str, errors: str) -> io.TextIOWrapper:
    """A standard stream on `fd` as the interpreter makes it: line-buffered on a terminal (and stderr
    always), unbuffered under `PYTHONUNBUFFERED` / `-u` (the server's flags are the child's: `forkable`)."""
    raw = io.FileIO(fd, mode, closefd=False)
    unbuffered = bool(os.environ.get("PYTHONUNBUFFERED")) and mode == "w"
    buffered: Any = raw if unbuffered else (io.BufferedReader(raw) if mode == "r" else io.BufferedWriter(raw))
    line = mode == "w" and (fd == 2 or raw.isatty())
    return io.TextIOWrapper(buffered, encoding, errors, line_buffering=line, write_through=bool(unbuffered))


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1


# -- the client --------------------------------------------------------------------------------------------


class ForkedProcess:
    """A child of the fork server, used as a `subprocess.Popen` is: pid, poll, wait, signals."""

    def __init__(self, args: list[str], pid: int, conn: socket.socket) -> None:
        self.args = args
        self.pid = pid
        self.returncode: int | None = None
        self._conn = conn
        self._buffer = b""
        self.stdin: Any = None
        self.stdout: Any = None
        self.stderr: Any = None

    def _read_status(self, timeout: float | None) -> int | None:
        if self.returncode is not None:
            return self.returncode
        self._conn.settimeout(timeout)
        try:
            while b"\n" not in self._buffer:
                chunk = self._conn.recv(64)
                if not chunk:
                    raise RuntimeError(f"the fork server stopped before process {self.pid} exited")
                self._buffer += chunk
        except (TimeoutError, BlockingIOError):
            return None
        self.returncode = int(self._buffer.split(b"\n", 1)[0])
        self._conn.close()
        return self.returncode

    def poll(self) -> int | None:
        return self._read_status(0)

    def wait(self, timeout: float | None = None) -> int:
        code = self._read_status(timeout)
        if code is None:
            raise subprocess.TimeoutExpired(self.args, timeout or 0)
        return code

    def send_signal(self, sig: int) -> None:
        if self.poll() is None:
            _signal(self.pid, sig)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)


class ForkServer:
    """One server per test process, started on first use and stopped when the test process exits."""

    def __init__(self, argv0: str, env: Mapping[str, str]) -> None:
        self._dir = tempfile.mkdtemp(prefix="spd-forkserver-")
        self.path = os.path.join(self._dir, "socket")
        self.argv0 = argv0
        self.env = dict(env)
        here = os.path.dirname(os.path.abspath(__file__))
        self._proc = subprocess.Popen(
            [sys.executable, os.path.join(here, "forkserver.py"), self.path],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if line.strip() != "ready":
            self._proc.kill()
            raise RuntimeError(f"the fork server did not start (said {line!r})")
        atexit.register(self.stop)

    def stop(self) -> None:
        if self._proc.poll() is None:
            assert self._proc.stdin is not None
            self._proc.stdin.close()
            try:
                self._proc.wait(10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
        shutil.rmtree(self._dir, ignore_errors=True)

    def stopped(self) -> bool:
        return self._proc.poll() is not None

    def spawn(self, args: Sequence[str], **options: Any) -> ForkedProcess | None:
        """`spawn` on this server (`options`: its keyword arguments)."""
        return spawn(self.path, self.argv0, args, **options)


def spawn(
    path: str,
    argv0: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: str | None,
    fds: Sequence[int],
    terminal: bool = False,
) -> ForkedProcess | None:
    """A child of the server at `path` running `spd ARGS` on `fds` (its stdin, stdout, stderr); None when
    the server says the environment needs a real `exec` (`forkable`). `terminal`: the child starts a
    session of its own whose controlling terminal is the pty on its stdin (as `ptyrun` does)."""
    umask = os.umask(0o077)  # read it (there is no other way) and put it back: the child's is the caller's
    os.umask(umask)
    request = {
        "args": list(args),
        "env": dict(env),
        "cwd": cwd or os.getcwd(),
        "argv0": argv0,
        "umask": umask,
        "terminal": terminal,
    }
    body = json.dumps(request).encode()
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    conn.connect(path)
    conn.sendmsg(
        [_HEADER.pack(len(body))], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds).tobytes())]
    )
    conn.sendall(body)
    reply = b""
    while not reply.endswith(b"\n"):
        chunk = conn.recv(64)
        if not chunk:
            raise RuntimeError("the fork server closed the connection")
        reply += chunk
    if reply == b"exec\n":
        conn.close()
        return None
    return ForkedProcess([argv0, *args], int(reply), conn)


@functools.cache
def server() -> ForkServer | None:
    """This test process's fork server, started on first use; None when commands must run through a real
    `exec`. Its environment is the test process's without what differs per test or per command (the
    request carries the command's whole environment; the server's matters for `forkable` only)."""
    if os.environ.get("SPD_TEST_EXEC") == "1":
        return None
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SPD_", "AWS_", "PYTEST_"))}
    return ForkServer("spd", env)


def running() -> ForkServer | None:
    """This test process's fork server when commands can use it (started on first use); None when they
    must be exec'd (`SPD_TEST_EXEC=1`, or the server has stopped)."""
    chosen = server()
    return chosen if chosen is not None and not chosen.stopped() else None


def popen(
    args: Sequence[str], *, env: Mapping[str, str], cwd: str | None = None, stdin_pipe: bool = False
) -> ForkedProcess | None:
    """Fork `spd ARGS` with pipes for stdout and stderr, as `subprocess.Popen(..., stdout=PIPE,
    stderr=PIPE)` would start it; its stdin is /dev/null, or a pipe (`proc.stdin`) with `stdin_pipe`.
    None when it must be exec'd."""
    chosen = running()
    if chosen is None:
        return None
    out_r, out_w = os.pipe()
    err_r, err_w = os.pipe()
    in_r, in_w = os.pipe() if stdin_pipe else (os.open(os.devnull, os.O_RDONLY), None)
    try:
        proc = chosen.spawn(args, env=env, cwd=cwd, fds=(in_r, out_w, err_w))
    finally:
        for fd in (out_w, err_w, in_r):
            os.close(fd)
    if proc is None:
        for fd in (out_r, err_r, in_w):
            if fd is not None:
                os.close(fd)
        return None
    proc.stdout = open(out_r, encoding="utf-8")  # noqa: SIM115
    proc.stderr = open(err_r, encoding="utf-8")  # noqa: SIM115
    if in_w is not None:
        proc.stdin = open(in_w, "w", encoding="utf-8")  # noqa: SIM115
    return proc


def run(
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    timeout: float,
    input: str | None,
    cwd: str | None = None,
) -> subprocess.CompletedProcess[str] | None:
    """`subprocess.run([spd, *args], capture_output=True, text=True, timeout=...)` through the fork server;
    None when the command must be exec'd."""
    proc = popen(args, env=env, cwd=cwd, stdin_pipe=input is not None)
    if proc is None:
        return None
    captured: dict[str, str] = {}

    def drain(name: str, stream: Any) -> None:
        with stream:
            captured[name] = stream.read()

    def feed() -> None:
        try:
            with proc.stdin:
                proc.stdin.write(input)
        except BrokenPipeError:
            pass

    threads = [
        threading.Thread(target=drain, args=("stdout", proc.stdout), daemon=True),
        threading.Thread(target=drain, args=("stderr", proc.stderr), daemon=True),
    ]
    if input is not None:
        threads.append(threading.Thread(target=feed, daemon=True))
    for t in threads:
        t.start()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise subprocess.TimeoutExpired(
            proc.args, timeout, captured.get("stdout"), captured.get("stderr")
        ) from None
    for t in threads:
        t.join(timeout)
    return subprocess.CompletedProcess(
        proc.args, proc.returncode or 0, captured.get("stdout", ""), captured.get("stderr", "")
    )


# -- `spd` by name, for shell scripts ---------------------------------------------------------------------

FORWARDED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGUSR2)


def write_shim(path: str, server_socket: str) -> None:
    """An executable `spd` at `path` for shell scripts (the docs' examples): it forks `spd` from the
    server with its own standard streams, passes on the signals it gets, and exits as the child did; it
    runs `python -m spd` itself when the server is gone or the environment needs a real `exec`."""
    here = os.path.abspath(__file__)
    with open(path, "w", encoding="utf-8") as f:
        f.write(f"#!{sys.executable} -IS\nimport runpy, sys\nsys.argv[1:1] = ['shim', {server_socket!r}]\n")
        f.write(f"runpy.run_path({here!r}, run_name='__main__')\n")
    os.chmod(path, 0o755)


def shim(server_socket: str, args: list[str]) -> None:
    try:
        proc = spawn(server_socket, "spd", args, env=os.environ, cwd=os.getcwd(), fds=(0, 1, 2))
    except OSError:
        proc = None
    if proc is None:
        os.execv(sys.executable, [sys.executable, "-m", "spd", *args])
    for sig in FORWARDED:
        signal.signal(sig, lambda sig, _frame: _signal(proc.pid, sig))
    code = proc.wait()
    if code < 0:
        signal.signal(-code, signal.SIG_DFL)
        os.kill(os.getpid(), -code)
    sys.exit(code)


if __name__ == "__main__":
    if sys.argv[1] == "shim":
        shim(sys.argv[2], sys.argv[3:])
    else:
        serve(sys.argv[1])
