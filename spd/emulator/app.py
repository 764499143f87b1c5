"""The emulator's WSGI application: moto's server with stream processors and a control API in front.

How it plugs into moto, and why this way. moto's server is a WSGI app, `DomainDispatcherApplication`,
that picks a per-service Flask app from the request (host name, SigV4 scope, target header) and builds
it from the service's `urls.py`. Rather than patch moto's global URL index or replace its Rekognition
module, `EmulatorApplication` composes:

* `/_emulator/*` goes to the control API (`spd.emulator.control`);
* requests whose `X-Amz-Target` is `RekognitionService.*` (the JSON 1.1 protocol leaves no doubt) go
  straight to `spd.emulator.responses.StreamProcessorResponse`, a subclass of moto's own Rekognition
  response class, bound to this emulator. Skipping moto's Flask layer for these keeps the hot path short;
  moto's `BaseResponse` machinery still parses and dispatches the request;
* everything else goes, untouched, to an unmodified `DomainDispatcherApplication`, created on first use
  so that a Rekognition-only session never imports moto's other services. That is how the same endpoint
  keeps serving kinesisvideo, kinesis, s3, sns, iam, sts, dynamodb and the rest of moto (including
  `/moto-api/`).

Used by `spd.emulator.server`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.core.request import Request as MotoRequest
from werkzeug.wrappers import Response

from spd.emulator.control import CONTROL_PREFIX, ControlApi
from spd.emulator.errors import RekognitionError
from spd.emulator.responses import StreamProcessorResponse, region_from_authorization
from spd.emulator.service import CallRecord, Emulator

REKOGNITION_TARGET_PREFIX = "RekognitionService."
_log = logging.getLogger(__name__)

WsgiApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class _ServerRequest(MotoRequest):
    # Tells moto a real WSGI server is in front (it then leaves the Date header to the server).
    from_wsgi_server = True


class EmulatorApplication:
    """Routes each request to the control API, the stream-processor service or moto."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._control = ControlApi(emulator)
        self._moto_app: WsgiApp | None = None
        self._moto_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(environ, start_response)
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith(REKOGNITION_TARGET_PREFIX):
            return self._rekognition(environ, start_response)
        return self._moto(environ, start_response)

    def _rekognition(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            status, headers, body = StreamProcessorResponse(self._emulator)._dispatch(_ServerRequest(environ))
        except Exception:
            # A bug must still look like the service's own 500, not a dropped connection.
            _log.exception("internal error while handling %s", environ.get("HTTP_X_AMZ_TARGET"))
            err = RekognitionError("InternalServerError")
            status, headers, body = err.code or 500, dict(err.get_headers()), err.get_body()
        response = Response(body, status=status, headers=headers)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _moto(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        app = self._moto_app
        if app is None:
            with self._moto_lock:
                if self._moto_app is None:
                    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app

                    self._moto_app = DomainDispatcherApplication(create_backend_app)
                app = self._moto_app
        on_call = self._emulator.on_call
        if on_call is None:
            return app(environ, start_response)

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            on_call(_moto_call(environ, status))
            return start_response(status, headers, exc_info)

        return app(environ, recording_start_response)


def _moto_call(environ: dict[str, Any], status: str) -> CallRecord:
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    operation = target or f"{environ.get('REQUEST_METHOD', '-')} {environ.get('PATH_INFO', '/')}"
    code = int(status.split(" ", 1)[0]) if status[:3].isdigit() else 0
    return CallRecord(operation, region_from_authorization(authorization, "-"), None, code)
