"""`EmulatorProcess`: a real `python -m spd.emulator` subprocess for tests and benchmarks.

    with EmulatorProcess() as emu:
        emu.configure(transition_seconds=0.05)
        rekognition = emu.client()            # boto3, dummy credentials, no retries
        emu.create_references(request)       # its role, streams, collection exist
        rekognition.create_stream_processor(**request)
        emu.fail("cam-1", "Access denied to Role")
        assert emu.stats()["calls"]["CreateStreamProcessor"] == 1

It binds a free loopback port (`--port 0`), reads the URL from the first stdout line, and stops the
process with SIGTERM (the emulator saves its state and exits 0). The control API is spoken with urllib
so that nothing here needs more than boto3 (imported only by `client()`), and this module imports
neither moto nor boto3: the pytest plugin (`spd.emulator.pytest_plugin`), which pytest loads wherever spd
is installed, imports it. The per-call log goes to a temporary file (`log_path`).

`EmulatorControl` holds the control API as Python methods over one `control(method, path, body)` call;
`EmulatorProcess` speaks it over HTTP, `spd.emulator.mock.MockEmulator` in-process under moto's
`mock_aws`. Used by the pytest plugin's fixtures and `tests/bench/bench_emulator.py`.
"""

from __future__ import annotations

import abc
import json
import os
import re
import select
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

_URL_LINE = re.compile(r"listening on (?P<url>http://\S+)")

DUMMY_CREDENTIALS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}

FAST_TIMINGS: dict[str, Any] = {"transition_seconds": 0.05, "name_reuse_seconds": 0.2, "delete_seconds": 0.05}
"""What `reset_fast()` (and so every test fixture) configures: transitions 0.05 s, a deleted name reserved
0.2 s, asynchronous delete 0.05 s."""


class EmulatorControlError(RuntimeError):
    """The control API refused a request; `status` and `body` are its answer."""

    def __init__(self, status: int, body: Any) -> None:
        message = body.get("error") if isinstance(body, dict) else body
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.body = body


