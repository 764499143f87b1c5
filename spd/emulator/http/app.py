"""The emulator's WSGI application: moto's server with stream processors and a control API in front.

How it plugs into moto, and why this way. moto's server is a WSGI app, `DomainDispatcherApplication`,
that picks a per-service Flask app from the request (host name, SigV4 scope, target header) and builds
it from the service's `urls.py`. Rather than patch moto's global URL index or replace its Rekognition
module, `EmulatorApplication` composes:

* `/_emulator/*` goes to the control API (`spd.emulator.http.control`);
* requests whose `X-Amz-Target` is `RekognitionService.*` (the JSON 1.1 protocol leaves no doubt) go
  straight to `spd.emulator.http.responses.StreamProcessorResponse`, a subclass of moto's own Rekognition
  response class, bound to this emulator. Skipping moto's Flask layer for these keeps the hot path short;
  moto's `BaseResponse` machinery still parses and dispatches the request;
* everything else goes, untouched, to an unmodified `DomainDispatcherApplication`, created on first use
  so that a Rekognition-only session never imports moto's other services. That is how the same endpoint
  keeps serving kinesisvideo, kinesis, s3, sns, iam, sts, dynamodb and the rest of moto (including
  `/moto-api/`).

Every request with an `X-Amz-Target` (the JSON protocols) is checked here first, whichever service it is
for: a body that is not strict JSON (`spd.emulator.http.jsonbody`: UTF-8, bounded depth, no NaN) is a 400
SerializationException, and a target nobody serves is a 400 UnknownOperationException, both in the JSON
error shape, instead of moto's HTML 500 or an unrelated service's answer: an operation the botocore
model of its target prefix does not have (`spd.emulator.http.targets`; this also keeps requests away from
moto's internal methods, which moto would otherwise call by name), an unsigned request whose prefix
moto does not route unsigned (it would land on S3), one moto fails with NotImplementedError or
botocore's OperationNotFoundError, or one moto crashes on while its prefix is no AWS service's.
Everything moto serves today keeps going to moto.

Used by `spd.emulator.http.server`.
"""

from __future__ import annotations

import io
import logging
import secrets
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

from botocore.model import OperationNotFoundError
from werkzeug.wrappers import Response
from werkzeug.wsgi import get_input_stream

from spd.emulator.backend import assume_role
from spd.emulator.backend.errors import (
    JSON_CONTENT_TYPE,
    RekognitionError,
    SerializationError,
    UnknownOperationError,
)
from spd.emulator.backend.iam_simulator import SimulatingIamResponse, is_simulate_request
from spd.emulator.backend.service import CallRecord, Emulator
from spd.emulator.http.control import CONTROL_PREFIX, ControlApi
from spd.emulator.http.jsonbody import JsonBodyError, decode_json_object
from spd.emulator.http.paging import PageTokens
from spd.emulator.http.responses import CREDENTIAL_SCOPE, StreamProcessorResponse, region_from_authorization
from spd.emulator.http.targets import (
    is_known_operation,
    is_modelled_prefix,
    is_unsigned_target_prefix,
    split_target,
)
from spd.emulator.moto_services.moto_glue import MotoRequest

