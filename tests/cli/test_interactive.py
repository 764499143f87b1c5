"""`spd apply` on a terminal: it shows the plan, asks, and only "yes" (y) applies. Driven through a pty.

The question needs a terminal on stdin, not on stdout: `spd apply spec | tee log` still asks, on stderr.
"""

from __future__ import annotations

import pytest

from ptyrun import run_on_terminal
from spdrun import face, write_spec


def _names(emu):
    return [p["Name"] for p in emu.client().list_stream_processors()["StreamProcessors"]]


@pytest.mark.parametrize(("answer", "applied"), [("y", True), ("n", False)])
def test_apply_asks_on_a_terminal(emu, tmp_path, answer, applied):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")])
    run = run_on_terminal(["apply", str(spec), "--endpoint-url", emu.url], answer=answer)
    output = run.terminal
    assert "+ create" in output
    assert "Apply these changes?" in output
    if applied:
        assert run.code == 0, output
        assert _names(emu) == ["lobby"]
        assert "Apply complete" in output
    else:
        assert run.code == 1
        assert _names(emu) == []
        assert "nothing changed" in output


@pytest.mark.parametrize(("answer", "applied"), [("y", True), ("n", False)])
def test_apply_piped_to_tee_still_asks_on_the_terminal(emu, tmp_path, answer, applied):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")])
    run = run_on_terminal(["apply", str(spec), "--endpoint-url", emu.url], pipe_stdout=True, answer=answer)
    # The question is on the terminal (stderr), the plan and the report in the pipe (the log).
    assert "Apply these changes?" in run.terminal
    assert "Apply these changes?" not in run.stdout
    assert "+ create" in run.stdout
    if applied:
        assert run.code == 0, run.terminal + run.stdout
        assert _names(emu) == ["lobby"]
        assert "Apply complete" in run.stdout
    else:
        assert run.code == 1
        assert _names(emu) == []
        assert "nothing changed" in run.stdout
