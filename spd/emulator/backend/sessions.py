"""Connected-home sessions as the customer's side sees them: SNS notifications and an S3 summary.

A connected-home (label detection) processor analyses video only during a session that
StartStreamProcessor opens with a start and a stop selector. The status model stays lazy
(`spd.emulator.backend.models`: the session's end is a deadline, STARTING -> STOPPED is computed on read), but
what the service pushes cannot be lazy, so each session gets real timers (`spd.emulator.backend.timers`):

- each scripted detection (`POST /_emulator/processors/<name>/detections`, consumed by the next
  session) is published as a LABEL_DETECTED notification `offset_ms` into the session, as the service
  does: only the first detection of each label in a session, only labels the processor is configured
  for, only at or above its MinConfidence, and only while the session lasts;
- when the session ends (MaxDurationInSeconds elapsed, or, where the settings allow Stop for connected
  home, when the stopped processor reaches STOPPED) a summary object is written to
  `s3://<bucket>/<KeyPrefix><name>/<SessionId>/summary.json` if the output bucket exists, then the
  STREAM_PROCESSING_COMPLETE notification with `processedVideoDurationMillis` is published.

Notifications go to the processor's NotificationChannel topic through moto's SNS in the same process
(`spd.emulator.moto_services.delivery`), in the developer guide's format ("Analyzing label detection results"): SNS
subject "Rekognition Stream Processing Event", message the JSON object. Session length and offsets are
video time; `session_time_scale` scales the wall-clock wait, not the reported durations.

Sessions are runtime state, never persisted: a reset or shutdown cancels every timer, and an emulator
restarted mid-session still shows the processor STOPPED at the deadline (the lazy model, from the state
file) but publishes nothing more for that session (moto's SNS, SQS and S3 data do not survive a
restart either). FAILED (`/fail`) or a delete ends a session without a notification.

Owned by `spd.emulator.backend.service.Emulator` (`Emulator.sessions`); `spd.emulator.http.responses` opens and stops
sessions, `spd.emulator.http.control` scripts detections.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from spd.api.rules import CONNECTED_HOME_LABELS, DEFAULT_MIN_CONFIDENCE
from spd.emulator.backend.timers import TimerQueue
from spd.emulator.moto_services import delivery

__all__ = [
    "DETECTABLE_LABELS",
    "MAX_OFFSET_MS",
    "NOTIFICATION_SUBJECT",
    "DetectionError",
    "ScriptedLabel",
    "Session",
    "Sessions",
    "parse_detections",
]

NOTIFICATION_SUBJECT = "Rekognition Stream Processing Event"
"""The SNS subject of every session notification (developer guide)."""

DETECTABLE_LABELS: tuple[str, ...] = tuple(label for label in CONNECTED_HOME_LABELS if label != "ALL")
"""What a detection can be: ALL is a setting meaning all of these, never a detected label."""

MAX_OFFSET_MS = 120_000
"""The longest session (MaxDurationInSeconds 120): no detection can come later."""

_BOUNDING_BOX = {"left": 0.25, "top": 0.25, "height": 0.5, "width": 0.5}

Key = tuple[str, str, str]
"""(account, region, processor name)."""


class DetectionError(ValueError):
    """A scripted detection was refused; the message names the item and the rule."""


@dataclass(frozen=True, slots=True)
class ScriptedLabel:
    name: str
    confidence: float
    offset_ms: int

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "confidence": self.confidence, "offset_ms": self.offset_ms}


def parse_detections(body: Mapping[str, Any], configured: Sequence[str]) -> list[ScriptedLabel]:
    """The `labels` of a detections request, checked against the processor's configured labels."""
    unknown = sorted(set(body) - {"labels", "region", "account"})
    if unknown:
        raise DetectionError(f"unknown key(s): {', '.join(unknown)}; known: account, labels, region")
    items = body.get("labels")
    if not isinstance(items, list):
        raise DetectionError("labels must be a list of {name, confidence, offset_ms} objects")
    allowed = DETECTABLE_LABELS if "ALL" in configured else tuple(configured)
    out: list[ScriptedLabel] = []
    for index, item in enumerate(items):
        where = f"labels[{index}]"
        if not isinstance(item, dict):
            raise DetectionError(f"{where} must be an object with name, confidence and offset_ms")
        extra = sorted(set(item) - {"name", "confidence", "offset_ms"})
        if extra:
            raise DetectionError(
                f"{where}: unknown key(s): {', '.join(extra)}; known: confidence, name, offset_ms"
            )
        name, confidence, offset = item.get("name"), item.get("confidence"), item.get("offset_ms")
        if name not in DETECTABLE_LABELS:
            raise DetectionError(f"{where}.name must be one of {', '.join(DETECTABLE_LABELS)}, got {name!r}")
        if name not in allowed:
            raise DetectionError(
                f"{where}.name {name} is not among the processor's labels ({', '.join(configured)})"
            )
        if (
            isinstance(confidence, bool)
            or not isinstance(confidence, int | float)
            or not 0 <= confidence <= 100
        ):
            raise DetectionError(f"{where}.confidence must be a number between 0 and 100, got {confidence!r}")
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 <= offset <= MAX_OFFSET_MS:
            raise DetectionError(
                f"{where}.offset_ms must be an integer between 0 and {MAX_OFFSET_MS} (the longest session), "
                f"got {offset!r}"
            )
        out.append(ScriptedLabel(str(name), float(confidence), offset))
    return out


