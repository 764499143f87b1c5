"""Local files another user could tamper with: state files (never through a symlink, never in a directory
others can write to) and spec files (refused when others can write them or their directory)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from spd.errors import SpecError
from spd.spec import load_spec
from spd.store.sqlite_store import Database, Schema, StoreError
from spdrun import home, run_spd, write_spec

NOTES = Schema(kind="example notes", application_id=0x54455354, migrations=("CREATE TABLE notes (x);",))
NOBODY = 65534

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="giving a file to another user needs root")


def open_refused(path: Path) -> str:
    with pytest.raises(StoreError) as caught:
        Database(path, NOTES).close()
    return str(caught.value)


# -- state files -------------------------------------------------------------------------------------


def test_a_symlink_planted_as_the_state_file_is_refused_and_its_target_never_created(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    target = tmp_path / "elsewhere" / "created-by-spd"
    target.parent.mkdir()
    (state / "notes.db").symlink_to(target)

    message = open_refused(state / "notes.db")

    assert message.startswith(f"{state / 'notes.db'}: a symbolic link; spd never follows a symlink")
    assert not target.exists()


@pytest.mark.parametrize(
    ("mode", "who"),
    [(0o777, "every user"), (0o1777, "every user"), (0o770, "its group")],
    ids=["0777", "1777", "0770"],
)
def test_a_state_directory_others_can_write_to_is_refused(tmp_path: Path, mode: int, who: str) -> None:
    state = tmp_path / "state"
    state.mkdir()
    state.chmod(mode)

    message = open_refused(state / "notes.db")

    assert message.startswith(f"{state}: state directory writable by {who} (mode {mode:04o})")
    assert f"`chmod go-w {state}`" in message
    assert list(state.iterdir()) == [], "nothing is created in it"


@needs_root
def test_a_state_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    os.chown(state, NOBODY, NOBODY)

    message = open_refused(state / "notes.db")

    assert message.startswith(f"{state}: state directory owned by uid {NOBODY}, not by this user")
    assert list(state.iterdir()) == []


def test_a_state_directory_under_a_world_writable_directory_without_sticky_bit_is_refused(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)  # anyone could rename `state` away and put their own in its place

    message = open_refused(shared / "state" / "notes.db")

    assert message.startswith(f"{shared / 'state'}: its parent directory {shared} is writable by every user")


def test_a_state_directory_under_a_sticky_world_writable_directory_is_fine(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp: no one can move another user's entry
    Database(shared / "state" / "notes.db", NOTES).close()
    assert stat.S_IMODE((shared / "state").stat().st_mode) == 0o700


def test_local_state_through_a_symlink_is_refused_by_the_command(tmp_path: Path) -> None:
    """`spd apply --local` (run as root here) with a planted symlink: exit 78, the target never created."""
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    state = tmp_path / "state"
    state.mkdir(mode=0o700)
    target = tmp_path / "victim.db"
    (state / "emulator.db").symlink_to(target)

    result = run_spd(
        ["apply", "--local", "--local-state", str(state / "emulator.db"), "--auto-approve", str(spec)]
    )

    assert result.returncode == 78, result.stderr
    assert "Traceback" not in result.stderr
    assert "a symbolic link; spd never follows a symlink to a state file" in result.stderr
    assert not target.exists()


# -- spec files ----------------------------------------------------------------------------------------


def spec_errors(path: Path) -> list[str]:
    with pytest.raises(SpecError) as caught:
        load_spec(path, environ={})
    return [str(d) for d in caught.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize("mode", [0o777, 0o1777], ids=["0777", "1777"])
def test_a_spec_directory_every_user_can_write_to_is_refused(tmp_path: Path, mode: int) -> None:
    folder = tmp_path / "spec.d"
    folder.mkdir()
    write_spec(folder / "a.yaml", [home("porch")])
    folder.chmod(mode)  # the sticky bit does not stop anyone adding a file

    assert spec_errors(folder) == [
        f"{folder}:1:1: this spec directory is writable by every user (mode {mode:04o}), so anyone on this "
        f"machine could add a spec file, and processors with it; `chmod o-w {folder}`"
    ]


def test_a_spec_file_every_user_can_write_to_is_refused(tmp_path: Path) -> None:
    spec = write_spec(tmp_path / "a.yaml", [home("porch")])
    spec.chmod(0o666)

    assert spec_errors(spec) == [
        f"{spec}:1:1: this spec file is writable by every user (mode 0666), so anyone on this machine "
        f"could change the fleet; `chmod o-w {spec}`"
    ]


def test_a_spec_file_in_a_world_writable_directory_without_sticky_bit_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    spec = write_spec(shared / "a.yaml", [home("porch")])
    shared.chmod(0o777)

    [error] = spec_errors(spec)
    assert error.startswith(f"{spec}:1:1: this spec file is in {shared}, a directory every user may write to")


@needs_root
def test_another_users_spec_file_in_a_sticky_world_writable_directory_is_refused(tmp_path: Path) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    spec = write_spec(shared / "a.yaml", [home("porch")])
    os.chown(spec, NOBODY, NOBODY)  # as if planted by that user before anyone wrote it
    shared.chmod(0o1777)

    [error] = spec_errors(spec)
    assert error.startswith(f"{spec}:1:1: this spec file is in {shared}, a directory every user may write to")


def test_an_own_spec_file_in_a_sticky_directory_and_a_group_writable_spec_directory_load(
    tmp_path: Path,
) -> None:
    sticky = tmp_path / "sticky"
    sticky.mkdir()
    spec = write_spec(sticky / "a.yaml", [home("porch")])
    sticky.chmod(0o1777)
    assert load_spec(spec, environ={}).desired.stack == "test-stack"

    group = tmp_path / "group"
    group.mkdir()
    write_spec(group / "a.yaml", [home("porch")])
    group.chmod(0o2775)  # a deploy group's directory: a grant an administrator made
    assert load_spec(group, environ={}).desired.stack == "test-stack"


def test_validate_refuses_a_world_writable_spec_directory(tmp_path: Path) -> None:
    folder = tmp_path / "spec.d"
    folder.mkdir()
    write_spec(folder / "a.yaml", [home("porch")])
    folder.chmod(0o777)

    result = run_spd(["validate", str(folder)])

    assert result.returncode == 78
    assert f"{folder}:1:1: this spec directory is writable by every user" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_settings_file_every_user_can_write_to_is_refused(tmp_path: Path) -> None:
    """The settings name the spec and the endpoint: as much a say over the fleet as a spec has."""
    spec = write_spec(tmp_path / "spec.yaml", [home("porch")])
    settings = tmp_path / "settings.yaml"
    settings.write_text("log_level: info\n")
    settings.chmod(0o666)

    result = run_spd(
        ["plan", "--settings", str(settings), "--local", "--local-state", str(tmp_path / "e.db"), str(spec)]
    )

    assert result.returncode == 78, result.stderr
    assert f"{settings}:1:1: this settings file is writable by every user" in result.stderr
    assert "Traceback" not in result.stderr
