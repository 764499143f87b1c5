"""Failing well: a processor whose reads run out of retries fails alone, through the real `spd` command.

The emulator throttles every Describe (or ListTagsForResource) of one processor, beyond any retry
budget. That processor is reported as failed, in text and JSON, and left alone; the others are still
planned and applied; the exit code is 1.
"""

from __future__ import annotations

import json

import pytest

from spdrun import face, run_spd, wait_status, write_spec

NAMES = ("alpha", "bravo", "charlie")
RETRIES = {"SPD_MAX_ATTEMPTS": "2"}


@pytest.fixture
def stopped_fleet(tmp_path, emu):
    """Three face-search processors of the spec, all stopped by hand: each plan wants to start them."""
    spec = write_spec(tmp_path / "spec.yaml", [face(n) for n in NAMES], references=emu)
    r = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"])
    assert r.returncode == 0, r.stdout + r.stderr
    client = emu.client()
    for name in NAMES:
        wait_status(client, name, {"RUNNING"})
        client.stop_stream_processor(Name=name)
    for name in NAMES:
        wait_status(client, name, {"STOPPED"})
    return spec


READS = pytest.mark.parametrize("operation", ["DescribeStreamProcessor", "ListTagsForResource"])


@READS
def test_apply_fails_only_the_processor_that_cannot_be_read(stopped_fleet, emu, operation):
    emu.fault(operation, "ThrottlingException", rate=1.0, processor="bravo")
    starts_before = emu.stats()["calls"].get("StartStreamProcessor", 0)
    r = run_spd(["apply", str(stopped_fleet), "--endpoint-url", emu.url, "--auto-approve"], env=RETRIES)
    assert "Traceback" not in r.stderr
    assert r.returncode == 1, r.stdout + r.stderr
    # The others were planned and started; bravo got no call that changes anything.
    client = emu.client()
    for name in ("alpha", "charlie"):
        assert wait_status(client, name, {"STARTING", "RUNNING"})
    statuses = {p["Name"]: p["Status"] for p in emu.processors()}  # the control API: no fault there
    assert statuses["bravo"] == "STOPPED"
    assert emu.stats()["calls"].get("StartStreamProcessor", 0) == starts_before + 2
    # Reported per processor, with the service's reason, in the plan and in the apply report.
    failed = [line for line in r.stdout.splitlines() if line.startswith("  x ")]
    assert len(failed) == 2, r.stdout  # once where the plan is shown, once in the report
    assert all("us-east-1/bravo" in line and "ThrottlingException" in line for line in failed)
    assert "  ok us-east-1/alpha: start" in r.stdout
    assert "  ok us-east-1/charlie: start" in r.stdout
    assert "Apply complete: 2 processor(s) changed, 1 failed." in r.stdout
    assert "1 unreadable" in r.stdout


@READS
def test_plan_reports_the_unreadable_processor_in_json_and_exits_1(stopped_fleet, emu, operation):
    emu.fault(operation, "ThrottlingException", rate=1.0, processor="bravo")
    r = run_spd(
        ["plan", str(stopped_fleet), "--endpoint-url", emu.url, "--output", "json", "--detailed-exitcode"],
        env=RETRIES,
    )
    assert "Traceback" not in r.stderr
    assert r.returncode == 1, r.stdout + r.stderr
    doc = json.loads(r.stdout)
    plans = {p["name"]: p for p in doc["processors"]}
    assert plans["alpha"]["actions"] == ["start"]
    assert plans["charlie"]["actions"] == ["start"]
    assert plans["alpha"]["error"] is None
    assert operation in plans["bravo"]["error"]
    assert "ThrottlingException" in plans["bravo"]["error"]
    assert doc["summary"]["start"] == 2
    assert doc["summary"]["unreadable"] == 1


def test_once_the_reads_succeed_the_next_apply_finishes(stopped_fleet, emu):
    emu.fault("DescribeStreamProcessor", "ThrottlingException", rate=1.0, processor="bravo")
    first = run_spd(["apply", str(stopped_fleet), "--endpoint-url", emu.url, "--auto-approve"], env=RETRIES)
    assert first.returncode == 1
    emu.clear_faults()
    second = run_spd(["apply", str(stopped_fleet), "--endpoint-url", emu.url, "--auto-approve"])
    assert second.returncode == 0, second.stdout + second.stderr
    assert "  ok us-east-1/bravo: start" in second.stdout


def test_status_lists_the_unreadable_processor(stopped_fleet, emu):
    emu.fault("ListTagsForResource", "ThrottlingException", rate=1.0, processor="bravo")
    r = run_spd(["status", str(stopped_fleet), "--endpoint-url", emu.url], env=RETRIES)
    assert "Traceback" not in r.stderr
    rows = {line.split()[1]: line for line in r.stdout.splitlines()[1:]}
    assert "unreadable" in rows["bravo"]
    assert "ThrottlingException" in rows["bravo"]
    assert "missing" not in rows["bravo"]
    assert "yes" in rows["alpha"]
