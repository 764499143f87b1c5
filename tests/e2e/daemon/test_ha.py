"""Two `spd run` processes sharing one lease in the emulator's DynamoDB: only the holder reconciles.

Real subprocesses, real signals (SIGTERM, SIGKILL, SIGSTOP/SIGCONT), boto3 out of band; the emulator's
call statistics count every mutating stream-processor call, whoever made it. Leases are 3 s.
"""

from __future__ import annotations

import json
import signal
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemonproc import Daemon, leader_of
from spd.api.rules import MUTATING_STREAM_PROCESSOR_OPERATIONS
from spdrun import home, wait_status, write_spec

LEASE = "3"


@pytest.fixture
def fast_emu(emu):
    emu.configure(transition_seconds=0.05, name_reuse_seconds=0.1)
    return emu


@pytest.fixture
def table() -> str:
    return f"spd-leases-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def daemons() -> Iterator[list[Daemon]]:
    started: list[Daemon] = []
    yield started
    for d in started:
        if d.proc.poll() is None:
            d.proc.send_signal(signal.SIGCONT)
        d.kill()


def _start(started: list[Daemon], emu, spec: Path, table: str, holder: str, **env: str) -> Daemon:
    d = Daemon(
        ["--endpoint-url", emu.url, "--spec", str(spec)],
        env={
            "SPD_HA_TABLE": table,
            "SPD_HA_LEASE_SECONDS": LEASE,
            "SPD_HA_HOLDER": holder,
            "SPD_STATUS_INTERVAL": "0.5",
            **env,
        },
    )
    started.append(d)
    return d


def _mutations(emu) -> int:
    calls = emu.stats()["calls"]
    return sum(calls.get(op, 0) for op in MUTATING_STREAM_PROCESSOR_OPERATIONS)


def _health(d: Daemon) -> tuple[int, dict]:
    code, body = d.get("/healthz")
    return code, json.loads(body)


def _wait_seen(d: Daemon, holder: str, timeout: float = 20) -> None:
    """Until `d`'s /healthz names `holder` as the lease's current holder: it has read the record."""
    deadline = time.monotonic() + timeout
    while _health(d)[1]["lease"]["current_holder"] != holder:
        assert time.monotonic() < deadline, d.dump()
        time.sleep(0.1)


def test_exactly_one_of_two_leads_and_sigterm_hands_over_at_once(tmp_path, fast_emu, table, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=fast_emu)
    a = _start(daemons, fast_emu, spec, table, "host-a:1")
    b = _start(daemons, fast_emu, spec, table, "host-b:2")
    leader, standby = leader_of(a, b)
    leader.wait_for("reconcile_completed")
    # Two heartbeats, a full-pass interval and four status sweeps later, still exactly one leader, and
    # the standby has run no pass at all.
    time.sleep(2)
    assert not standby.events("leader_acquired")
    assert not standby.events("reconcile_completed")
    assert not standby.events("status_sweep_completed")
    code, body = _health(standby)
    assert (code, body["role"], body["status"]) == (200, "standby", "standby"), body
    assert body["lease"]["current_holder"] == leader.events("leader_acquired")[0]["holder"]
    code, body = _health(leader)
    assert (code, body["role"]) == (200, "leader"), body
    assert "spd_leader 1.0" in leader.get("/metrics")[1]
    assert "spd_leader 0.0" in standby.get("/metrics")[1]

    mark = len(standby.lines)
    assert leader.stop() == 0
    lost = leader.events("leader_lost")
    assert [e["reason"] for e in lost][-1:] == ["released on shutdown"], leader.dump()
    # Released: the standby takes it at its next read (a third of the lease), not a lease later.
    _, acquired = standby.wait_for("leader_acquired", after=mark, timeout=10)
    assert acquired["how"] == "lease was free"
    standby.wait_for("reconcile_completed", after=mark)
    assert standby.stop() == 0


def test_sigkill_of_the_leader_fails_over_and_the_standby_repairs_drift(tmp_path, fast_emu, table, daemons):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=fast_emu)
    a = _start(daemons, fast_emu, spec, table, "host-a:1")
    b = _start(daemons, fast_emu, spec, table, "host-b:2")
    leader, standby = leader_of(a, b)
    leader.wait_for("reconcile_completed")
    client = fast_emu.client()
    wait_status(client, "porch", {"STOPPED"})
    leader.kill()
    client.update_stream_processor(
        Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
    )
    _, acquired = standby.wait_for("leader_acquired", timeout=20)
    assert acquired["how"] == "took over an expired lease"
    assert acquired["previous_holder"] == leader.events("leader_acquired")[0]["holder"]
    standby.wait_for("processor_updated", processor="porch", timeout=20)
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] == ["PERSON"]
    assert standby.stop() == 0


