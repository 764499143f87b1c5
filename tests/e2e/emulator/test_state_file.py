"""The emulator's SQLite state file: shared by several processes without losing a change, durable on
SIGKILL, private, converted once from the JSON of older versions, and refused whole when damaged.

Emulators run as real processes (`spd emulator`, `spd apply --local`) or in-process over real HTTP."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config

from emulator_only import emulator_only
from spd.emulator.embedded import embedded_emulator
from spd.emulator.testing import EmulatorProcess
from spdrun import SPD, emulator_command, face, home, run_spd, spd_env, write_spec

pytestmark = emulator_only("the emulator's state file and processes")

ACCOUNT = "123456789012"
KVS = "arn:aws:kinesisvideo:us-east-1:123456789012:stream/{}/1"
KDS = "arn:aws:kinesis:us-east-1:123456789012:stream/{}"
ROLE = "arn:aws:iam::123456789012:role/SpdRekognition"


def _face(name: str, *, kvs: str | None = None) -> dict[str, Any]:
    return {
        "Name": name,
        "Input": {"KinesisVideoStream": {"Arn": kvs or KVS.format(name)}},
        "Output": {"KinesisDataStream": {"Arn": KDS.format(name)}},
        "RoleArn": ROLE,
        "Settings": {"FaceSearch": {"CollectionId": "staff"}},
    }


def _client(url: str) -> Any:
    session = boto3.session.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
    )
    return session.client(
        "rekognition", endpoint_url=url, config=Config(retries={"mode": "standard", "total_max_attempts": 1})
    )


def _names(client: Any) -> list[str]:
    names: list[str] = []
    for page in client.get_paginator("list_stream_processors").paginate():
        names += [p["Name"] for p in page["StreamProcessors"]]
    return sorted(names)


def _sql(path: Path, statement: str, *args: Any) -> list[Any]:
    with closing(sqlite3.connect(path)) as conn, conn:
        return conn.execute(statement, args).fetchall()


# -- sharing -------------------------------------------------------------------------------------------


def test_two_local_applies_at_once_both_land(tmp_path: Path) -> None:
    """Two `spd apply --local` of different stacks on one new state file, started together."""
    state = tmp_path / "fresh" / "local.db"  # a missing file becomes a new database
    # Face-search processors are started too, so each command keeps writing for a while (the emulator's
    # default one-second start), and the two commands' writes interleave.
    stacks = {
        stack: [face(f"{stack}-{i}") for i in range(5)] + [home(f"{stack}-home")]
        for stack in ("north", "south")
    }
    commands = [
        [
            *SPD,
            "apply",
            str(write_spec(tmp_path / f"{stack}.yaml", processors, stack=stack)),
            "--local",
            "--local-state",
            str(state),
            "--auto-approve",
        ]
        for stack, processors in stacks.items()
    ]
    runs = [
        subprocess.Popen(command, env=spd_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for command in commands
    ]
    for run in runs:
        out, err = run.communicate(timeout=120)
        assert run.returncode == 0, out + err

    expected = sorted(p["name"] for processors in stacks.values() for p in processors)
    with embedded_emulator(state) as url:  # a third process's view: the file alone
        assert _names(_client(url)) == expected


def test_two_emulators_on_one_file_see_each_other_and_check_against_the_latest(tmp_path: Path) -> None:
    state = tmp_path / "shared.db"
    with embedded_emulator(state) as first_url, embedded_emulator(state) as second_url:
        first, second = _client(first_url), _client(second_url)
        first.create_stream_processor(**_face("a"))
        second.create_stream_processor(**_face("b"))
        assert _names(first) == _names(second) == ["a", "b"]
        # A change is checked against what the other emulator committed, not against a stale copy.
        with pytest.raises(second.exceptions.ResourceInUseException):
            second.create_stream_processor(**_face("a"))
        with pytest.raises(first.exceptions.ResourceInUseException):
            first.create_stream_processor(**_face("c", kvs=KVS.format("b")))
        second.tag_resource(
            ResourceArn=f"arn:aws:rekognition:us-east-1:{ACCOUNT}:streamprocessor/a", Tags={"by": "second"}
        )
        first.tag_resource(
            ResourceArn=f"arn:aws:rekognition:us-east-1:{ACCOUNT}:streamprocessor/a", Tags={"also": "first"}
        )
        tags = second.list_tags_for_resource(
            ResourceArn=f"arn:aws:rekognition:us-east-1:{ACCOUNT}:streamprocessor/a"
        )
        assert tags["Tags"] == {"by": "second", "also": "first"}
        first.delete_stream_processor(Name="b")
        with pytest.raises(second.exceptions.ResourceInUseException):
            second.create_stream_processor(**_face("b"))  # the name's reuse window is shared too


# -- durability and privacy ---------------------------------------------------------------------------


def test_sigkill_right_after_acknowledged_creates_loses_none(tmp_path: Path) -> None:
    state = tmp_path / "emulator.db"
    process = EmulatorProcess(state_file=state, quiet=True)
    process.start()
    try:
        client = process.client()
        names = [f"cam-{i:02d}" for i in range(20)]
        for name in names:
            client.create_stream_processor(**_face(name))
        process.signal(signal.SIGKILL)
        assert process.wait() == -signal.SIGKILL
    finally:
        process.stop()
    with EmulatorProcess(state_file=state, quiet=True, command=emulator_command()) as again:
        assert _names(again.client()) == names


def test_state_files_are_private(tmp_path: Path) -> None:
    state = tmp_path / "new" / "emulator.db"
    old_umask = os.umask(0o022)
    try:
        with embedded_emulator(state) as url:
            _client(url).create_stream_processor(**_face("cam"))
            files = sorted(p.name for p in state.parent.iterdir())
            assert files == ["emulator.db", "emulator.db-shm", "emulator.db-wal"]
            for path in state.parent.iterdir():
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        os.umask(old_umask)
    assert stat.S_IMODE(state.parent.stat().st_mode) == 0o700


# -- converting the JSON state of older versions ------------------------------------------------------


def _legacy_record(name: str, **changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "name": name,
        "arn": f"arn:aws:rekognition:us-east-1:{ACCOUNT}:streamprocessor/{name}",
        "input": {"KinesisVideoStream": {"Arn": KVS.format(name)}},
        "output": {"KinesisDataStream": {"Arn": KDS.format(name)}},
        "role_arn": ROLE,
        "settings": {"FaceSearch": {"CollectionId": "staff"}},
        "notification_channel": None,
        "kms_key_id": None,
        "regions_of_interest": None,
        "data_sharing_opt_in": False,
        "tags": {"spd:stack": "old"},
        "created": 1700000000.0,
        "status": "STARTING",
        "last_update": 1700000000.0,
        "status_message": None,
        "transitions": [[1700000001.0, "RUNNING"]],
        "deleted_at": None,
    }
    record.update(changes)
    return {k: v for k, v in record.items() if v is not ...}


def _legacy_state(*records: dict[str, Any], reserved: dict[str, float] | None = None) -> str:
    return json.dumps(
        {
            "format": "spd-emulator-state",
            "version": 1,
            "saved_at": 1700000002.0,
            "config": {"max_processors": 9},
            "accounts": {
                ACCOUNT: {"us-east-1": {"processors": list(records), "reserved_names": reserved or {}}}
            },
        }
    )


def test_a_json_state_is_converted_once_and_kept_as_a_backup(tmp_path: Path) -> None:
    state = tmp_path / "emulator.json"
    original = _legacy_state(_legacy_record("old-cam"), reserved={"old-gone": 4102444800.0})
    state.write_text(original)
    with EmulatorProcess(state_file=state, quiet=True, command=emulator_command()) as process:
        client = process.client()
        assert client.describe_stream_processor(Name="old-cam")["Status"] == "RUNNING"
        assert client.list_tags_for_resource(
            ResourceArn=f"arn:aws:rekognition:us-east-1:{ACCOUNT}:streamprocessor/old-cam"
        )["Tags"] == {"spd:stack": "old"}
        with pytest.raises(client.exceptions.ResourceInUseException):
            client.create_stream_processor(**_face("old-gone"))  # still reserved
        assert process.config()["max_processors"] == 9
        client.create_stream_processor(**_face("new-cam"))
    assert state.read_bytes().startswith(b"SQLite format 3\x00")
    assert (tmp_path / "emulator.json-backup").read_text() == original
    with EmulatorProcess(
        state_file=state, quiet=True, command=emulator_command()
    ) as again:  # not converted twice
        assert _names(again.client()) == ["new-cam", "old-cam"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["emulator.json", "emulator.json-backup"]


def test_the_default_json_state_becomes_the_default_database(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path))
    monkeypatch.delenv("PYTEST_CURRENT_TEST")  # the default path is refused inside tests, on purpose
    legacy = tmp_path / "spd" / "emulator.json"
    legacy.parent.mkdir()
    legacy.write_text(_legacy_state(_legacy_record("old-cam")))
    with embedded_emulator() as url:
        assert _names(_client(url)) == ["old-cam"]
    assert sorted(p.name for p in legacy.parent.iterdir()) == ["emulator.db", "emulator.json-backup"]


# -- damaged states are refused whole -----------------------------------------------------------------


def _damage_json(path: Path, kind: str) -> str:
    """Write a damaged state of `kind`; returns what the one error line must name."""
    if kind == "duplicate":
        path.write_text(_legacy_state(_legacy_record("twin"), _legacy_record("twin")))
        return f"processor {ACCOUNT}/us-east-1/twin: two records of this name"
    if kind == "bogus-status":
        path.write_text(_legacy_state(_legacy_record("cam"), _legacy_record("odd", status="BOGUS")))
        return f"processor {ACCOUNT}/us-east-1/odd: field 'status': 'BOGUS' is not a stream-processor status"
    if kind == "missing-field":
        path.write_text(_legacy_state(_legacy_record("cam", arn=...)))
        return f"processor {ACCOUNT}/us-east-1/cam: field 'arn' is missing"
    if kind == "not-a-database":
        path.write_bytes(b"\x00\x01garbage that is neither SQLite nor JSON\xff")
        return "not an spd emulator state file"
    raise AssertionError(kind)


def _damage_database(path: Path, kind: str) -> str:
    with EmulatorProcess(state_file=path, quiet=True, command=emulator_command()) as process:
        process.client().create_stream_processor(**_face("cam"))
    if kind == "row-bogus-status":
        _sql(path, "UPDATE processors SET record = json_set(record, '$.status', 'BOGUS')")
        return f"processor {ACCOUNT}/us-east-1/cam: field 'status': 'BOGUS' is not a stream-processor status"
    if kind == "row-not-json":
        _sql(path, "UPDATE processors SET record = '{oops'")
        return f"processor {ACCOUNT}/us-east-1/cam: the record is not JSON"
    if kind == "row-missing-field":
        _sql(path, "UPDATE processors SET record = json_remove(record, '$.input')")
        return f"processor {ACCOUNT}/us-east-1/cam: field 'input' is missing"
    if kind == "another-program":
        path.unlink()
        _sql(path, "CREATE TABLE notes (text TEXT)")
        return "not an spd emulator state database"
    raise AssertionError(kind)


DAMAGE = ["duplicate", "bogus-status", "missing-field", "not-a-database"]
DB_DAMAGE = ["row-bogus-status", "row-not-json", "row-missing-field", "another-program"]


@pytest.fixture(params=DAMAGE + DB_DAMAGE)
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, str]:
    path = tmp_path / "state"
    kind = str(request.param)
    expected = _damage_json(path, kind) if kind in DAMAGE else _damage_database(path, kind)
    return path, expected


def _snapshot(directory: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(directory.iterdir())}


def test_spd_emulator_refuses_a_damaged_state_with_one_line(damaged: tuple[Path, str]) -> None:
    path, expected = damaged
    before = _snapshot(path.parent)
    result = subprocess.run(
        [sys.executable, "-m", "spd.emulator", "--port", "0", "--state", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 78
    assert result.stderr.count("\n") == 1, result.stderr
    assert str(path) in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert _snapshot(path.parent) == before, "a damaged state is never repaired or converted"


@pytest.mark.parametrize("kind", ["bogus-status", "row-bogus-status"])
def test_local_commands_refuse_a_damaged_state(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "state"
    expected = _damage_json(path, kind) if kind in DAMAGE else _damage_database(path, kind)
    spec = write_spec(tmp_path / "spec.yaml", [face("cam")])
    result = run_spd(["plan", str(spec), "--local", "--local-state", str(path)])
    assert result.returncode == 78, result.stdout + result.stderr
    assert expected in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
