"""Targets through the real `spd` command against the emulator: two accounts reached by assume-role,
processors landing in the right account (checked with each account's own credentials), output grouped by
target, a broken target that stops nothing else, and a target change planned as a replace."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from spd.emulator.testing import EmulatorProcess
from spdrun import run_spd, target_face, write_targets_spec
from targets_support import assumed, make_role

A = "111111111111"
B = "222222222222"
HUB = "999988887777"
NOWHERE = "333333333333"
"""An account with no roles at all: its role cannot be assumed."""


class Accounts:
    def __init__(self, emu: EmulatorProcess) -> None:
        self.emu = emu
        self.role_a = make_role(emu.url, A, external_id="ext-a")
        self.hub = make_role(emu.url, HUB)
        self.role_b = make_role(emu.url, B)

    def targets(self) -> dict[str, Any]:
        return {
            "alpha": {
                "account_id": A,
                "role_arn": self.role_a,
                "external_id": "ext-a",
                "regions": ["us-east-1", "eu-west-1"],
            },
            # Reached through a role chain: the hub account's role assumes the account's own.
            "beta": {"account_id": B, "role_arn": [self.hub, self.role_b], "regions": ["us-east-1"]},
        }

    def names(self, role: str, region: str = "us-east-1", external_id: str | None = None) -> set[str]:
        """The processors that account holds, read with that account's own credentials."""
        client = assumed(self.emu.url, role, "rekognition", region, external_id=external_id)
        return {p["Name"] for p in client.list_stream_processors()["StreamProcessors"]}


@pytest.fixture
def accounts(emu: EmulatorProcess) -> Accounts:
    return Accounts(emu)


def spd(emu: EmulatorProcess, *args: str) -> Any:
    result = run_spd([*args, "--endpoint-url", emu.url])
    assert "Traceback" not in result.stderr, result.stderr
    return result


FLEET = [
    target_face("door", A, "alpha"),
    target_face("hall", A, "alpha", region="eu-west-1"),
    target_face("gate", B, "beta"),
]


def test_processors_land_in_their_targets_accounts(
    tmp_path: Path, emu: EmulatorProcess, accounts: Accounts
) -> None:
    spec = write_targets_spec(tmp_path / "spec.yaml", accounts.targets(), FLEET)
    applied = spd(emu, "apply", str(spec), "--auto-approve")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert accounts.names(accounts.role_a, external_id="ext-a") == {"door"}
    assert accounts.names(accounts.role_a, "eu-west-1", external_id="ext-a") == {"hall"}
    assert accounts.names(accounts.role_b) == {"gate"}
    assert {p["Name"] for p in emu.processors(A)} == {"door", "hall"}
    assert {p["Name"] for p in emu.processors(B)} == {"gate"}
    assert emu.processors("123456789012") == []

    planned = spd(emu, "plan", str(spec), "--output", "json", "--detailed-exitcode")
    assert planned.returncode == 0, planned.stdout + planned.stderr
    doc = json.loads(planned.stdout)
    assert {(p["target"], p["region"], p["name"]) for p in doc["processors"]} == {
        ("alpha", "us-east-1", "door"),
        ("alpha", "eu-west-1", "hall"),
        ("beta", "us-east-1", "gate"),
    }
    assert doc["failed_targets"] == []

    status = spd(emu, "status", str(spec))
    assert status.returncode == 0, status.stderr
    text = status.stdout
    assert text.index("Target alpha") < text.index("door") < text.index("Target beta") < text.index("gate")
    assert "hall" in text[: text.index("Target beta")]
    status_doc = json.loads(spd(emu, "status", str(spec), "--output", "json").stdout)
    assert {(p["target"], p["name"]) for p in status_doc["processors"]} == {
        ("alpha", "door"),
        ("alpha", "hall"),
        ("beta", "gate"),
    }


def test_plan_text_has_a_heading_per_target(tmp_path: Path, emu: EmulatorProcess, accounts: Accounts) -> None:
    spec = write_targets_spec(tmp_path / "spec.yaml", accounts.targets(), FLEET)
    planned = spd(emu, "plan", str(spec))
    assert planned.returncode == 0, planned.stderr
    text = planned.stdout
    alpha, beta = text.index("Target alpha"), text.index("Target beta")
    assert alpha < text.index("alpha/us-east-1/door") < beta < text.index("beta/us-east-1/gate")
    assert "Plan: 3 to create" in text