@dataclass(slots=True)
class Session:
    """One connected-home session, with what its notifications need copied from the processor at Start."""

    account: str
    region: str
    name: str
    arn: str
    session_id: str
    kvs_arn: str
    topic_arn: str | None
    bucket: str | None
    key_prefix: str
    tags: dict[str, str]
    labels: tuple[str, ...]
    min_confidence: float
    start_request: dict[str, Any]
    started_at: float
    """Epoch seconds (the emulator's clock) of the Start call."""
    duration_ms: int
    """Requested video time: MaxDurationInSeconds (or the default) in milliseconds."""
    scale: float
    """`session_time_scale` at Start: wall-clock seconds per second of video."""
    detections: list[ScriptedLabel] = field(default_factory=list)
    published: list[dict[str, Any]] = field(default_factory=list)
    ended: bool = False
    handles: list[int] = field(default_factory=list)

    @property
    def key(self) -> Key:
        return (self.account, self.region, self.name)

    @property
    def ends_at(self) -> float:
        return self.started_at + self.duration_ms / 1000 * self.scale

    def at_offset(self, offset_ms: int) -> float:
        return self.started_at + offset_ms / 1000 * self.scale

    # -- what is published ------------------------------------------------------------------------

    def _selector(self) -> Mapping[str, Any]:
        start = self.start_request.get("StartSelector")
        selector = start.get("KVSStreamStartSelector") if isinstance(start, Mapping) else None
        return selector if isinstance(selector, Mapping) else {}

    def _object_prefix(self) -> str:
        prefix = self.key_prefix
        if prefix and not prefix.endswith("/"):
            prefix += "/"
        return f"{prefix}{self.name}/{self.session_id}/"

    def summary_key(self) -> str:
        return self._object_prefix() + "summary.json"

    def label_object(self, label: ScriptedLabel) -> dict[str, Any]:
        selector = self._selector()
        producer = selector.get("ProducerTimestamp")
        start_ms = int(producer) if isinstance(producer, int) else int(self.started_at * 1000)
        label_id = str(uuid.uuid4())
        out: dict[str, Any] = {"id": label_id, "name": label.name, "confidence": label.confidence}
        if self.bucket is not None:
            base = f"s3://{self.bucket}/{self._object_prefix()}{label_id}"
            out["frameImageUri"] = f"{base}/frame.jpg"
            out["croppedImageUri"] = f"{base}/cropped.jpg"
        fragment = selector.get("FragmentNumber")
        out["videoMapping"] = {
            "kinesisVideoMapping": {
                "fragmentNumber": str(fragment) if isinstance(fragment, str) else str(start_ms),
                "serverTimestamp": int(self.started_at * 1000) + label.offset_ms,
                "producerTimestamp": start_ms + label.offset_ms,
                "frameOffsetMillis": label.offset_ms,
            }
        }
        out["boundingBox"] = dict(_BOUNDING_BOX)
        return out

    def _message(self, kind: str, **extra: Any) -> dict[str, Any]:
        kinesis: dict[str, Any] = {"streamArn": self.kvs_arn}
        if "processed_ms" in extra:
            kinesis["processedVideoDurationMillis"] = extra.pop("processed_ms")
        message: dict[str, Any] = {
            "inputInformation": {"kinesisVideo": kinesis},
            "eventNamespace": {"type": kind},
        }
        message.update(extra)
        message["eventId"] = str(uuid.uuid4())
        message["tags"] = dict(self.tags)
        message["sessionId"] = self.session_id
        message["startStreamProcessorRequest"] = self.start_request
        return message

    def label_detected(self, label_object: dict[str, Any]) -> dict[str, Any]:
        return self._message("LABEL_DETECTED", labels=[label_object])

    def complete(self, processed_ms: int, reason: str) -> dict[str, Any]:
        return self._message(
            "STREAM_PROCESSING_COMPLETE",
            processed_ms=processed_ms,
            streamProcessingResults={"message": reason},
        )

    def summary(self, processed_ms: int, ended_at: float) -> dict[str, Any]:
        return {
            "streamProcessorName": self.name,
            "streamProcessorArn": self.arn,
            "sessionId": self.session_id,
            "inputInformation": {
                "kinesisVideo": {"streamArn": self.kvs_arn, "processedVideoDurationMillis": processed_ms}
            },
            "sessionStartTimestamp": int(self.started_at * 1000),
            "sessionEndTimestamp": int(ended_at * 1000),
            "labels": list(self.published),
            "tags": dict(self.tags),
            "startStreamProcessorRequest": self.start_request,
        }


