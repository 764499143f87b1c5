"""The `event_sinks` setting: where the daemon publishes drift and action events, checked up front.

One entry per destination, told apart by `type`. The checks happen when settings load (start-up and SIGHUP),
so a typo or an unreadable secret is a located settings error (exit 78) rather than a sink that fails
quietly on the first drift hours later. Kept apart from `spd.config.settings` so that module stays a list of knobs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from spd.config.secret_file import secret_file_problem
from spd.config.urls import is_loopback_host

SinkType = Literal["webhook", "sns", "eventbridge"]

# Which keys each type takes; the others are refused so a misplaced key is not silently ignored.
_KEYS: dict[str, tuple[str, ...]] = {
    "webhook": ("url", "secret_file"),
    "sns": ("topic_arn",),
    "eventbridge": ("bus", "region"),
}
_REQUIRED: dict[str, tuple[str, ...]] = {
    "webhook": ("url", "secret_file"),
    "sns": ("topic_arn",),
    "eventbridge": ("bus",),
}


def _article(word: str) -> str:
    return "an" if word[0] in "aeios" else "a"  # "an sns", "an eventbridge", "a webhook"


def webhook_url_problem(url: str) -> str | None:
    """Why `url` cannot be a webhook (None if it can): HTTPS, or HTTP to this machine only."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError as exc:
        return f"not a URL: {exc}"
    if parts.scheme not in ("http", "https") or not host:
        return f"expected an https:// URL, got {url!r}"
    if parts.scheme == "http" and not is_loopback_host(host):
        return (
            f"plain http is refused for {host!r}: events and their signatures would cross the network "
            "unencrypted; use https (http is allowed for loopback receivers only)"
        )
    return None


class EventSinkSettings(BaseModel):
    """One destination of events: `webhook` (url, secret_file), `sns` (topic_arn) or `eventbridge` (bus)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: SinkType
    """`webhook`, `sns` or `eventbridge`: which of the keys below the entry takes."""
    url: str | None = None
    """webhook: where the CloudEvent is POSTed (https, or http to a loopback address)."""
    secret_file: Path | None = None
    """webhook: file holding the HMAC-SHA256 key; no access for group or others (mode 600), as every
    secret file (`spd.config.secret_file`)."""
    topic_arn: str | None = None
    """sns: the topic published to (its region is the ARN's)."""
    bus: str | None = None
    """eventbridge: event bus name or ARN."""
    region: str | None = None
    """eventbridge: the bus's region; default the ARN's, else the region of the processor concerned."""
    attempts: int = Field(default=5, ge=1, le=20)
    """Deliveries tried per event before it is dropped (and counted)."""
    backoff: float = Field(default=1.0, gt=0, le=300)
    """Seconds before the second attempt; doubles for each further one (at most 60 s)."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        if value is not None:
            problem = webhook_url_problem(value)
            if problem is not None:
                raise ValueError(problem)
        return value

    @field_validator("topic_arn")
    @classmethod
    def _topic_arn(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("arn:") or len(value.split(":")) != 6):
            raise ValueError(f"expected an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME), got {value!r}")
        return value

    @model_validator(mode="after")
    def _fits_type(self) -> EventSinkSettings:
        given = {key for key in ("url", "secret_file", "topic_arn", "bus", "region") if getattr(self, key)}
        missing = [key for key in _REQUIRED[self.type] if key not in given]
        if missing:
            raise ValueError(f"{_article(self.type)} {self.type} sink needs {', '.join(missing)}")
        foreign = sorted(given - set(_KEYS[self.type]))
        if foreign:
            raise ValueError(f"{', '.join(foreign)} does not apply to {_article(self.type)} {self.type} sink")
        if self.secret_file is not None:
            problem = secret_file_problem(self.secret_file, "secret_file")
            if problem is not None:
                raise ValueError(problem)
        return self

    @property
    def bus_region(self) -> str | None:
        """The region an eventbridge bus ARN names (None for a bare bus name)."""
        if self.bus and self.bus.startswith("arn:"):
            parts = self.bus.split(":")
            return parts[3] if len(parts) >= 6 else None
        return None

    @property
    def label(self) -> str:
        """How logs and metrics name this sink: its type and destination (a URL without its query)."""
        if self.type == "webhook" and self.url:
            parts = urlsplit(self.url)
            port = f":{parts.port}" if parts.port else ""  # no user:password@, no query string
            return f"webhook:{parts.scheme}://{parts.hostname}{port}{parts.path}"
        if self.type == "sns":
            return f"sns:{self.topic_arn}"
        return f"eventbridge:{self.bus}"
