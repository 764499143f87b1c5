"""The fork server behind `run_spd`, `Daemon` and the docs' `spd` (tests/support/forkserver.py) must give
a test what a real `exec` gives it: the same output and exit status, the caller's standard input, its
signals, and no child left behind. Each case compares a forked `spd` with an exec'd one, or with the
status a real process reports."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

import forkserver
from daemonproc import alive
from spdrun import SPD, spd_env, write_spd_command

BASE = spd_env()


def _server() -> forkserver.ForkServer:
    chosen = forkserver.server()
    if chosen is None:
        pytest.skip(
            "SPD_TEST_EXEC=1: this run has no fork server (every command is exec'd), so nothing here to test"
        )
    return chosen


def _forked(args: list[str], *, input: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    _server()
    result = forkserver.run(args, env=spd_env(env), timeout=60, input=input)
    assert result is not None, "the command was not forked"
    return result


def _execd(args: list[str], *, input: str | None = None) -> subprocess.CompletedProcess[str]:
    stdin = {"input": input} if input is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(  # type: ignore[call-overload, no-any-return]
        [*SPD, *args], env=spd_env(), capture_output=True, text=True, timeout=60, **stdin
    )


SPEC = "version: 1\nstack: forked\nprocessors:\n  - name: x\n    bogus: 1\n"


@pytest.mark.parametrize(
    ("args", "input"),
    [
        (["--version"], None),
        (["schema"], None),
        (["validate", "/nonexistent/spec.yaml"], None),
        (["nonsense"], None),
        (["validate", "-"], SPEC),
        (["apply", "--nope"], None),
    ],
    ids=["version", "schema", "missing-file", "unknown-command", "stdin", "unknown-option"],
)
def test_a_forked_spd_says_and_exits_what_an_execd_one_does(args: list[str], input: str | None) -> None:
    forked, execd = _forked(args, input=input), _execd(args, input=input)
    assert (forked.returncode, forked.stdout, forked.stderr) == (execd.returncode, execd.stdout, execd.stderr)


def test_a_signal_ends_a_forked_child_as_it_ends_a_process() -> None:
    _server()
    proc = forkserver.popen(["emulator", "--port", "0"], env=spd_env())
    assert proc is not None
    assert proc.stdout is not None
    assert "http://" in proc.stdout.readline()  # serving: a real process, with its own pid
    os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(30) == -signal.SIGKILL
    assert not alive(proc.pid)


def test_a_timeout_kills_the_child_and_says_so() -> None:
    _server()
    with pytest.raises(subprocess.TimeoutExpired):
        forkserver.run(["emulator", "--port", "0"], env=spd_env(), timeout=2, input=None)


def test_a_child_whose_caller_has_gone_is_killed() -> None:
    _server()
    proc = forkserver.popen(["emulator", "--port", "0"], env=spd_env())
    assert proc is not None
    assert proc.stdout is not None
    proc.stdout.readline()
    proc._conn.close()  # the test process died without waiting
    deadline = time.monotonic() + 30
    while alive(proc.pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(proc.pid)


def test_an_environment_read_at_start_up_gets_a_real_exec() -> None:
    _server()
    assert (
        forkserver.run(
            ["--version"],
            env=spd_env({"PYTHONHASHSEED": "7"}),
            timeout=60,
            input=None,
        )
        is None
    )
    assert not forkserver.forkable(spd_env({"PYTHONPATH": "/elsewhere"}))  # `spd` may come from elsewhere
    project = [str(Path(__file__).resolve().parents[3]), os.environ.get("PYTHONPATH")]
    assert forkserver.forkable(spd_env({"PYTHONPATH": os.pathsep.join(filter(None, project))}))


def test_the_shell_command_forks_and_exits_with_the_childs_status(tmp_path: Path) -> None:
    _server()
    command = tmp_path / "spd"
    write_spd_command(command)
    assert "forkserver" in command.read_text()
    script = f"'{command}' --version; echo \"rc=$?\"; '{command}' validate /nonexistent.yaml; echo \"rc=$?\""
    result = subprocess.run(["bash", "-c", script], env=spd_env(), capture_output=True, text=True, timeout=60)
    assert result.stdout.splitlines() == [
        "spd, version " + _execd(["--version"]).stdout.split()[-1],
        "rc=0",
        "rc=78",
    ]
    assert "no such file" in result.stderr


def test_the_child_has_the_callers_umask() -> None:
    _server()
    old = os.umask(0o027)  # as a test does before running a command (tests/e2e/cli/test_corrupt_state.py)
    try:
        proc = forkserver.popen(["emulator", "--port", "0"], env=spd_env())
    finally:
        os.umask(old)
    assert proc is not None
    assert proc.stdout is not None
    try:
        assert "http://" in proc.stdout.readline()  # serving: the child has become the command
        status = Path(f"/proc/{proc.pid}/status").read_text()
        assert "Umask:\t0027" in status.splitlines()
    finally:
        proc.kill()
        proc.wait(30)
