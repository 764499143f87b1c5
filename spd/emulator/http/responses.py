"""The Rekognition JSON 1.1 front end: moto's `RekognitionResponse` extended with the ten stream-processor
operations and the four face-collection ones (CreateCollection, DescribeCollection, ListCollections,
DeleteCollection; kept by `Emulator`, see `spd.emulator.backend.face_collections`).

`StreamProcessorResponse` subclasses moto's own Rekognition response class, so moto's request
normalisation (`setup_class`), account resolution, action dispatch by `X-Amz-Target` and its existing
image-analysis actions (DetectLabels, CompareFaces, ...) all keep working unchanged; the class adds one
method per stream-processor operation and three deliberate overrides:

* `get_region_from_url` takes the region from the SigV4 credential scope (the request is sent to a
  loopback URL, so moto's host-name heuristics would find nothing there);
* `call_action` applies latency, TPS limits and injected faults before the action, refuses numbers the
  model's member types cannot hold, turns unknown actions into UnknownOperationException instead of a
  server crash, and records each call;
* `_enrich_response` sets the JSON 1.1 content type and an `x-amzn-RequestId` UUID on every response.

Handlers raise `RekognitionError` (a werkzeug `HTTPException`), which moto's `call_action` already
serialises. Request bodies are decoded strictly (`spd.emulator.http.jsonbody`), and ListStreamProcessors page
tokens are sealed to their request (`spd.emulator.http.paging`). Instances are created per request by
`spd.emulator.http.app`, bound to one `Emulator` and the server's `PageTokens`.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import Callable
from typing import Any

from spd.emulator.backend import cloudtrail
from spd.emulator.backend.config import EMULATED_OPERATIONS, EmulatorConfig
from spd.emulator.backend.errors import (
    JSON_CONTENT_TYPE,
    RekognitionError,
    SerializationError,
    UnknownOperationError,
    not_found,
)
from spd.emulator.backend.face_collections import FACE_MODEL_VERSION, collection_arn, describe, list_page
from spd.emulator.backend.iam_enforcement import authorize, condition_values, processor_tags, resource_of
from spd.emulator.backend.models import StreamProcessor, StreamProcessorBackend
from spd.emulator.backend.service import CallRecord, Emulator
from spd.emulator.backend.sessions import Session, min_confidence
from spd.emulator.backend.validation import (
    JsonDict,
    check_number_widths,
    parse_collection_id,
    parse_create,
    parse_create_collection,
    parse_list,
    parse_list_collections,
    parse_list_tags,
    parse_name,
    parse_start,
    parse_tag_resource,
    parse_untag_resource,
    parse_update,
    resource_from_arn,
)
from spd.emulator.http.jsonbody import JsonBodyError, decode_json_object
from spd.emulator.http.paging import PageTokens
from spd.emulator.moto_services.moto_glue import RekognitionResponse
from spd.model import Status

CREDENTIAL_SCOPE = re.compile(
    r"Credential=[^/,\s]*/\d{8}/(?P<region>[^/,\s]+)/(?P<service>[^/,\s]+)/aws4_request"
)

_ACCESS_KEY = re.compile(r"Credential=(?P<key>[^/,\s]+)/")
_log = logging.getLogger(__name__)

Response = tuple[int, dict[str, Any], Any]
Action = Callable[[StreamProcessorBackend, float, EmulatorConfig], JsonDict]


def region_from_authorization(authorization: str, default: str) -> str:
    scope = CREDENTIAL_SCOPE.search(authorization)
    return scope["region"] if scope else default


class StreamProcessorResponse(RekognitionResponse):
    """Handles one Rekognition request against one `Emulator`."""

    def __init__(self, emulator: Emulator, page_tokens: PageTokens) -> None:
        super().__init__()
        self._emulator = emulator
        self._page_tokens = page_tokens
        self._params: JsonDict | None = None

    # -- moto hooks --------------------------------------------------------------------------------

    def get_region_from_url(self, request: Any, full_url: str) -> str:
        return region_from_authorization(request.headers.get("Authorization", ""), self.default_region)

    def call_action(self) -> Response:
        operation = str(self._get_action() or "")
        try:
            if self._emulator.config.enforce_iam:
                self._authorize(operation)
            if operation in EMULATED_OPERATIONS:
                self._emulator.admit(
                    operation, account=self.current_account, region=self.region, subject=self._subject()
                )
                check_number_widths(operation, self._body(), self._emulator.config)
            try:
                status, headers, body = super().call_action()
            except NotImplementedError:
                raise UnknownOperationError(operation) from None
        except RekognitionError as err:
            status, headers, body = self._error_response(err)
        error_code = headers.get("X-Amzn-ErrorType") if status >= 400 else None
        if int(status) < 400 and operation in cloudtrail.MUTATING_OPERATIONS:
            self._record_in_cloudtrail(operation, body, str(headers.get("x-amzn-RequestId", "")))
        self._emulator.record(
            CallRecord(operation or "-", self.region, self._subject(), int(status), error_code)
        )
        return int(status), headers, body

    def _authorize(self, operation: str) -> None:
        """`enforce_iam`: the signer's IAM policies must allow this call (`spd.emulator.backend.iam_enforcement`)."""
        body = self._body()
        resource = resource_of(
            operation, body, partition=self.partition, region=self.region, account=self.current_account
        )
        with self._emulator.lock:
            tags = processor_tags(self._emulator.backend(self.current_account, self.region), resource)
        authorize(
            self, operation=operation, resource=resource, conditions=condition_values(operation, body, tags)
        )

    @staticmethod
    def _enrich_response(headers: dict[str, str], body: Any) -> tuple[dict[str, str], Any]:
        headers.pop("status", None)
        headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
        headers["x-amzn-RequestId"] = str(uuid.uuid4())
        return headers, body

    def _record_in_cloudtrail(self, operation: str, body: Any, request_id: str) -> None:
        """Emit the call's CloudTrail event (`spd.emulator.backend.cloudtrail`); a failure never fails the call."""
        if not cloudtrail.wanted():
            return
        try:
            answer = json.loads(body) if isinstance(body, str | bytes) and body else None
            authorization = str(self.headers.get("Authorization", ""))
            key = _ACCESS_KEY.search(authorization)
            detail = cloudtrail.api_call_detail(
                operation,
                self._body(),
                answer if isinstance(answer, dict) else None,
                account=self.current_account,
                region=self.region,
                user_agent=str(self.headers.get("User-Agent", "")),
                access_key_id=key["key"] if key else None,
                request_id=request_id,
                source_ip=str(getattr(self.normalized_request, "remote_addr", None) or "127.0.0.1"),
                now=self._emulator.now(),
            )
            cloudtrail.emit(detail, account=self.current_account, region=self.region)
        except Exception:
            _log.exception("could not put the CloudTrail event of %s on the bus", operation)

    def _error_response(self, err: RekognitionError) -> Response:
        headers: dict[str, Any] = dict(self.response_headers)
        headers.update(err.get_headers())
        headers, body = self._enrich_response(headers, err.get_body())
        return err.code or 400, headers, body

    # -- helpers -----------------------------------------------------------------------------------

    def _body(self) -> JsonDict:
        if self._params is None:
            raw = self.body if self.body else "{}"
            try:
                self._params = decode_json_object(raw)
            except JsonBodyError as exc:
                raise SerializationError(str(exc)) from None
        return self._params

    def _subject(self) -> str | None:
        """The processor or collection a call is about, for the log line."""
        if self._params is None:
            try:
                self._body()
            except RekognitionError:
                return None
        params = self._params or {}
        name = params.get("Name", params.get("CollectionId"))
        if isinstance(name, str):
            return name
        arn = params.get("ResourceArn")
        if isinstance(arn, str):
            return arn.rpartition("/")[2] or arn
        return None

    def _run(self, action: Action, *, mutates: bool) -> str:
        emulator = self._emulator
        with emulator.lock:
            result = action(
                emulator.backend(self.current_account, self.region), emulator.now(), emulator.config
            )
            if mutates:
                emulator.persist()
        return json.dumps(result)

    def _resource_for_arn(self, arn: str) -> tuple[str, str]:
        """(kind, name) of the processor or collection `arn` addresses; ResourceNotFoundException if none."""
        found = resource_from_arn(arn, region=self.region, account=self.current_account)
        if found is None:
            raise not_found(f"Resource {arn} not found.")
        return found

    # -- the ten operations ------------------------------------------------------------------------

    def create_stream_processor(self) -> str:
        request = parse_create(self._body(), self._emulator.config)
        return self._run(
            lambda backend, now, config: {"StreamProcessorArn": backend.create(request, now, config)},
            mutates=True,
        )

    def describe_stream_processor(self) -> str:
        name = parse_name(self._body(), self._emulator.config)
        return self._run(lambda backend, now, config: backend.describe(name, now), mutates=False)

    def list_stream_processors(self) -> str:
        max_results, token = parse_list(self._body(), self._emulator.config)
        binding: dict[str, Any] = {
            "account": self.current_account,
            "region": self.region,
            "operation": "ListStreamProcessors",
            "max_results": max_results,
        }
        cursor = None if token is None else self._page_tokens.open(token, **binding)

        def page(backend: StreamProcessorBackend, now: float, config: EmulatorConfig) -> JsonDict:
            result = backend.list_page(max_results, cursor, now, config)
            if "NextToken" in result:
                result["NextToken"] = self._page_tokens.seal(result["NextToken"], **binding)
            return result

        return self._run(page, mutates=False)

    def start_stream_processor(self) -> str:
        request = parse_start(self._body(), self._emulator.config)
        emulator, account, region = self._emulator, self.current_account, self.region

        body = self._body()
        opened: list[Session] = []

        def start(backend: StreamProcessorBackend, now: float, config: EmulatorConfig) -> JsonDict:
            check = emulator.reference_check(account, region) if config.strict_references else None
            session_id = backend.start(request, now, config, check)
            processor = backend.get(request.name, now)
            if (
                not processor.is_face_search
                and processor.transitions
                and processor.transitions[-1][1] == Status.STOPPED
            ):
                duration = request.max_duration_seconds or config.default_max_duration_seconds
                opened.append(_session(processor, account, region, session_id, body, now, duration, config))
            return {"SessionId": session_id}

        result = self._run(start, mutates=True)
        for session in opened:
            emulator.sessions.open(session)
        return result

    def stop_stream_processor(self) -> str:
        name = parse_name(self._body(), self._emulator.config)

        stopped: list[tuple[float, float]] = []

        def stop(backend: StreamProcessorBackend, now: float, config: EmulatorConfig) -> JsonDict:
            backend.stop(name, now, config)
            stopped.append((now, now + config.effective_stop_seconds))
            return {}

        result = self._run(stop, mutates=True)
        for at, reaches in stopped:
            self._emulator.sessions.stop(
                (self.current_account, self.region, name), stopped_at=at, reaches_stopped_at=reaches
            )
        return result

    def update_stream_processor(self) -> str:
        request = parse_update(self._body(), self._emulator.config)

        def update(backend: StreamProcessorBackend, now: float, config: EmulatorConfig) -> JsonDict:
            backend.update(request, now, config)
            return {}

        return self._run(update, mutates=True)

    def delete_stream_processor(self) -> str:
        name = parse_name(self._body(), self._emulator.config)

        def delete(backend: StreamProcessorBackend, now: float, config: EmulatorConfig) -> JsonDict:
            backend.delete(name, now, config)
            return {}

        result = self._run(delete, mutates=True)
        self._emulator.sessions.cancel((self.current_account, self.region, name))
        return result

    def tag_resource(self) -> str:
        arn, tags = parse_tag_resource(self._body(), self._emulator.config)
        kind, name = self._resource_for_arn(arn)
        if kind == "collection":
            self._emulator.tag_collection(self.current_account, self.region, name, tags)
            return json.dumps({})

        def tag(backend: StreamProcessorBackend, now: float, config: EmulatorConfig) -> JsonDict:
            backend.tag(name, tags, now, config)
            return {}

        return self._run(tag, mutates=True)

    def untag_resource(self) -> str:
        arn, keys = parse_untag_resource(self._body(), self._emulator.config)
        kind, name = self._resource_for_arn(arn)
        if kind == "collection":
            self._emulator.untag_collection(self.current_account, self.region, name, keys)
            return json.dumps({})

        def untag(backend: StreamProcessorBackend, now: float, config: EmulatorConfig) -> JsonDict:
            backend.untag(name, keys, now)
            return {}

        return self._run(untag, mutates=True)

    def list_tags_for_resource(self) -> str:
        arn = parse_list_tags(self._body(), self._emulator.config)
        kind, name = self._resource_for_arn(arn)
        if kind == "collection":
            found = self._emulator.collection(self.current_account, self.region, name)
            return json.dumps({"Tags": dict(found.tags)})
        return self._run(lambda backend, now, config: {"Tags": backend.list_tags(name, now)}, mutates=False)

    # -- the four collection operations ------------------------------------------------------------

    def create_collection(self) -> str:
        collection_id, tags = parse_create_collection(self._body(), self._emulator.config)
        self._emulator.create_collection(self.current_account, self.region, collection_id, tags)
        return json.dumps(
            {
                "StatusCode": 200,
                "CollectionArn": collection_arn(self.region, self.current_account, collection_id),
                "FaceModelVersion": FACE_MODEL_VERSION,
            }
        )

    def describe_collection(self) -> str:
        collection_id = parse_collection_id("DescribeCollection", self._body(), self._emulator.config)
        found = self._emulator.collection(self.current_account, self.region, collection_id)
        return json.dumps(describe(found, region=self.region, account=self.current_account))

    def list_collections(self) -> str:
        max_results, token = parse_list_collections(self._body(), self._emulator.config)
        binding: dict[str, Any] = {
            "account": self.current_account,
            "region": self.region,
            "operation": "ListCollections",
            "max_results": max_results,
        }
        cursor = None if token is None else self._page_tokens.open(token, **binding)
        result = list_page(self._emulator.collections(self.current_account, self.region), max_results, cursor)
        if "NextToken" in result:
            result["NextToken"] = self._page_tokens.seal(result["NextToken"], **binding)
        return json.dumps(result)

    def delete_collection(self) -> str:
        collection_id = parse_collection_id("DeleteCollection", self._body(), self._emulator.config)
        self._emulator.delete_collection(self.current_account, self.region, collection_id)
        return json.dumps({"StatusCode": 200})


def _session(
    processor: StreamProcessor,
    account: str,
    region: str,
    session_id: str,
    request: JsonDict,
    now: float,
    duration_seconds: int,
    config: EmulatorConfig,
) -> Session:
    """What a connected-home session's notifications need, copied from the processor as it starts."""
    channel = processor.notification_channel or {}
    topic = channel.get("SNSTopicArn")
    destination = processor.output.get("S3Destination") or {}
    bucket = destination.get("Bucket")
    home = processor.settings.get("ConnectedHome") or {}
    return Session(
        account=account,
        region=region,
        name=processor.name,
        arn=processor.arn,
        session_id=session_id,
        kvs_arn=processor.kvs_arn,
        topic_arn=topic if isinstance(topic, str) else None,
        bucket=bucket if isinstance(bucket, str) else None,
        key_prefix=str(destination.get("KeyPrefix") or ""),
        tags=dict(processor.tags),
        labels=tuple(str(label) for label in home.get("Labels", [])),
        min_confidence=min_confidence(processor.settings),
        start_request=dict(request),
        started_at=now,
        duration_ms=int(duration_seconds) * 1000,
        scale=config.session_time_scale,
    )
