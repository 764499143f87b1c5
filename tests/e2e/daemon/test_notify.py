"""sd_notify against real unix datagram sockets, as systemd binds them (file path and abstract)."""

from __future__ import annotations

import logging
import os
import re
import socket

import pytest

from daemonproc import Daemon
from spd.daemon.notify import DROP_LOG_INTERVAL, Notifier, watchdog_period
from spdrun import face, wait_status, write_spec


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


def _unread_socket(path: str) -> socket.socket:
    """A bound datagram socket nobody reads, with the smallest receive buffer: it fills at once."""
    server = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    server.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1)
    server.bind(path)
    return server


def test_a_full_socket_drops_instead_of_blocking(tmp_path, caplog):
    now = [0.0]
    with _unread_socket(str(tmp_path / "notify")):
        notifier = Notifier(str(tmp_path / "notify"), clock=lambda: now[0])
        with caplog.at_level(logging.WARNING, logger="spd.notify"):
            sent = [notifier.watchdog() for _ in range(200)]
            assert sent[0]
            assert not sent[-1]
            dropped = notifier.dropped
            assert dropped == sent.count(False) > 0
            # One line for the first drop; the rest wait for the next interval.
            assert [r.getMessage() for r in caplog.records] == ["notify_dropped"]
            now[0] += DROP_LOG_INTERVAL
            assert not notifier.status("still full")
        assert notifier.dropped == dropped + 1
        later = caplog.records[-1]
        assert later.getMessage() == "notify_dropped"
        assert later.__dict__["dropped"] == dropped  # the drops since the last line, this one included
        assert later.__dict__["dropped_total"] == dropped + 1
        notifier.close()


def test_status_text_never_carries_a_url_password(tmp_path):
    path = str(tmp_path / "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        notifier = Notifier(path)
        assert notifier.status('pass failed: cannot reach "http://admin:SECRETPASS@10.0.0.1:4566/"')
        assert _receive(server) == ['STATUS=pass failed: cannot reach "http://***@10.0.0.1:4566/"']
        notifier.close()


def test_daemon_keeps_working_while_systemd_does_not_read(tmp_path, emu):
    emu.configure(transition_seconds=0.05)
    path = str(tmp_path / "notify")
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")], references=emu)
    with _unread_socket(path):
        # A ping every 5 ms: the socket's queue is full long before the first pass ends.
        d = Daemon(
            ["--endpoint-url", emu.url, "--spec", str(spec)],
            env={"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "10000"},
        )
        try:
            i, first = d.wait_for("reconcile_completed")
            assert first["errors"] == 0
            assert wait_status(emu.client(), "lobby", {"STARTING", "RUNNING"})
            d.wait_for("reconcile_completed", after=i + 1)
            code, body = d.get("/healthz")
            assert code == 200, body
            code, metrics = d.get("/metrics")
            dropped = re.search(r"^spd_notify_dropped_total (\S+)$", metrics, re.M)
            assert dropped is not None
            assert float(dropped.group(1)) > 0
            _, line = d.wait_for("notify_dropped")
            assert line["level"] == "warning"
            assert line["logger"] == "spd.notify"
            assert d.stop() == 0
        finally:
            d.kill()
