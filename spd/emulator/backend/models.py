"""Stream processors and the per-(account, region) backend that owns them: the service's behaviour.

Time is lazy. No timer or thread moves a processor along: every transition the service makes on its own
(STARTING -> RUNNING, STOPPING -> STOPPED, UPDATING -> STOPPED, the end of a connected-home session, the
end of an asynchronous delete, the end of a name's reuse window) is stored as a deadline in epoch
seconds, and the current status is computed from the caller's clock on each read. That makes the state
a plain value: it persists across restarts without drift and tests control time completely.

Every method takes `now` (epoch seconds) and the current `EmulatorConfig`; the caller
(`spd.emulator.backend.service.Emulator`) holds the lock. Errors are raised as `RekognitionError`.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from spd.api.rules import DEFAULT_MIN_CONFIDENCE
from spd.emulator.backend.config import EmulatorConfig
from spd.emulator.backend.errors import RekognitionError, in_use, invalid_parameter, not_found
from spd.emulator.backend.validation import (
    CreateRequest,
    JsonDict,
    StartRequest,
    StreamArns,
    UpdateRequest,
)
from spd.emulator.moto_services.moto_glue import BaseBackend
from spd.model import Status

_TOKEN_PREFIX = "spd1:"


def _timestamp(now: float) -> float:
    # The service reports millisecond precision (e.g. 1574421649.774).
    return round(now, 3)


@dataclass(slots=True)
class StreamProcessor(StreamArns):
    """One processor as stored: its configuration in wire shape plus its status timeline."""

    name: str
    arn: str
    input: JsonDict
    output: JsonDict
    role_arn: str
    settings: JsonDict
    notification_channel: JsonDict | None
    kms_key_id: str | None
    regions_of_interest: list[JsonDict] | None
    data_sharing_opt_in: bool
    tags: dict[str, str]
    created: float
    status: str
    last_update: float
    status_message: str | None = None
    transitions: list[tuple[float, str]] = field(default_factory=list)
    """Status changes the service will make by itself: (epoch seconds, new status), in time order."""
    deleted_at: float | None = None
    """Set by DeleteStreamProcessor: the processor is gone from this moment on."""

    @property
    def is_face_search(self) -> bool:
        return "FaceSearch" in self.settings

    def current(self, now: float) -> tuple[str, float]:
        """(status, last update time) as of `now`, without changing anything."""
        status, last_update = self.status, self.last_update
        for at, next_status in self.transitions:
            if at > now:
                break
            status, last_update = next_status, at
        return status, last_update

    def settle(self, now: float) -> None:
        """Fold the transitions that are due into the stored status, before a mutation."""
        status, last_update = self.current(now)
        self.transitions = [(at, s) for at, s in self.transitions if at > now]
        self.status, self.last_update = status, last_update

    def move(self, now: float, status: str, *then: tuple[float, str]) -> None:
        self.status = status
        self.last_update = now
        self.transitions = list(then)

    def describe(self, now: float) -> JsonDict:
        status, last_update = self.current(now)
        out: JsonDict = {
            "Name": self.name,
            "StreamProcessorArn": self.arn,
            "Status": status,
        }
        if self.status_message is not None and status == Status.FAILED:
            # Stored at Start when the start is bound to fail; shown once it has.
            out["StatusMessage"] = self.status_message
        out["CreationTimestamp"] = _timestamp(self.created)
        out["LastUpdateTimestamp"] = _timestamp(last_update)
        out["Input"] = self.input
        out["Output"] = self.output
        out["RoleArn"] = self.role_arn
        out["Settings"] = self.settings
        if self.notification_channel is not None:
            out["NotificationChannel"] = self.notification_channel
        if self.kms_key_id is not None:
            out["KmsKeyId"] = self.kms_key_id
        if self.regions_of_interest:
            out["RegionsOfInterest"] = self.regions_of_interest
        out["DataSharingPreference"] = {"OptIn": self.data_sharing_opt_in}
        return out

    def to_json(self) -> JsonDict:
        return {
            "name": self.name,
            "arn": self.arn,
            "input": self.input,
            "output": self.output,
            "role_arn": self.role_arn,
            "settings": self.settings,
            "notification_channel": self.notification_channel,
            "kms_key_id": self.kms_key_id,
            "regions_of_interest": self.regions_of_interest,
            "data_sharing_opt_in": self.data_sharing_opt_in,
            "tags": self.tags,
            "created": self.created,
            "status": self.status,
            "last_update": self.last_update,
            "status_message": self.status_message,
            "transitions": [[at, status] for at, status in self.transitions],
            "deleted_at": self.deleted_at,
        }

    @classmethod
    def from_json(cls, data: object) -> StreamProcessor:
        """Rebuild a stored processor; `RecordError` names the first field that is missing or wrong.

        Strict on purpose: a damaged record is refused, never guessed at.
        """
        if not isinstance(data, dict):
            raise RecordError("not an object")
        transitions: list[tuple[float, str]] = []
        for item in _field(data, "transitions", list, default=[]):
            if not (isinstance(item, list) and len(item) == 2):
                raise RecordError(f"field 'transitions': {item!r} is not an [epoch seconds, status] pair")
            transitions.append((_number(item[0], "transitions"), _status(item[1], "transitions")))
        tags = _field(data, "tags", dict, default={})
        for key, value in tags.items():
            if not isinstance(value, str):
                raise RecordError(f"field 'tags': value of {key!r} is not a string")
        deleted_at = data.get("deleted_at")
        return cls(
            name=_field(data, "name", str),
            arn=_field(data, "arn", str),
            input=_field(data, "input", dict),
            output=_field(data, "output", dict),
            role_arn=_field(data, "role_arn", str),
            settings=_field(data, "settings", dict),
            notification_channel=_field(data, "notification_channel", dict, default=None),
            kms_key_id=_field(data, "kms_key_id", str, default=None),
            regions_of_interest=_field(data, "regions_of_interest", list, default=None),
            data_sharing_opt_in=_field(data, "data_sharing_opt_in", bool, default=False),
            tags=dict(tags),
            created=_number(data.get("created"), "created"),
            status=_status(data.get("status"), "status"),
            last_update=_number(data.get("last_update"), "last_update"),
            status_message=_field(data, "status_message", str, default=None),
            transitions=transitions,
            deleted_at=None if deleted_at is None else _number(deleted_at, "deleted_at"),
        )


class RecordError(ValueError):
    """A stored processor record is damaged; the message names the field."""


_MISSING: object = object()
_T = TypeVar("_T")
_STATUSES = frozenset(status.value for status in Status)


def _field(data: JsonDict, key: str, kind: type[_T], default: object = _MISSING) -> _T:
    value = data.get(key, _MISSING)
    if value is _MISSING or (value is None and default is None):
        if default is _MISSING:
            raise RecordError(f"field {key!r} is missing")
        return default  # type: ignore[return-value]
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise RecordError(f"field {key!r}: {value!r} is not a {kind.__name__}")
    return value


def _number(value: object, key: str) -> float:
    if value is None:
        raise RecordError(f"field {key!r} is missing")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RecordError(f"field {key!r}: {value!r} is not a number")
    return float(value)


def _status(value: object, key: str) -> str:
    if value is None:
        raise RecordError(f"field {key!r} is missing")
    if not isinstance(value, str) or value not in _STATUSES:
        raise RecordError(f"field {key!r}: {value!r} is not a stream-processor status")
    return value


class StreamProcessorBackend(BaseBackend):
    """The stream processors of one account in one region, with the service's rules.

    A moto `BaseBackend`, so it has moto's identity (region, account, partition) and reset contract.
    The instances live in the owning emulator, not in a module-level `BackendDict`: see
    `spd.emulator.backend.service` for why.
    """

    def __init__(self, region_name: str, account_id: str) -> None:
        super().__init__(region_name, account_id)
        self.processors: dict[str, StreamProcessor] = {}
        self.reserved_names: dict[str, float] = {}
        """Names deleted recently: name -> time from which it may be used again."""
        self._deleting: dict[str, float] = {}
        self._by_kvs: dict[str, str] = {}
        self._by_kds: dict[str, str] = {}
        self.changed: set[str] = set()
        """Names whose stored record must be rewritten (or removed, if no longer here) on the next save."""
        self.changed_reservations: set[str] = set()
        """Names whose stored reservation must be rewritten or removed on the next save."""
        self.before_change: Callable[[], None] | None = None
        """Called first by every operation that may change something, before any rule is checked: the
        owner takes its store's write lock there and brings this backend up to date, so the checks see
        what other processes sharing the store have committed."""

    def reset(self) -> None:
        self.processors.clear()
        self.reserved_names.clear()
        self._deleting.clear()
        self._by_kvs.clear()
        self._by_kds.clear()
        self.changed.clear()
        self.changed_reservations.clear()

    @property
    def empty(self) -> bool:
        return not self.processors and not self.reserved_names

    # -- bookkeeping -------------------------------------------------------------------------------

    def _purge(self, now: float) -> None:
        """Forget processors whose deletion has completed and names whose reservation has expired.

        Only the (small) sets of pending deletions and reservations are scanned, so reads stay O(1).
        """
        if self._deleting:
            for name, gone_at in list(self._deleting.items()):
                if gone_at <= now:
                    del self._deleting[name]
                    self._forget(name)
                    self.changed.add(name)
        if self.reserved_names:
            for name, until in list(self.reserved_names.items()):
                if until <= now:
                    del self.reserved_names[name]
                    self.changed_reservations.add(name)

    def _forget(self, name: str) -> None:
        self._deleting.pop(name, None)
        processor = self.processors.pop(name, None)
        if processor is None:
            return
        if self._by_kvs.get(processor.kvs_arn) == name:
            del self._by_kvs[processor.kvs_arn]
        kds = processor.kds_arn
        if kds is not None and self._by_kds.get(kds) == name:
            del self._by_kds[kds]

    def _add(self, processor: StreamProcessor) -> None:
        self.processors[processor.name] = processor
        self._by_kvs[processor.kvs_arn] = processor.name
        if processor.kds_arn is not None:
            self._by_kds[processor.kds_arn] = processor.name
        if processor.deleted_at is not None:
            self._deleting[processor.name] = processor.deleted_at

    def _begin_change(self) -> None:
        if self.before_change is not None:
            self.before_change()

    def get(self, name: str, now: float) -> StreamProcessor:
        """The processor, including one whose asynchronous deletion is still under way."""
        self._purge(now)
        processor = self.processors.get(name)
        if processor is None:
            raise not_found(f"Stream processor {name} not found.")
        return processor

    def _get_for_change(self, name: str, now: float) -> StreamProcessor:
        processor = self.get(name, now)
        if processor.deleted_at is not None:
            raise in_use("Specified resource is in use.")
        processor.settle(now)
        return processor

    # -- operations --------------------------------------------------------------------------------

    def create(self, request: CreateRequest, now: float, config: EmulatorConfig) -> str:
        self._begin_change()
        self._purge(now)
        name = request.name
        if name in self.processors or name in self.reserved_names:
            raise in_use("Stream processor name already in use.")
        holder = self._by_kvs.get(request.kvs_arn)
        if holder is not None:
            raise in_use(
                f"Kinesis video stream {request.kvs_arn} is already used by stream processor {holder}."
            )
        kds = request.kds_arn
        if kds is not None and kds in self._by_kds:
            raise in_use(
                f"Kinesis data stream {kds} is already used by stream processor {self._by_kds[kds]}."
            )
        if len(self.processors) >= config.max_processors:
            raise RekognitionError(
                "LimitExceededException",
                f"Stream processor limit exceeded for account, limit - {config.max_processors}",
            )
        if len(request.tags) > config.max_tags:
            raise RekognitionError(
                "ServiceQuotaExceededException",
                f"A stream processor can have at most {config.max_tags} tags.",
            )
        arn = f"arn:{self.partition}:rekognition:{self.region_name}:{self.account_id}:streamprocessor/{name}"
        self._add(
            StreamProcessor(
                name=name,
                arn=arn,
                input=request.input,
                output=request.output,
                role_arn=request.role_arn,
                settings=request.settings,
                notification_channel=request.notification_channel,
                kms_key_id=request.kms_key_id,
                regions_of_interest=request.regions_of_interest,
                data_sharing_opt_in=request.data_sharing_opt_in,
                tags=dict(request.tags),
                created=now,
                status=Status.STOPPED,
                last_update=now,
            )
        )
        self.changed.add(name)
        return arn

    def describe(self, name: str, now: float) -> JsonDict:
        return self.get(name, now).describe(now)

    def list_page(
        self, max_results: int | None, token: str | None, now: float, config: EmulatorConfig
    ) -> JsonDict:
        self._purge(now)
        names = sorted(self.processors)
        start = 0
        if token is not None:
            after = _decode_token(token)
            # First name strictly after the token's; deletions between pages do not break paging.
            start = next((i for i, n in enumerate(names) if n > after), len(names))
        size = config.page_size if max_results is None else min(max_results, config.page_size)
        page = names[start : start + size]
        out: JsonDict = {
            "StreamProcessors": [{"Name": n, "Status": self.processors[n].current(now)[0]} for n in page]
        }
        if start + size < len(names) and page:
            out["NextToken"] = _encode_token(page[-1])
        return out

    def start(
        self,
        request: StartRequest,
        now: float,
        config: EmulatorConfig,
        check: Callable[[StreamProcessor], str | None] | None = None,
    ) -> str:
        """Start a processor. `check` (strict references) returns why it cannot run, or None; with a
        reason, the processor still goes to STARTING and then, at the end of the start's transition, to
        FAILED with that StatusMessage, as AWS reports a bad reference after accepting the call."""
        self._begin_change()
        processor = self._get_for_change(request.name, now)
        if processor.is_face_search:
            if request.has_start_selector or request.has_stop_selector:
                raise invalid_parameter(
                    "StartSelector and StopSelector are not supported for FaceSearch stream processors."
                )
        elif not (request.has_start_selector and request.has_stop_selector):
            raise invalid_parameter(
                "StartSelector and StopSelector are required for ConnectedHome stream processors."
            )
        if processor.status not in config.start_allowed_in:
            raise in_use("Specified resource is in use.")
        processor.status_message = None
        failure = None if check is None else check(processor)
        if failure is not None:
            processor.status_message = failure
            processor.move(now, Status.STARTING, (now + config.effective_start_seconds, Status.FAILED))
        elif processor.is_face_search:
            processor.move(now, Status.STARTING, (now + config.effective_start_seconds, Status.RUNNING))
        else:
            duration = request.max_duration_seconds or config.default_max_duration_seconds
            processor.move(now, Status.STARTING, (now + duration * config.session_time_scale, Status.STOPPED))
        self.changed.add(processor.name)
        return str(uuid.uuid4())

    def stop(self, name: str, now: float, config: EmulatorConfig) -> None:
        self._begin_change()
        processor = self._get_for_change(name, now)
        allowed = (
            config.stop_allowed_in if processor.is_face_search else config.connected_home_stop_allowed_in
        )
        if processor.status not in allowed:
            raise in_use("Stream Processor not available for stopping")
        processor.move(now, Status.STOPPING, (now + config.effective_stop_seconds, Status.STOPPED))
        self.changed.add(name)

    def update(self, request: UpdateRequest, now: float, config: EmulatorConfig) -> None:
        self._begin_change()
        processor = self._get_for_change(request.name, now)
        if processor.is_face_search:
            # Label detection settings cannot apply to face search; its data sharing and regions can
            # (`spd.api.rules.FACE_SEARCH_UPDATABLE`).
            if request.has_settings or "ConnectedHomeMinConfidence" in request.parameters_to_delete:
                raise RekognitionError(
                    config.face_search_update_error,
                    "SettingsForUpdate (ConnectedHomeForUpdate) cannot be applied to a FaceSearch stream "
                    "processor.",
                )
            if (
                request.regions_of_interest or "RegionsOfInterest" in request.parameters_to_delete
            ) and not config.face_search_regions_of_interest:
                raise invalid_parameter("RegionsOfInterest is not supported for FaceSearch stream processors")
        if processor.status not in config.update_allowed_in:
            raise in_use("Specified resource is in use.")
        if not processor.is_face_search:
            home: JsonDict = dict(processor.settings["ConnectedHome"])
            if request.labels is not None:
                home["Labels"] = list(request.labels)
            if request.min_confidence is not None:
                home["MinConfidence"] = request.min_confidence
            if "ConnectedHomeMinConfidence" in request.parameters_to_delete:
                home["MinConfidence"] = DEFAULT_MIN_CONFIDENCE
            processor.settings = {"ConnectedHome": home}
        if request.regions_of_interest is not None:
            processor.regions_of_interest = list(request.regions_of_interest) or None
        if "RegionsOfInterest" in request.parameters_to_delete:
            processor.regions_of_interest = None
        if request.data_sharing_opt_in is not None:
            processor.data_sharing_opt_in = request.data_sharing_opt_in
        processor.status_message = None
        processor.move(now, Status.UPDATING, (now + config.effective_update_seconds, Status.STOPPED))
        self.changed.add(processor.name)

    def delete(self, name: str, now: float, config: EmulatorConfig) -> None:
        self._begin_change()
        processor = self.get(name, now)
        if processor.deleted_at is not None:
            return  # already being deleted: a retried delete succeeds
        processor.settle(now)
        if processor.status not in config.delete_allowed_in:
            raise in_use("Cannot delete stream processor.")
        processor.deleted_at = now + config.delete_seconds
        self._deleting[name] = processor.deleted_at
        self.reserved_names[name] = now + config.name_reuse_seconds
        self.changed.add(name)
        self.changed_reservations.add(name)
        self._purge(now)

    def tag(self, name: str, tags: dict[str, str], now: float, config: EmulatorConfig) -> None:
        self._begin_change()
        processor = self.get(name, now)
        merged = {**processor.tags, **tags}
        if len(merged) > config.max_tags:
            raise RekognitionError(
                "ServiceQuotaExceededException",
                f"A stream processor can have at most {config.max_tags} tags; this request would make {len(merged)}.",
            )
        processor.tags = merged
        self.changed.add(name)

    def untag(self, name: str, keys: list[str], now: float) -> None:
        self._begin_change()
        processor = self.get(name, now)
        for key in keys:
            processor.tags.pop(key, None)
        self.changed.add(name)

    def list_tags(self, name: str, now: float) -> dict[str, str]:
        return dict(self.get(name, now).tags)

    def fail(self, name: str, message: str, now: float) -> JsonDict:
        """Put the processor in FAILED with `message`, as the service does when it loses access."""
        self._begin_change()
        processor = self.get(name, now)
        if processor.deleted_at is not None:
            raise not_found(f"Stream processor {name} is being deleted.")
        processor.settle(now)
        processor.status_message = message
        processor.move(now, Status.FAILED)
        self.changed.add(name)
        return processor.describe(now)

    def summary(self, now: float) -> list[JsonDict]:
        self._purge(now)
        return [
            {"Name": name, "Status": self.processors[name].current(now)[0]}
            for name in sorted(self.processors)
        ]

    # -- persistence -------------------------------------------------------------------------------

    def put(self, processor: StreamProcessor) -> None:
        """Replace (or add) a processor with its stored record, as read from the store."""
        self._forget(processor.name)
        self._add(processor)

    def remove(self, name: str) -> None:
        """Drop a processor whose stored record is gone."""
        self._forget(name)

    def put_reservation(self, name: str, until: float | None) -> None:
        """Set (or, with None, drop) a name's reuse reservation, as read from the store."""
        if until is None:
            self.reserved_names.pop(name, None)
        else:
            self.reserved_names[name] = until

    def take_changes(self) -> tuple[dict[str, StreamProcessor | None], dict[str, float | None]]:
        """The records to save since the last call (None: remove it), and forget that they changed."""
        processors = {name: self.processors.get(name) for name in sorted(self.changed)}
        reservations = {name: self.reserved_names.get(name) for name in sorted(self.changed_reservations)}
        self.changed.clear()
        self.changed_reservations.clear()
        return processors, reservations


def _encode_token(after: str) -> str:
    return base64.urlsafe_b64encode((_TOKEN_PREFIX + after).encode()).decode()


def _decode_token(token: str) -> str:
    try:
        text = base64.urlsafe_b64decode(token.encode("ascii")).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        text = ""
    if not text.startswith(_TOKEN_PREFIX):
        raise RekognitionError("InvalidPaginationTokenException", "Invalid pagination token.")
    return text[len(_TOKEN_PREFIX) :]