def test_a_paused_holder_makes_no_mutating_call_after_resuming(tmp_path, fast_emu, table, daemons):
    # Conflicting specs: whatever the paused one would do on waking undoes the other's work.
    spec_a = write_spec(tmp_path / "a.yaml", [home("porch", labels=["PERSON"])], references=fast_emu)
    spec_b = write_spec(tmp_path / "b.yaml", [home("porch", labels=["PACKAGE"])], references=fast_emu)
    a = _start(daemons, fast_emu, spec_a, table, "host-a:1", SPD_INTERVAL="1")
    a.wait_for("leader_acquired")
    a.wait_for("reconcile_completed")
    b = _start(daemons, fast_emu, spec_b, table, "host-b:2", SPD_INTERVAL="1")
    b.wait_for("daemon_started")
    _wait_seen(b, "host-a:1")  # b has read the lease at least once: it is standby
    assert not b.events("leader_acquired")

    a.signal(signal.SIGSTOP)  # longer than the lease: b takes over meanwhile
    b.wait_for("leader_acquired", timeout=20)
    b.wait_for("processor_updated", processor="porch", timeout=20)
    client = fast_emu.client()
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] == [
        "PACKAGE"
    ]
    b_done = len(b.lines)
    b.wait_for("reconcile_completed", after=b_done)  # b is converged: it has nothing left to change

    before = _mutations(fast_emu)
    mark = len(a.lines)
    a.signal(signal.SIGCONT)
    # On waking, a's timers fire and its pass plans to undo b's change; the guard refuses every call.
    _, lost = a.wait_for("leader_lost", after=mark, timeout=10)
    assert "another daemon holds it" in lost["reason"] or "past the safe" in lost["reason"]
    time.sleep(2)  # two of a's full-pass intervals and two heartbeats: still no call of a's
    assert _mutations(fast_emu) == before, (a.dump(), fast_emu.stats())
    woke = a.lines[mark:]
    assert not [e for e in woke if str(e.get("event", "")).startswith("processor_")], a.dump()
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] == [
        "PACKAGE"
    ]
    _code, body = _health(a)
    assert body["role"] == "standby", body
    assert a.stop() == 0
    assert b.stop() == 0


def test_a_holder_that_loses_its_lease_table_stops_mutating_within_the_lease(
    tmp_path, fast_emu, table, daemons
):
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")], references=fast_emu)
    a = _start(daemons, fast_emu, spec, table, "host-a:1", SPD_HA_CREATE_TABLE="false", SPD_INTERVAL="1")
    # Not allowed to create the table: standby, and /healthz says why.
    a.wait_for("lease_error")
    code, body = _health(a)
    assert (code, body["role"]) == (503, "standby"), body
    assert "does not exist" in body["lease"]["lease_error"]
    assert not a.events("reconcile_completed")

    dynamodb = fast_emu.client(service="dynamodb")
    dynamodb.create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "lease", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "lease", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    a.wait_for("leader_acquired", timeout=20)
    a.wait_for("reconcile_completed")
    client = fast_emu.client()
    wait_status(client, "porch", {"STOPPED"})

    dynamodb.delete_table(TableName=table)  # access to the lease gone
    # Its renewals fail; once the last confirmed one is past the safe part of the lease (before a
    # standby elsewhere could hold it), a steps down, and from here on it must not mutate.
    a.wait_for("leader_lost", timeout=20)
    client.update_stream_processor(
        Name="porch", SettingsForUpdate={"ConnectedHomeForUpdate": {"Labels": ["PET"]}}
    )
    before = _mutations(fast_emu)
    time.sleep(2)  # two full-pass intervals and two heartbeats: a leader would have reverted this
    assert _mutations(fast_emu) == before, a.dump()
    assert a.events("leader_lost"), a.dump()
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] == ["PET"]
    code, body = _health(a)
    assert (code, body["role"]) == (503, "standby"), body
    assert body["lease"]["lease_error"], body
    assert a.stop() == 0


def test_two_daemons_with_conflicting_specs_never_undo_each_other_while_roles_hold(
    tmp_path, fast_emu, table, daemons
):
    """The fight the lease exists to prevent: two specs that disagree on a label. While the roles hold,
    no UpdateStreamProcessor at all after the leader's convergence; at a fail-over, exactly one."""
    person = write_spec(tmp_path / "person.yaml", [home("porch", labels=["PERSON"])], references=fast_emu)
    pet = write_spec(tmp_path / "pet.yaml", [home("porch", labels=["PET"])], references=fast_emu)
    a = _start(daemons, fast_emu, person, table, "host-a:1")
    b = _start(daemons, fast_emu, pet, table, "host-b:2")
    leader, standby = leader_of(a, b)
    leader.wait_for("reconcile_completed")
    client = fast_emu.client()
    labels = client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"]
    updates = int(fast_emu.stats()["calls"].get("UpdateStreamProcessor", 0))
    # Two leases, three full-pass intervals and many status sweeps: the standby never reconciles its own spec.
    time.sleep(2 * float(LEASE))
    assert int(fast_emu.stats()["calls"].get("UpdateStreamProcessor", 0)) == updates
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] == labels
    assert not standby.events("processor_updated")

    leader.kill()
    standby.wait_for("leader_acquired", timeout=20)
    standby.wait_for("processor_updated", processor="porch", timeout=20)
    time.sleep(float(LEASE))  # more passes of the new leader: still the one update
    assert int(fast_emu.stats()["calls"].get("UpdateStreamProcessor", 0)) == updates + 1
    assert client.describe_stream_processor(Name="porch")["Settings"]["ConnectedHome"]["Labels"] != labels
    assert standby.stop() == 0
