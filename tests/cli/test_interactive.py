"""`spd apply` on a terminal: it shows the plan, asks, and only "yes" (y) applies. Driven through a pty."""

from __future__ import annotations

import os
import select
import subprocess
import time

import pytest

from spdrun import SPD, face, spd_env, write_spec


def _run_on_pty(args: list[str], answer: str, timeout: float = 60.0) -> tuple[int, str]:
    leader, follower = os.openpty()
    proc = subprocess.Popen([*SPD, *args], stdin=follower, stdout=follower, stderr=follower, env=spd_env())
    os.close(follower)
    output = b""
    answered = False
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([leader], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(leader, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                output += chunk
            if not answered and b"Apply these changes?" in output:
                os.write(leader, answer.encode() + b"\n")
                answered = True
            if proc.poll() is not None and not ready:
                break
        return proc.wait(timeout=10), output.decode(errors="replace")
    finally:
        os.close(leader)
        if proc.poll() is None:
            proc.kill()


@pytest.mark.parametrize(("answer", "applied"), [("y", True), ("n", False)])
def test_apply_asks_on_a_terminal(emu, tmp_path, answer, applied):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")])
    code, output = _run_on_pty(["apply", str(spec), "--endpoint-url", emu.url], answer)
    assert "+ create" in output
    assert "Apply these changes?" in output
    names = [p["Name"] for p in emu.client().list_stream_processors()["StreamProcessors"]]
    if applied:
        assert code == 0, output
        assert names == ["lobby"]
        assert "Apply complete" in output
    else:
        assert code == 1
        assert names == []
        assert "nothing changed" in output