class Sessions:
    """The open sessions and scripted detections of one emulator, with their timers; thread-safe."""

    def __init__(self, *, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._timers = TimerQueue(clock=clock)
        self._lock = threading.Lock()
        self._scripted: dict[Key, list[ScriptedLabel]] = {}
        self._open: dict[Key, Session] = {}

    # -- control API ---------------------------------------------------------------------------------

    def script(self, key: Key, labels: list[ScriptedLabel]) -> None:
        """Replace the detections the next session of this processor will report."""
        with self._lock:
            if labels:
                self._scripted[key] = list(labels)
            else:
                self._scripted.pop(key, None)

    # -- the service's side --------------------------------------------------------------------------

    def open(self, session: Session) -> None:
        """Schedule a started session's detections and its end."""
        with self._lock:
            scripted = self._scripted.pop(session.key, [])
            session.detections = sorted(
                (label for label in scripted if label.offset_ms < session.duration_ms),
                key=lambda label: label.offset_ms,
            )
            self._open[session.key] = session
            for label in session.detections:
                session.handles.append(
                    self._timers.call_at(session.at_offset(label.offset_ms), self._detect(session, label))
                )
            session.handles.append(
                self._timers.call_at(
                    session.ends_at,
                    self._end(session, session.duration_ms, "Stream processing session completed."),
                )
            )

    def stop(self, key: Key, *, stopped_at: float, reaches_stopped_at: float) -> None:
        """StopStreamProcessor during a session: it ends with the video processed so far."""
        with self._lock:
            session = self._open.get(key)
            if session is None or session.ended:
                return
            for handle in session.handles:
                self._timers.cancel(handle)
            processed = max(0.0, stopped_at - session.started_at) / session.scale * 1000
            processed_ms = min(session.duration_ms, round(processed))
            session.handles = [
                self._timers.call_at(
                    reaches_stopped_at,
                    self._end(
                        session, processed_ms, "Stream processing session stopped by StopStreamProcessor."
                    ),
                )
            ]

    def cancel(self, key: Key) -> None:
        """The processor failed or is being deleted: its session publishes nothing more."""
        with self._lock:
            session = self._open.pop(key, None)
            if session is not None:
                session.ended = True
                for handle in session.handles:
                    self._timers.cancel(handle)

    def reset(self) -> None:
        with self._lock:
            self._timers.cancel_all()
            for session in self._open.values():
                session.ended = True
            self._open.clear()
            self._scripted.clear()

    def close(self) -> None:
        self.reset()
        self._timers.close()

    # -- timer callbacks (on the timer thread) -------------------------------------------------------

    def _detect(self, session: Session, label: ScriptedLabel) -> Callable[[], None]:
        def publish() -> None:
            with self._lock:
                if session.ended:
                    return
                if label.name not in session.labels and "ALL" not in session.labels:
                    return
                if label.confidence < session.min_confidence:
                    return
                if any(seen["name"] == label.name for seen in session.published):
                    return  # the service reports the first detection of each label per session
                found = session.label_object(label)
                session.published.append(found)
            if session.topic_arn is not None:
                delivery.publish_to_topic(
                    session.topic_arn, NOTIFICATION_SUBJECT, session.label_detected(found)
                )

        return publish

    def _end(self, session: Session, processed_ms: int, reason: str) -> Callable[[], None]:
        def publish() -> None:
            with self._lock:
                if session.ended:
                    return
                session.ended = True
                if self._open.get(session.key) is session:
                    del self._open[session.key]
            if session.bucket is not None:
                delivery.put_bucket_object(
                    session.account,
                    session.bucket,
                    session.summary_key(),
                    session.summary(processed_ms, self._clock()),
                )
            if session.topic_arn is not None:
                delivery.publish_to_topic(
                    session.topic_arn, NOTIFICATION_SUBJECT, session.complete(processed_ms, reason)
                )

        return publish


def min_confidence(settings: Mapping[str, Any]) -> float:
    home = settings.get("ConnectedHome")
    value = home.get("MinConfidence") if isinstance(home, Mapping) else None
    return float(value) if isinstance(value, int | float) else float(DEFAULT_MIN_CONFIDENCE)