class EmulatorControl(abc.ABC):
    """The control API (docs/reference/emulator-control-api.md) as Python methods; subclasses say how a call travels."""

    @abc.abstractmethod
    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call `/_emulator/<path>`; returns the decoded JSON or raises `EmulatorControlError`."""

    def reset(self) -> None:
        self.control("POST", "reset")

    def reset_fast(self) -> None:
        """Reset, then configure `FAST_TIMINGS`: how every test fixture hands out an emulator."""
        self.reset()
        self.configure(**FAST_TIMINGS)

    def configure(self, **settings: Any) -> dict[str, Any]:
        result: dict[str, Any] = self.control("PUT", "config", settings)
        return result

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self.control("GET", "config")
        return result

    def fault(
        self,
        operation: str = "*",
        error: str = "ThrottlingException",
        *,
        count: int | None = None,
        rate: float | None = None,
        message: str | None = None,
        status: int | None = None,
        processor: str | None = None,
    ) -> dict[str, Any]:
        """Inject a fault; `processor` limits it to calls about that processor (by name or ARN)."""
        spec: dict[str, Any] = {"operation": operation, "error": error}
        options = {"count": count, "rate": rate, "message": message, "status": status, "processor": processor}
        for key, value in options.items():
            if value is not None:
                spec[key] = value
        result: dict[str, Any] = self.control("POST", "faults", spec)
        return result

    def faults(self) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = self.control("GET", "faults")["faults"]
        return result

    def clear_faults(self) -> None:
        self.control("DELETE", "faults")

    def fail(
        self,
        name: str,
        message: str = "Access denied to Role",
        *,
        region: str = "us-east-1",
        account: str | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"message": message, "region": region}
        if account is not None:
            body["account"] = account
        result: dict[str, Any] = self.control("POST", f"processors/{name}/fail", body)
        return result

    def detections(
        self,
        name: str,
        labels: Sequence[Mapping[str, Any]],
        *,
        region: str = "us-east-1",
        account: str | None = None,
    ) -> list[dict[str, Any]]:
        """Script the LABEL_DETECTED notifications of the processor's next session: each label is
        `{"name": "PERSON", "confidence": 91.5, "offset_ms": 1200}`; an empty list clears the script."""
        body: dict[str, Any] = {"labels": [dict(label) for label in labels], "region": region}
        if account is not None:
            body["account"] = account
        result: list[dict[str, Any]] = self.control("POST", f"processors/{name}/detections", body)["labels"]
        return result

    def create_references(
        self,
        request: Mapping[str, Any] | Sequence[Mapping[str, Any]] | None = None,
        *,
        spec: str | os.PathLike[str] | None = None,
        region: str = "us-east-1",
        account: str | None = None,
    ) -> list[dict[str, str]]:
        """Create what a CreateStreamProcessor request body (or a list of them) and/or a spec file
        references (role, streams, collection, topic, bucket, key) and does not exist yet, so that Start
        runs it under strict references (the default). Returns what was created."""
        body: dict[str, Any] = {"region": region}
        if request is not None:
            body["request"] = dict(request) if isinstance(request, Mapping) else [dict(r) for r in request]
        if spec is not None:
            body["spec"] = str(Path(spec).resolve())
        if account is not None:
            body["account"] = account
        result: list[dict[str, str]] = self.control("POST", "references", body)["created"]
        return result

    def stats(self, account: str | None = None) -> dict[str, dict[str, int]]:
        """Call counters, of every account or of `account` only."""
        result: dict[str, dict[str, int]] = self.control("GET", "stats" + _account_query(account))
        return result

    def clear_stats(self) -> None:
        self.control("DELETE", "stats")

    def processors(self, account: str | None = None) -> list[dict[str, Any]]:
        """Processor summaries, of every account or of `account` only."""
        result: list[dict[str, Any]] = self.control("GET", "processors" + _account_query(account))[
            "processors"
        ]
        return result


def _account_query(account: str | None) -> str:
    return "" if account is None else f"?account={account}"


class EmulatorProcess(EmulatorControl):
    """Runs the emulator as a subprocess and talks to its control API."""

    def __init__(
        self,
        *,
        state_file: Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        quiet: bool = False,
        startup_timeout: float = 30.0,
        env: dict[str, str] | None = None,
        command: Sequence[str] | None = None,
    ) -> None:
        """`command` replaces the program (default `python -m spd.emulator`), e.g. `["spd", "emulator"]`;
        the host, port, state and quiet options are appended to it."""
        self.command = list(command) if command is not None else [sys.executable, "-m", "spd.emulator"]
        self.state_file = state_file
        self.host = host
        self.port = port
        self.quiet = quiet
        self.startup_timeout = startup_timeout
        self.env = env
        self.url = ""
        self.returncode: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log_dir: tempfile.TemporaryDirectory[str] | None = None
        self.log_path: Path | None = None
        self._clients: dict[tuple[str, str], Any] = {}

    # -- lifetime ----------------------------------------------------------------------------------

    def __enter__(self) -> EmulatorProcess:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("the emulator is not running")
        return self._process.pid

    def start(self) -> None:
        args = [*self.command, "--host", self.host, "--port", str(self.port)]
        if self.state_file is not None:
            args += ["--state", str(self.state_file)]
        if self.quiet:
            args.append("--quiet")
        self._log_dir = tempfile.TemporaryDirectory(prefix="spd-emulator-")
        self.log_path = Path(self._log_dir.name) / "emulator.log"
        env = dict(os.environ if self.env is None else self.env)
        env["PYTHONUNBUFFERED"] = "1"
        with self.log_path.open("wb") as log:
            self._process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=log, env=env)
        self.url = self._read_url()
        self._clients.clear()

    def _read_url(self) -> str:
        process = self._process
        assert process is not None
        assert process.stdout is not None
        deadline = time.monotonic() + self.startup_timeout
        buffer = b""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 0.1)
            if ready:
                chunk = os.read(process.stdout.fileno(), 4096)
                if not chunk:
                    break
                buffer += chunk
                match = _URL_LINE.search(buffer.decode("utf-8", errors="replace"))
                if match is not None:
                    return match["url"]
            elif process.poll() is not None:
                break
        self._kill()
        raise RuntimeError(f"the emulator did not start; its log says:\n{self.log_text()}")

    def stop(self, timeout: float = 15.0) -> int:
        """SIGTERM, wait, and return the exit code (killing it if it does not exit in time)."""
        process = self._process
        if process is None:
            return self.returncode if self.returncode is not None else 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if process.stdout is not None:
            process.stdout.close()
        self.returncode = process.returncode
        self._process = None
        self._clients.clear()
        return self.returncode

    def signal(self, signum: int) -> None:
        """Send a signal to the emulator process."""
        if self._process is not None:
            self._process.send_signal(signum)

    def wait(self, timeout: float = 15.0) -> int:
        """Wait for the process to exit by itself and return its exit code."""
        if self._process is None:
            return self.returncode if self.returncode is not None else 0
        self.returncode = self._process.wait(timeout)
        return self.stop()

    def _kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def log_text(self) -> str:
        if self.log_path is None or not self.log_path.exists():
            return ""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    # -- control API over HTTP -------------------------------------------------------------------------------

    def control(self, method: str, path: str, body: Any = None) -> Any:
        """Call `/_emulator/<path>`; returns the decoded JSON or raises `EmulatorControlError`."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            f"{self.url}/_emulator/{path.lstrip('/')}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as err:
            raw = err.read()
            try:
                payload = json.loads(raw)
            except ValueError:
                payload = raw.decode("utf-8", errors="replace")
            raise EmulatorControlError(err.code, payload) from None

    # -- clients -----------------------------------------------------------------------------------

    def client(self, region: str = "us-east-1", service: str = "rekognition") -> Any:
        """A boto3 client for this emulator: dummy credentials, exactly one attempt (tests see every error).

        `total_max_attempts` rather than `max_attempts`: in a client `Config`, botocore reads
        `max_attempts` as the number of *retries*, so `max_attempts=1` would still retry once.
        """
        key = (service, region)
        if key not in self._clients:
            import boto3
            from botocore.config import Config

            session = boto3.session.Session(
                aws_access_key_id=DUMMY_CREDENTIALS["aws_access_key_id"],
                aws_secret_access_key=DUMMY_CREDENTIALS["aws_secret_access_key"],
                region_name=region,
            )
            make_client: Any = session.client  # any service name, so not the per-service overloads
            self._clients[key] = make_client(
                service,
                endpoint_url=self.url,
                config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
            )
        return self._clients[key]
