"""`spd apply` on a terminal: it shows the plan, asks, and only the word "yes" applies (Terraform's
convention: "y" cancels). Ctrl-C at the question, or during the apply, exits 130 at once. Driven
through a pty that is the command's controlling terminal, so Ctrl-C is a real one.

The question needs a terminal on stdin, not on stdout: `spd apply spec | tee log` still asks, on stderr.
"""

from __future__ import annotations

import pytest

from ptyrun import run_on_terminal
from spdrun import face, write_spec


def _names(emu):
    return [p["Name"] for p in emu.client().list_stream_processors()["StreamProcessors"]]


ANSWERS = [("yes", True), ("y", False), ("Yes please", False), ("n", False), ("", False)]


@pytest.mark.parametrize(("answer", "applied"), ANSWERS)
def test_apply_asks_on_a_terminal(emu, tmp_path, answer, applied):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
    run = run_on_terminal(["apply", str(spec), "--endpoint-url", emu.url], answer=answer)
    output = run.terminal
    assert "+ create" in output
    assert "Apply these changes?" in output
    assert "Only 'yes' will be accepted" in output
    if applied:
        assert run.code == 0, output
        assert _names(emu) == ["lobby"]
        assert "Apply complete" in output
    else:
        assert run.code == 1
        assert _names(emu) == []
        assert "nothing changed" in output


@pytest.mark.parametrize(("answer", "applied"), [("yes", True), ("y", False)])
def test_apply_piped_to_tee_still_asks_on_the_terminal(emu, tmp_path, answer, applied):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
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


def test_ctrl_c_at_the_question_exits_130_at_once(emu, tmp_path):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
    # The harness gives up after `timeout`; the old prompt ignored the first Ctrl-C and kept waiting.
    run = run_on_terminal(["apply", str(spec), "--endpoint-url", emu.url], answer="\x03", timeout=20)
    assert run.code == 130, run.terminal
    assert "nothing changed" in run.terminal
    assert "Traceback" not in run.terminal
    assert _names(emu) == []


def test_ctrl_c_during_apply_exits_130_and_says_how_to_finish(emu, tmp_path):
    # Slow creates, so the interruption lands while the apply is under way.
    emu.configure(latency_ms={"CreateStreamProcessor": 2000})
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby"), face("garage")], references=emu)
    run = run_on_terminal(
        ["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"],
        interrupt_after="Applying",
        timeout=30,
    )
    assert run.code == 130, run.terminal
    assert "run spd apply again to finish" in run.terminal
    assert "Traceback" not in run.terminal