REKOGNITION_TARGET_PREFIX = "RekognitionService."
_INTERNAL_FAILURE = "The request processing has failed because of an unknown error, exception or failure."
"""AWS's common `InternalFailure` message, for a moto service failing on a request it should handle."""
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
        # Signs ListStreamProcessors page tokens; a new secret per server, so tokens do not outlive it.
        self._page_tokens = PageTokens(secrets.token_bytes(32))
        self._moto_app: WsgiApp | None = None
        self._moto_lock = threading.Lock()
        # DynamoDB answers one request at a time, as the service's own item-level atomicity would
        # have it: moto checks a conditional write's (or a transaction's) conditions and then writes,
        # unlocked, so two threads could both pass a condition only one of them may pass.
        self._dynamodb_lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        path = environ.get("PATH_INFO") or "/"
        if path == CONTROL_PREFIX or path.startswith(CONTROL_PREFIX + "/"):
            return self._control(environ, start_response)
        target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
        if not target:
            denied = assume_role.refusal(environ, default_seconds=self._emulator.config.assume_role_seconds)
            if denied is not None:
                refused: Iterable[bytes] = denied(environ, start_response)
                return refused
            if _signed_for(environ) == "iam":
                return self._iam(environ, start_response)
            return self._moto(environ, start_response)
        refusal = _refuse_body(environ) or _refuse_target(environ, target)
        if refusal is not None:
            return self._error(environ, start_response, refusal, target)
        if target.startswith(REKOGNITION_TARGET_PREFIX):
            return self._rekognition(environ, start_response)
        return self._moto_target(environ, start_response, target)

    def _error(
        self, environ: dict[str, Any], start_response: Any, err: RekognitionError, target: str
    ) -> Iterable[bytes]:
        """Answer a refused JSON-protocol request with the AWS JSON error shape, and account for it."""
        operation = target.removeprefix(REKOGNITION_TARGET_PREFIX)
        region = region_from_authorization(str(environ.get("HTTP_AUTHORIZATION", "")), "-")
        self._emulator.record(CallRecord(operation or "-", region, None, err.code or 400, err.error_code))
        content_type = str(environ.get("CONTENT_TYPE") or "")
        headers = dict(err.get_headers())
        if content_type.startswith("application/x-amz-json-"):
            headers["Content-Type"] = content_type
        else:
            headers["Content-Type"] = JSON_CONTENT_TYPE
        response = Response(err.get_body(), status=err.code or 400, headers=headers)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _rekognition(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        try:
            handler = StreamProcessorResponse(self._emulator, self._page_tokens)
            status, headers, body = handler._dispatch(_ServerRequest(environ))
        except Exception:
            # A bug must still look like the service's own 500, not a dropped connection.
            _log.exception("internal error while handling %s", environ.get("HTTP_X_AMZ_TARGET"))
            err = RekognitionError("InternalServerError")
            status, headers, body = err.code or 500, dict(err.get_headers()), err.get_body()
        response = Response(body, status=status, headers=headers)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _iam(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """IAM: SimulatePrincipalPolicy is the emulator's (moto lacks it), the rest moto's."""
        body = get_input_stream(environ).read()
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        if not is_simulate_request(environ, body):
            return self._moto(environ, start_response)
        status, headers, payload = SimulatingIamResponse()._dispatch(_ServerRequest(environ))
        response = Response(payload, status=int(status), headers=headers)
        if self._emulator.on_call is not None:
            self._emulator.on_call(_moto_call(environ, response.status))
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _moto_target(self, environ: dict[str, Any], start_response: Any, target: str) -> Iterable[bytes]:
        """A JSON-protocol request for one of moto's services; moto's failures to route it become errors."""
        started = False

        def tracking_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            nonlocal started
            started = True
            return start_response(status, headers, exc_info)

        try:
            return self._moto(environ, tracking_start_response)
        except (NotImplementedError, OperationNotFoundError):
            if started:
                raise
            return self._error(environ, start_response, UnknownOperationError(target), target)
        except Exception:
            if started:
                raise
            if not is_modelled_prefix(split_target(target)[0]):
                # A prefix no AWS service uses, which moto could only guess at.
                return self._error(environ, start_response, UnknownOperationError(target), target)
            _log.exception("internal error while handling %s", target)
            failure = RekognitionError("InternalFailure", _INTERNAL_FAILURE, status=500)
            return self._error(environ, start_response, failure, target)

    def _moto(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        app = self._moto_app
        if app is None:
            with self._moto_lock:
                if self._moto_app is None:
                    from spd.emulator.moto_services import dynamodb_transactions
                    from spd.emulator.moto_services.moto_glue import (
                        DomainDispatcherApplication,
                        create_backend_app,
                    )

                    dynamodb_transactions.install()
                    self._moto_app = DomainDispatcherApplication(create_backend_app)
                app = self._moto_app
        may_delete = _may_delete(environ)  # before moto reads the body
        on_call = self._emulator.on_call
        respond = start_response
        if on_call is not None:

            def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
                on_call(_moto_call(environ, status))
                return start_response(status, headers, exc_info)

            respond = recording_start_response
        if str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            with self._dynamodb_lock:
                answer: Iterable[bytes] = list(app(environ, respond))
        else:
            answer = app(environ, respond)
        if may_delete:
            # A sandbox resource deleted by hand is recorded as gone, so that it is never created again.
            self._emulator.note_sandbox_deletions()
        return answer


def _refuse_target(environ: dict[str, Any], target: str) -> RekognitionError | None:
    """UnknownOperationException for a target no service has, or one moto would not route."""
    prefix, operation = split_target(target)
    if target.startswith(REKOGNITION_TARGET_PREFIX):
        # Ours, signed or not; checked against the Rekognition model whatever the signature says.
        known = prefix + "." == REKOGNITION_TARGET_PREFIX and is_known_operation(target, "rekognition")
        return None if known else UnknownOperationError(operation or target)
    authorization = str(environ.get("HTTP_AUTHORIZATION") or "")
    if not authorization and not is_unsigned_target_prefix(prefix):
        return UnknownOperationError(target)
    scope = CREDENTIAL_SCOPE.search(authorization)
    return (
        None
        if is_known_operation(target, scope["service"] if scope else None)
        else UnknownOperationError(target)
    )


def _signed_for(environ: dict[str, Any]) -> str | None:
    """The service a SigV4-signed request names in its credential scope."""
    scope = CREDENTIAL_SCOPE.search(str(environ.get("HTTP_AUTHORIZATION", "")))
    return scope["service"] if scope else None


def _refuse_body(environ: dict[str, Any]) -> RekognitionError | None:
    """Read the body (putting it back for the handler) and say why it is refused, if it is."""
    raw = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    if not raw.strip():
        return None
    try:
        decode_json_object(raw)
    except JsonBodyError as exc:
        return SerializationError(str(exc))
    return None


def _may_delete(environ: dict[str, Any]) -> bool:
    """Whether a request to moto's services may delete a resource: a `Delete*` operation in any of their
    protocols (query `Action`, JSON `X-Amz-Target`, REST path such as Kinesis Video's `/deleteStream`) or
    an HTTP DELETE (S3). Only after one does the sandbox look for its resources again: looking after
    every call made each of a large spec's look-ups cost as much as the whole sandbox."""
    if environ.get("REQUEST_METHOD") == "DELETE":
        return True
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    path = str(environ.get("PATH_INFO") or "/")
    operation = target.rpartition(".")[2] if target else path.rstrip("/").rpartition("/")[2]
    if operation.lower().startswith("delete"):
        return True
    if not str(environ.get("CONTENT_TYPE") or "").startswith("application/x-www-form-urlencoded"):
        return "Action=Delete" in str(environ.get("QUERY_STRING", ""))
    raw = get_input_stream(environ).read()
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    return any(
        action.startswith("Delete") for action in parse_qs(raw.decode("utf-8", "replace")).get("Action", ())
    )


def _moto_call(environ: dict[str, Any], status: str) -> CallRecord:
    authorization = str(environ.get("HTTP_AUTHORIZATION", ""))
    target = str(environ.get("HTTP_X_AMZ_TARGET", ""))
    operation = target or f"{environ.get('REQUEST_METHOD', '-')} {environ.get('PATH_INFO', '/')}"
    code = int(status.split(" ", 1)[0]) if status[:3].isdigit() else 0
    return CallRecord(operation, region_from_authorization(authorization, "-"), None, code)