@pytest.mark.parametrize("broken", ["no-such-account", "wrong-external-id"])
def test_a_broken_target_stops_nothing_else(
    tmp_path: Path, emu: EmulatorProcess, accounts: Accounts, broken: str
) -> None:
    targets = accounts.targets()
    if broken == "no-such-account":
        targets["gamma"] = {"role_arn": f"arn:aws:iam::{NOWHERE}:role/spd-manager", "regions": ["us-east-1"]}
        extra = [target_face(f"cam{i}", NOWHERE, "gamma") for i in range(3)]
    else:
        targets["gamma"] = {**targets["alpha"], "external_id": "not-ext-a"}
        extra = [{**target_face(f"cam{i}", A, "gamma"), "region": "eu-west-1"} for i in range(3)]
        for p in extra:
            p["input"]["kinesis_video_stream_arn"] = (
                f"arn:aws:kinesisvideo:eu-west-1:{A}:stream/{p['name']}/1"
            )
            p["output"]["kinesis_data_stream_arn"] = f"arn:aws:kinesis:eu-west-1:{A}:stream/{p['name']}-out"
    spec = write_targets_spec(tmp_path / "spec.yaml", targets, [*FLEET, *extra])

    applied = spd(emu, "apply", str(spec), "--auto-approve")
    assert applied.returncode == 1, applied.stdout + applied.stderr
    assert accounts.names(accounts.role_a, external_id="ext-a") == {"door"}
    assert accounts.names(accounts.role_b) == {"gate"}
    out = applied.stdout
    # Named once (in the plan, and once more in the apply report), never once per processor.
    assert out.count("Target gamma: x not read") == 2, out
    assert "AccessDenied" in out
    assert "cam0" not in out

    planned = spd(emu, "plan", str(spec), "--output", "json")
    assert planned.returncode == 1
    doc = json.loads(planned.stdout)
    assert [f["target"] for f in doc["failed_targets"]] == ["gamma"]
    assert {p["target"] for p in doc["processors"]} == {"alpha", "beta"}


def test_changing_a_processors_target_is_a_replace(
    tmp_path: Path, emu: EmulatorProcess, accounts: Accounts
) -> None:
    spec = write_targets_spec(tmp_path / "spec.yaml", accounts.targets(), FLEET)
    assert spd(emu, "apply", str(spec), "--auto-approve").returncode == 0
    moved = [p for p in FLEET if p["name"] != "door"] + [target_face("door", B, "beta")]
    spec = write_targets_spec(tmp_path / "spec.yaml", accounts.targets(), moved)

    planned = spd(emu, "plan", str(spec), "--output", "json")
    assert planned.returncode == 0, planned.stderr
    doors = {p["target"]: p for p in json.loads(planned.stdout)["processors"] if p["name"] == "door"}
    target_change = {"field": "target", "before": "alpha", "after": "beta", "forces_replacement": True}
    assert doors["beta"]["actions"] == ["create"]
    assert target_change in doors["beta"]["changes"]
    assert doors["alpha"]["actions"] == ["delete"]
    assert target_change in doors["alpha"]["changes"]
    assert "pruning is off" in doors["alpha"]["blocked"]
    text = spd(emu, "plan", str(spec)).stdout
    assert 'target: "alpha" -> "beta"   # forces replacement' in text

    applied = spd(emu, "apply", str(spec), "--auto-approve", "--prune")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    assert accounts.names(accounts.role_a, external_id="ext-a") == set()
    assert accounts.names(accounts.role_b) == {"door", "gate"}


def test_validation_errors_are_located(tmp_path: Path, emu: EmulatorProcess, accounts: Accounts) -> None:
    bad = [target_face("door", B, "alpha"), target_face("gate", B, "betta")]
    spec = write_targets_spec(tmp_path / "spec.yaml", accounts.targets(), bad)
    result = run_spd(["validate", str(spec)])
    assert result.returncode == 78
    lines = result.stderr.splitlines() + result.stdout.splitlines()
    assert any(
        line.startswith(f"{spec}:")
        and "processors[0].role_arn" in line
        and f"target 'alpha' is account {A}" in line
        for line in lines
    ), lines
    assert any(
        "processors[1].target: unknown target 'betta'" in line and "did you mean 'beta'?" in line
        for line in lines
    )
