"""`spd run` over two targets in two accounts (reached by assume-role) plus one whose role cannot be
assumed: the daemon creates each account's processors in that account, tags every processor event with
its target, reports the broken target once per pass and keeps converging (and running) regardless."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "e2e" / "cli"))

import itertools

from test_targets import NOWHERE, A, Accounts, B

from daemonproc import Daemon
from spd.emulator.testing import EmulatorProcess
from spdrun import target_face, write_targets_spec

PROCESSOR_EVENTS = {"processor_created", "processor_started", "processor_stopped", "drift_detected"}


def test_daemon_converges_every_target_and_reports_a_broken_one_once_per_pass(
    tmp_path: Path, emu: EmulatorProcess
) -> None:
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    accounts = Accounts(emu)
    targets = accounts.targets()
    targets["gamma"] = {"role_arn": f"arn:aws:iam::{NOWHERE}:role/spd-manager", "regions": ["us-east-1"]}
    fleet = [
        target_face("door", A, "alpha"),
        target_face("hall", A, "alpha", region="eu-west-1"),
        target_face("gate", B, "beta"),
        target_face("cam0", NOWHERE, "gamma"),
    ]
    spec = write_targets_spec(tmp_path / "spec.yaml", targets, fleet)
    # Passes 1 s apart, status sweeps every 0.5 s: two sweeps between two passes, either of which would
    # name the broken target again if a sweep repeated an unchanged failure.
    daemon = Daemon(["--endpoint-url", emu.url, "--spec", str(spec)], env={"SPD_INTERVAL": "1"})
    try:
        first, _ = daemon.wait_for("reconcile_completed", timeout=60)
        second, _ = daemon.wait_for("reconcile_completed", after=first + 1, timeout=60)
        third, _ = daemon.wait_for("reconcile_completed", after=second + 1, timeout=60)
        assert daemon.proc.poll() is None, daemon.dump()

        assert accounts.names(accounts.role_a, external_id="ext-a") == {"door"}
        assert accounts.names(accounts.role_a, "eu-west-1", external_id="ext-a") == {"hall"}
        assert accounts.names(accounts.role_b) == {"gate"}
        assert emu.processors(NOWHERE) == []

        lines = daemon.lines[: third + 1]
        created = {
            (line["target"], line["processor"]) for line in lines if line["event"] == "processor_created"
        }
        assert created == {("alpha", "door"), ("alpha", "hall"), ("beta", "gate")}
        for line in lines:
            if line.get("event") in PROCESSOR_EVENTS or "processor" in line:
                assert line.get("target") in {"alpha", "beta"}, line

        # Between one pass's end and the next one's, the broken target is named exactly once, with why.
        ends = [i for i, line in enumerate(lines) if line.get("event") == "reconcile_completed"]
        for start, end in itertools.pairwise(ends):
            failures = [line for line in lines[start + 1 : end + 1] if line.get("event") == "target_failed"]
            assert [f["target"] for f in failures] == ["gamma"], daemon.dump()
            assert "AccessDenied" in failures[0]["error"]
        assert not any(line.get("event") == "target_failed" and line["target"] != "gamma" for line in lines)
        assert daemon.stop() == 0
    finally:
        daemon.kill()
