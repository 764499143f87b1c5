"""Convergence under injected failures and under a kill at any point, through the real CLI."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import time

import pytest

import forkserver
from spd.api.rules import MUTATING_STREAM_PROCESSOR_OPERATIONS
from spdrun import SPD, face, home, run_spd, spd_env, write_spec

STACK_TAG = "spd:stack"


def _fleet(n: int, *, variant: int = 0):
    processors = []
    for i in range(n):
        if i % 2:
            labels = ["PERSON"] if variant == 0 else ["PACKAGE", "PERSON"]
            processors.append(home(f"home-{i:03d}", labels=labels))
        else:
            collection = "staff" if variant == 0 or i % 4 else "visitors"
            processors.append(face(f"face-{i:03d}", collection=collection))
    return processors


def _snapshot(client):
    out = {}
    paginator = client.get_paginator("list_stream_processors")
    for page in paginator.paginate():
        for p in page["StreamProcessors"]:
            d = client.describe_stream_processor(Name=p["Name"])
            out[p["Name"]] = d
    return out


def _converged(spec, emu):
    r = run_spd(["plan", str(spec), "--endpoint-url", emu.url, "--detailed-exitcode"])
    return r.returncode == 0, r


def test_random_failures_converge_or_report_and_second_apply_finishes(emu, tmp_path):
    client = emu.client()
    client.create_stream_processor(
        Input={"KinesisVideoStream": {"Arn": "arn:aws:kinesisvideo:us-east-1:111122223333:stream/other/1"}},
        Output={"KinesisDataStream": {"Arn": "arn:aws:kinesis:us-east-1:111122223333:stream/other"}},
        Name="not-ours",
        Settings={"FaceSearch": {"CollectionId": "c"}},
        RoleArn="arn:aws:iam::111122223333:role/R",
    )
    spec = write_spec(tmp_path / "spec.yaml", _fleet(100), references=emu)
    emu.fault(operation="*", error="ThrottlingException", rate=0.1)
    emu.fault(operation="*", error="InternalServerError", rate=0.1)
    first = run_spd(
        ["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve", "--prune"],
        env={"SPD_MAX_ATTEMPTS": "2"},
        timeout=240,
    )
    assert "Traceback" not in first.stderr
    assert first.returncode in (0, 1), first.stderr
    if first.returncode == 1:
        # Either named processors failed, each on one line with the service's reason, or the pass
        # could not even read the service (all attempts of a List/Describe failed): one error line.
        failed = [line for line in first.stdout.splitlines() if line.startswith("  x ")]
        if failed:
            assert all("Exception" in line or "Error" in line for line in failed)
        else:
            assert first.stderr.startswith("error: "), first.stderr
    emu.clear_faults()
    created_first = {n: d["CreationTimestamp"] for n, d in _snapshot(client).items()}
    second = run_spd(
        ["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve", "--prune"], timeout=240
    )
    assert second.returncode == 0, second.stdout + second.stderr
    after = _snapshot(client)
    assert len(after) == 101
    for name, created in created_first.items():
        assert after[name]["CreationTimestamp"] == created, f"{name} was created twice"
    assert after["not-ours"]["Settings"]["FaceSearch"]["CollectionId"] == "c"
    tags = client.list_tags_for_resource(ResourceArn=after["not-ours"]["StreamProcessorArn"])["Tags"]
    assert STACK_TAG not in tags
    ok, r = _converged(spec, emu)
    assert ok, r.stdout


def _mutations(emu) -> int:
    calls = emu.stats()["calls"]
    return sum(int(calls.get(op, 0)) for op in MUTATING_STREAM_PROCESSOR_OPERATIONS)


def _start_apply(args: list[str]) -> subprocess.Popen[bytes] | forkserver.ForkedProcess:
    """`spd ARGS` with its output discarded: a child of the fork server (a process of its own, which
    SIGKILL ends like any other, without the interpreter's start-up), else exec'd."""
    chosen = forkserver.running()
    if chosen is not None:
        devnull = os.open(os.devnull, os.O_RDWR)
        try:
            forked = chosen.spawn(args, env=spd_env(), cwd=None, fds=(devnull, devnull, devnull))
        finally:
            os.close(devnull)
        if forked is not None:
            return forked
    return subprocess.Popen(
        [*SPD, *args], env=spd_env(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _kill_after_mutations(
    proc: subprocess.Popen[bytes] | forkserver.ForkedProcess, emu, count: int, timeout: float = 60
) -> None:
    """SIGKILL `proc` once the emulator has counted `count` more mutating calls (or it exited first):
    the kill lands inside the apply's changes, not in its start-up nor after it finished."""
    start = _mutations(emu)
    deadline = time.monotonic() + timeout
    while _mutations(emu) - start < count and proc.poll() is None:
        assert time.monotonic() < deadline, "the apply made no changes"
        time.sleep(0.01)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)


@pytest.mark.timeout(600)  # six rounds of three spd processes each: a hang guard, not a speed bound
def test_sigkill_at_random_points_always_converges(emu, tmp_path):
    rng = random.Random(20261124)
    client = emu.client()
    for round_ in range(6):
        emu.configure(latency_ms=15)  # the killed apply is slow enough to be caught in the middle
        spec = write_spec(tmp_path / f"spec-{round_}.yaml", _fleet(50, variant=round_ % 2), references=emu)
        proc = _start_apply(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"])
        _kill_after_mutations(proc, emu, rng.randint(1, 40))
        emu.configure(latency_ms=0)
        r = run_spd(["apply", str(spec), "--endpoint-url", emu.url, "--auto-approve"], timeout=240)
        assert r.returncode == 0, f"round {round_}: {r.stdout}{r.stderr}"
        ok, plan = _converged(spec, emu)
        assert ok, f"round {round_}: {plan.stdout}"
        names = {p["Name"] for p in client.list_stream_processors()["StreamProcessors"]}
        assert len(names) == 50
