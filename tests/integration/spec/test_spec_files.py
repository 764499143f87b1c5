"""Spec directory entries that cannot be read are located errors, never skipped; nothing blocks on a FIFO.

A skipped file would drop its processors from the desired state, and `apply --prune` would delete them.
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from spd.errors import Diagnostic, SpecError
from spd.spec import load_spec
from spec_support import dump_yaml, valid_data


@pytest.fixture
def spec_dir() -> Iterator[Path]:
    """A directory with one valid file; short, so that a Unix socket path fits in it."""
    with tempfile.TemporaryDirectory(prefix="spd-", dir="/tmp") as name:
        directory = Path(name)
        (directory / "a.yaml").write_text(dump_yaml(valid_data()))
        yield directory


def errors(path: Path) -> list[Diagnostic]:
    with pytest.raises(SpecError) as caught:
        load_spec(path, environ={})
    return [d for d in caught.value.diagnostics if d.severity == "error"]


def only_error(path: Path) -> str:
    [error] = errors(path)
    return str(error)


def test_a_dangling_symlink_in_a_directory_is_an_error(spec_dir: Path) -> None:
    (spec_dir / "b.yaml").symlink_to("gone.yaml")
    assert (
        only_error(spec_dir)
        == f"{spec_dir}/b.yaml:1:1: dangling symlink: its target 'gone.yaml' does not exist"
    )


def test_a_symlink_loop_in_a_directory_is_an_error(spec_dir: Path) -> None:
    (spec_dir / "b.yaml").symlink_to("c.yml")
    (spec_dir / "c.yml").symlink_to("b.yaml")
    found = errors(spec_dir)
    assert [d.file for d in found] == [f"{spec_dir}/b.yaml", f"{spec_dir}/c.yml"]
    assert all(d.message.startswith("symlink loop:") for d in found)


def test_a_fifo_in_a_directory_is_an_error_and_is_not_opened(spec_dir: Path) -> None:
    os.mkfifo(spec_dir / "b.yaml")
    # Opened for reading, a FIFO without a writer would block this test forever.
    assert only_error(spec_dir).startswith(f"{spec_dir}/b.yaml:1:1: not a regular file but a FIFO")


def test_a_socket_in_a_directory_is_an_error(spec_dir: Path) -> None:
    with socket.socket(socket.AF_UNIX) as sock:
        sock.bind(str(spec_dir / "b.yaml"))
        assert only_error(spec_dir).startswith(f"{spec_dir}/b.yaml:1:1: not a regular file but a socket")


def test_a_device_in_a_directory_is_an_error(spec_dir: Path) -> None:
    (spec_dir / "b.yaml").symlink_to(os.devnull)
    assert only_error(spec_dir).startswith(f"{spec_dir}/b.yaml:1:1: not a regular file but a device")


def test_a_directory_named_like_a_spec_file_is_an_error(spec_dir: Path) -> None:
    (spec_dir / "more.yaml").mkdir()
    assert only_error(spec_dir).startswith(f"{spec_dir}/more.yaml:1:1: not a regular file but a directory")


def test_every_unreadable_entry_is_reported_with_the_other_files_problems(spec_dir: Path) -> None:
    (spec_dir / "b.yaml").symlink_to("gone.yaml")
    os.mkfifo(spec_dir / "c.yaml")
    (spec_dir / "d.yaml").write_text("version: 2\n")
    files = {Path(d.file).name for d in errors(spec_dir)}
    assert files == {"b.yaml", "c.yaml", "d.yaml"}


def test_hidden_and_other_entries_are_still_ignored(spec_dir: Path) -> None:
    (spec_dir / ".swap.yaml").symlink_to("gone.yaml")
    os.mkfifo(spec_dir / "notes.txt")
    (spec_dir / "sub").mkdir()
    assert len(load_spec(spec_dir, environ={}).desired.processors) == 2


# A FIFO given as the spec itself: tests/e2e/cli/test_spec_paths.py, in a subprocess with a timeout, so that
# a regression fails there instead of blocking the test run.


def test_a_dangling_symlink_given_as_the_spec_itself_is_an_error(spec_dir: Path) -> None:
    (spec_dir / "link").symlink_to("gone")
    assert only_error(spec_dir / "link").endswith(
        "link:1:1: dangling symlink: its target 'gone' does not exist"
    )


def test_a_symlink_to_a_regular_file_is_read(spec_dir: Path) -> None:
    (spec_dir / "b.yaml").symlink_to(spec_dir / "a.yaml")
    assert len(load_spec(spec_dir / "b.yaml", environ={}).desired.processors) == 2
