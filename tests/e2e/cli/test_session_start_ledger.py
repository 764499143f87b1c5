"""`spd session start` and `spd sessions` with a damaged ledger: no Start, a clear refusal, no traceback."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ledger_damage import damaged_ledger
from spd.aws.mapping import create_request
from spd.model import STACK_TAG
from spd.spec import load_spec
from spdrun import home, run_spd, write_spec


def test_a_damaged_ledger_refuses_the_start_before_any_call(tmp_path: Path, emu: Any) -> None:
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    for processor in load_spec(spec).desired.processors:
        emu.client().create_stream_processor(**create_request(processor.config, {STACK_TAG: "test-stack"}))
    damaged_ledger(tmp_path / "state")
    env = {"SPD_STATE_DIR": str(tmp_path / "state"), "SPD_ENDPOINT_URL": emu.url}
    before = dict(emu.stats()["calls"])

    started = run_spd(["session", "start", str(spec), "porch"], env=env)
    assert started.returncode == 1, started.stdout
    assert "refused porch (us-east-1): not started:" in started.stderr
    assert "the session ledger cannot be written" in started.stderr
    assert "Traceback" not in started.stderr
    after = emu.stats()["calls"]
    for operation in ("DescribeStreamProcessor", "StartStreamProcessor"):
        assert after.get(operation, 0) == before.get(operation, 0), after

    listed = run_spd(["sessions", str(spec)], env=env)
    assert listed.returncode == 78, listed.stdout
    assert "damaged spd session ledger database" in listed.stderr
    assert "Traceback" not in listed.stderr
