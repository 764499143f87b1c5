"""sd_notify against real unix datagram sockets, as systemd binds them (file path and abstract)."""

from __future__ import annotations

import os
import socket

import pytest

from spd.daemon.notify import Notifier, watchdog_period


def _receive(sock: socket.socket) -> list[str]:
    sock.settimeout(2)
    return sock.recv(4096).decode().split("\n")


def test_path_socket(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        notifier = Notifier.from_environ({"NOTIFY_SOCKET": path})
        assert notifier.enabled
        assert notifier.ready("first pass\nrunning")
        assert _receive(server) == ["READY=1", "STATUS=first pass running"]
        assert notifier.watchdog()
        assert _receive(server) == ["WATCHDOG=1"]
        assert notifier.stopping()
        assert _receive(server) == ["STOPPING=1"]
        notifier.close()


def test_abstract_socket():
    name = f"spd-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind("\0" + name)
        notifier = Notifier(f"@{name}")
        assert notifier.reloading()
        fields = _receive(server)
        assert fields[0] == "RELOADING=1"
        assert fields[1].startswith("MONOTONIC_USEC=")
        notifier.close()


def test_without_notify_socket_nothing_is_sent():
    notifier = Notifier.from_environ({})
    assert not notifier.enabled
    assert not notifier.ready()


def test_a_vanished_socket_does_not_raise(tmp_path):
    notifier = Notifier(str(tmp_path / "gone"))
    assert notifier.enabled
    assert not notifier.status("still here")


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"WATCHDOG_USEC": "400000"}, 0.2),
        ({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "4242"}, 0.2),
        ({"WATCHDOG_USEC": "400000", "WATCHDOG_PID": "1"}, None),
        ({"WATCHDOG_USEC": "0"}, None),
        ({"WATCHDOG_USEC": "soon"}, None),
        ({}, None),
    ],
)
def test_watchdog_period(environ, expected):
    assert watchdog_period(environ, pid=4242) == expected
