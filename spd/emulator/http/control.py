"""The emulator's control API: JSON over HTTP under `/_emulator/`, on the same port as the service.

| method and path                             | does                                                        |
|---------------------------------------------|-------------------------------------------------------------|
| `POST /_emulator/reset`                     | forget every processor, setting, fault and statistic        |
| `GET /_emulator/config`                     | the current settings                                        |
| `PUT /_emulator/config`                     | change some settings (unknown keys or bad values: 400)      |
| `GET|POST|DELETE /_emulator/faults`         | list, add (`operation`, `error`, `count`/`rate`), clear     |
| `POST /_emulator/processors/<name>/fail`    | put a processor in FAILED (`message`, `region`, `account`)  |
| `POST /_emulator/processors/<name>/detections` | script the next session's LABEL_DETECTED (`labels`, ...) |
| `GET /_emulator/processors[?account=A]`     | every processor in every account and region (or in A)       |
| `GET|DELETE /_emulator/stats[?account=A]`   | call counts per operation (calls, throttled, errors, ...)   |
| `POST /_emulator/references`               | create what a request body or spec references (see below)   |
| `GET /_emulator/health`                     | `{"ok": true}` once serving                                 |

`POST /_emulator/references` makes the happy path exist under strict references (the default): it takes
`request` (a CreateStreamProcessor request body, or a list of them) and/or `spec` (the path of a spec
file or directory, read by the emulator's process), plus `region` (of the requests' processors, default
us-east-1) and `account` (default 123456789012), and creates in this emulator the role, video stream,
data stream, collection, SNS topic, S3 bucket and KMS key named there that do not exist yet, as the
`--local` sandbox does (`spd.emulator.backend.references.of_requests`/`of_spec`, `Emulator.provide`); a spec's
processor of a target with an `account_id` has its references created in that account. It answers
`{"created": [{"account", "kind", "region", "identifier"}, ...]}`.

Errors are `{"error": "<message>"}` with 400 (bad request), 404 (unknown path or processor) or 405.
Bodies are decoded strictly (`spd.emulator.http.jsonbody`: UTF-8, no NaN or infinities, bounded depth), and
every setting and fault number is range-checked (`spd.emulator.backend.config.BOUNDS`, `faults.FAULT_BOUNDS`).
Used by `spd.emulator.http.app`; the client side is `spd.emulator.testing.EmulatorProcess`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from werkzeug.wrappers import Request, Response

from spd.emulator.backend.config import ConfigValueError
from spd.emulator.backend.errors import RekognitionError
from spd.emulator.backend.service import DEFAULT_ACCOUNT, Emulator
from spd.emulator.backend.sessions import DetectionError
from spd.emulator.http.jsonbody import JsonBodyError, decode_json_object

CONTROL_PREFIX = "/_emulator"
_FAIL_PATH = re.compile(r"/processors/(?P<name>[^/]+)/fail")
_DETECTIONS_PATH = re.compile(r"/processors/(?P<name>[^/]+)/detections")


class ControlError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def _json(data: Any, status: int = 200) -> Response:
    return Response(json.dumps(data), status=status, content_type="application/json")


class ControlApi:
    """WSGI handler for `/_emulator/*`."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        request = Request(environ)
        try:
            response = self._route(request)
        except ControlError as err:
            response = _json({"error": err.message}, err.status)
        except ConfigValueError as err:
            response = _json({"error": str(err)}, 400)
        result: Iterable[bytes] = response(environ, start_response)
        return result

    def _route(self, request: Request) -> Response:
        path = request.path[len(CONTROL_PREFIX) :].rstrip("/")
        method = request.method
        emulator = self._emulator
        if path == "/reset":
            self._allow(method, "POST")
            emulator.reset()
            return _json({"reset": True})
        if path == "/config":
            self._allow(method, "GET", "PUT")
            if method == "PUT":
                return _json(emulator.configure(self._body(request)).to_json())
            return _json(emulator.config.to_json())
        if path == "/faults":
            self._allow(method, "GET", "POST", "DELETE")
            if method == "POST":
                return _json(emulator.add_fault(self._body(request)))
            if method == "DELETE":
                emulator.clear_faults()
            return _json({"faults": emulator.faults()})
        if path == "/stats":
            self._allow(method, "GET", "DELETE")
            if method == "DELETE":
                emulator.clear_stats()
            return _json(emulator.stats(self._account(request)))
        if path == "/processors":
            self._allow(method, "GET")
            return _json({"processors": emulator.processors(self._account(request))})
        if path == "/references":
            self._allow(method, "POST")
            return self._references(self._body(request))
        if path == "/health":
            self._allow(method, "GET")
            return _json({"ok": True})
        match = _FAIL_PATH.fullmatch(path)
        if match is not None:
            self._allow(method, "POST")
            return self._fail(match["name"], self._body(request))
        match = _DETECTIONS_PATH.fullmatch(path)
        if match is not None:
            self._allow(method, "POST")
            return self._detections(match["name"], self._body(request))
        raise ControlError(404, f"unknown control endpoint {request.path}")

    def _fail(self, name: str, body: dict[str, Any]) -> Response:
        unknown = sorted(set(body) - {"message", "region", "account"})
        if unknown:
            raise ControlError(400, f"unknown key(s): {', '.join(unknown)}; known: account, message, region")
        message = body.get("message", "Access denied to Role")
        region = body.get("region", "us-east-1")
        account = body.get("account", DEFAULT_ACCOUNT)
        for key, value in (("message", message), ("region", region), ("account", account)):
            if not isinstance(value, str) or not value:
                raise ControlError(400, f"{key} must be a non-empty string")
        try:
            return _json(self._emulator.fail(name, message, region=region, account=account))
        except RekognitionError as err:
            raise ControlError(404, err.message) from None

    def _references(self, body: dict[str, Any]) -> Response:
        from spd.emulator.backend import references

        unknown = sorted(set(body) - {"request", "spec", "region", "account"})
        if unknown:
            raise ControlError(
                400, f"unknown key(s): {', '.join(unknown)}; known: account, region, request, spec"
            )
        region = body.get("region", "us-east-1")
        account = body.get("account", DEFAULT_ACCOUNT)
        for key, value in (("region", region), ("account", account)):
            if not isinstance(value, str) or not value:
                raise ControlError(400, f"{key} must be a non-empty string")
        if not re.fullmatch(r"[0-9]{12}", account):
            raise ControlError(400, f"account must be a 12-digit account id, not {account!r}")
        if "request" not in body and "spec" not in body:
            raise ControlError(
                400, "give a CreateStreamProcessor request body (request) or a spec path (spec)"
            )
        wanted: dict[str, list[tuple[str, str, str]]] = {}
        try:
            if "request" in body:
                given = body["request"]
                requests = given if isinstance(given, list) else [given]
                wanted.setdefault(account, []).extend(references.of_requests(requests, region))
            if "spec" in body:
                spec = body["spec"]
                if not isinstance(spec, str) or not spec:
                    raise ControlError(400, "spec must be the path of a spec file or directory")
                for owner, found in references.of_spec(Path(spec), account).items():
                    wanted.setdefault(owner, []).extend(found)
        except references.ReferenceRequestError as err:
            raise ControlError(400, str(err)) from None
        created = [
            {"account": owner, "kind": r.kind, "region": r.region, "identifier": r.identifier}
            for owner, found in wanted.items()
            for r in self._emulator.provide(owner, references.still_missing(found))
        ]
        return _json({"created": created})

    def _detections(self, name: str, body: dict[str, Any]) -> Response:
        region = body.get("region", "us-east-1")
        account = body.get("account", DEFAULT_ACCOUNT)
        for key, value in (("region", region), ("account", account)):
            if not isinstance(value, str) or not value:
                raise ControlError(400, f"{key} must be a non-empty string")
        try:
            labels = self._emulator.script_detections(name, body, region=region, account=account)
        except RekognitionError as err:
            raise ControlError(404, err.message) from None
        except DetectionError as err:
            raise ControlError(400, str(err)) from None
        return _json({"name": name, "labels": [label.to_json() for label in labels]})

    @staticmethod
    def _account(request: Request) -> str | None:
        """The `?account=` filter of a read: a 12-digit account id, or None for all accounts."""
        account = request.args.get("account")
        if account is not None and not re.fullmatch(r"[0-9]{12}", account):
            raise ControlError(400, f"account must be a 12-digit account id, not {account!r}")
        return account

    @staticmethod
    def _allow(method: str, *allowed: str) -> None:
        if method not in allowed:
            raise ControlError(405, f"method {method} not allowed here; use {' or '.join(allowed)}")

    @staticmethod
    def _body(request: Request) -> dict[str, Any]:
        """The JSON object sent, decoded strictly (`spd.emulator.http.jsonbody`: no NaN, bounded depth)."""
        raw = request.get_data()
        if not raw.strip():
            return {}
        try:
            return decode_json_object(raw)
        except JsonBodyError as exc:
            raise ControlError(400, str(exc)) from None
