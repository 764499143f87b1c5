"""Stream processors under moto's `mock_aws`, in-process, with no server: opt in with `install()`.

    from moto import mock_aws
    import spd.emulator.mock

    spd.emulator.mock.install()

    @mock_aws
    def test_lobby():
        rekognition = boto3.client("rekognition", region_name="us-east-1")
        rekognition.create_stream_processor(...)        # served by spd's emulator
        spd.emulator.mock.emulator().fail("lobby", "Access denied to Role")

How moto serves a call in-process: `mock_aws` turns on a botocore `before-send` hook
(`moto.core.botocore_stubber`) that matches the request URL against `moto.backend_index`, asks the
service's backend for its URL table (read each time from the service's `urls.url_paths`) and calls the
handler found there, for Rekognition `RekognitionResponse.dispatch`. `install()` swaps that one handler
for one that dispatches to `spd.emulator.http.responses.StreamProcessorResponse` (a `RekognitionResponse`
subclass: moto's image operations keep working) bound to an in-process `Emulator`; `uninstall()` puts
moto's handler back. Nothing else of moto is touched, so recording, passthrough and service whitelists
behave as before.

State follows moto's: the `Emulator` lives in a moto `BackendDict`, so moto's reset (`BackendDict.reset`,
which `mock_aws` calls when it starts and stops) discards it, and the next call starts from an empty emulator with default
settings. `emulator()` returns a `MockEmulator`, the control API of `spd.emulator.testing` as Python
methods (reset, configure, fault, fail, stats, create_references, ...), which always acts on the current
one. Nothing is persisted. References are strict by default, as on AWS (a processor whose role does not
exist in moto's IAM goes to FAILED at Start): `emulator().create_references(request)` creates what a
CreateStreamProcessor request names, or `emulator().configure(strict_references=False)` turns it off.

Installing is explicit (nothing happens on import, and the pytest plugin only installs for the tests that
ask for its `spd_mock_aws` fixture) because it changes how every `mock_aws` in the process answers
Rekognition.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from werkzeug.test import Client

from spd.emulator.backend.service import DEFAULT_ACCOUNT, Emulator
from spd.emulator.http.control import CONTROL_PREFIX, ControlApi
from spd.emulator.http.paging import PageTokens
from spd.emulator.http.responses import StreamProcessorResponse
from spd.emulator.moto_services.moto_glue import (
    BackendDict,
    BaseBackend,
    RekognitionResponse,
    rekognition_urls,
)
from spd.emulator.testing import EmulatorControl, EmulatorControlError

__all__ = ["MockEmulator", "emulator", "install", "installed", "uninstall"]

_HOLDER_REGION = "global"


class _EmulatorBackend(BaseBackend):
    """Holds the in-process `Emulator`; a moto backend so that moto's reset discards it with the rest."""

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.emulator = Emulator()
        self.page_tokens = PageTokens(secrets.token_bytes(32))

    def reset(self) -> None:
        # moto's reset replaces this emulator; its session timers must not fire into the next test.
        self.emulator.sessions.close()
        super().reset()


# moto's own registries are module-level too; this one is what moto's reset clears.
_emulators: BackendDict[_EmulatorBackend] = BackendDict(
    _EmulatorBackend, "rekognition", use_boto3_regions=False, additional_regions=["aws"]
)


def _current() -> Emulator:
    return _holder().emulator


def _holder() -> _EmulatorBackend:
    return _emulators[DEFAULT_ACCOUNT][_HOLDER_REGION]


def _dispatch(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, Any], Any]:
    """The handler `install()` puts in moto's Rekognition URL table."""
    holder = _holder()
    handler = StreamProcessorResponse(holder.emulator, holder.page_tokens)
    status, response_headers, body = handler._dispatch(request, full_url, headers)
    return int(status), dict(response_headers), body


def _is_moto_handler(handler: Any) -> bool:
    return bool(handler == RekognitionResponse.dispatch)


def install() -> None:
    """Serve the stream-processor operations from spd's emulator whenever moto mocks Rekognition."""
    paths = rekognition_urls.url_paths
    for path, handler in list(paths.items()):
        if _is_moto_handler(handler):
            paths[path] = _dispatch


def uninstall() -> None:
    """Give Rekognition back to moto alone (stream-processor calls raise NotImplementedError again)."""
    paths = rekognition_urls.url_paths
    for path, handler in list(paths.items()):
        if handler is _dispatch:
            paths[path] = RekognitionResponse.dispatch


def installed() -> bool:
    return any(handler is _dispatch for handler in rekognition_urls.url_paths.values())


class MockEmulator(EmulatorControl):
    """The control API of the in-process emulator, spoken to `ControlApi` directly (no socket)."""

    def control(self, method: str, path: str, body: Any = None) -> Any:
        client = Client(ControlApi(_current()))
        response = client.open(
            f"{CONTROL_PREFIX}/{path.lstrip('/')}",
            method=method,
            data=None if body is None else json.dumps(body),
            content_type="application/json",
        )
        raw = response.get_data()
        try:
            payload = json.loads(raw or b"null")
        except ValueError:
            payload = raw.decode("utf-8", errors="replace")
        if response.status_code >= 400:
            raise EmulatorControlError(response.status_code, payload)
        return payload


def emulator() -> MockEmulator:
    """The control API of the emulator that serves stream processors under `mock_aws`."""
    return MockEmulator()
