"""Operational settings: how spd talks to AWS and how the daemon behaves (not what the fleet is).

Read from `SPD_*` environment variables (nested with `__`, e.g. `SPD_RATE_LIMITS__DescribeStreamProcessor=5`)
on top of an optional YAML settings file; the environment wins, so a systemd drop-in can override one
value of a shared file. Invalid settings raise `SettingsError` (exit 78) with every problem listed, located
at `file:line:col` (the file is read by the spec's YAML reader, so both follow one set of YAML rules) or
at the variable. `SPD_*` variables that name no setting are returned as warnings by
`environment_warnings`, for the commands to print: pydantic-settings would ignore them silently.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict
from pydantic_settings import SettingsError as PydanticSettingsError

from spd.config.secret_file import secret_file_problem
from spd.config.sink_settings import EventSinkSettings
from spd.config.urls import endpoint_url_problem
from spd.errors import Diagnostic, SettingsError
from spd.events.watch_events import queue_url_problem
from spd.ha.lease import MAX_LEASE_SECONDS, MIN_LEASE_SECONDS
from spd.model import OPERATIONS
from spd.spec.durations import seconds_setting
from spd.spec.files import read_spec_text
from spd.spec.positions import Positions, format_path
from spd.spec.scalars import Yaml11Bool
from spd.spec.yaml_source import read_document
from spd.store.sqlite_store import default_state_dir

# AWS publishes no per-API TPS for stream processors. These are assumptions that keep a fleet well
# under any plausible quota; raise them (or lower them) once the account's real quotas are known.
DEFAULT_RATE_LIMITS: dict[str, float] = {
    "CreateStreamProcessor": 5.0,
    "DescribeStreamProcessor": 10.0,
    "ListStreamProcessors": 5.0,
    "StartStreamProcessor": 5.0,
    "StopStreamProcessor": 5.0,
    "UpdateStreamProcessor": 5.0,
    "DeleteStreamProcessor": 5.0,
    "TagResource": 5.0,
    "UntagResource": 5.0,
    "ListTagsForResource": 10.0,
}

SETTINGS_FILE_ENV = "SPD_SETTINGS_FILE"

STATE_FILE_NAMES = {"history_file": "history.db", "local_state": "emulator.db"}
"""The default file name of each state file setting (for the example in its error)."""


def state_directory(settings: Settings) -> Path:
    """Where spd keeps its local state: `state_dir`, else the default."""
    return settings.state_dir or default_state_dir()


def history_path(settings: Settings) -> Path:
    """The history file: `history_file`, else `history.db` in the state directory (so a service that sets
    only `state_dir`, as the systemd unit does, keeps its history there and not under a home directory
    it may not be able to write)."""
    return settings.history_file or state_directory(settings) / STATE_FILE_NAMES["history_file"]


RESTART: dict[str, Any] = {"restart": True}
"""`json_schema_extra` of a setting that only a restart applies: it shapes the connection, the listening
socket, a queue reader, a file held open, the lease. A reload (SIGHUP) reports a change to it
(`restart_required`) and keeps the running value; `RESTART_REQUIRED` is read from these marks."""

Seconds = Annotated[float, BeforeValidator(seconds_setting)]
"""A setting that is a number of seconds: a number (`90`, `0.5`) or a duration in the one syntax of
`spd.spec.durations` (`90s`, `5m`, `1h30m`); any other text is a located settings error that says so."""

_TABLE_NAME = re.compile(r"[A-Za-z0-9_.-]{3,255}")
_REGION = r"^[a-z]{2}(-[a-z]+)+-\d+$"


def _table_setting(value: str | None) -> str | None:
    """A DynamoDB table name setting: the name, or None when unset or empty."""
    if not value:
        return None
    if not _TABLE_NAME.fullmatch(value):
        raise ValueError(f"{value!r} is not a DynamoDB table name: 3 to 255 characters of A-Z a-z 0-9 _ . -")
    return value


class StoreSettings(BaseModel):
    """The shared store: one DynamoDB table for the stack's session ledger, budgets, notifications and
    history, read and written by every host. Unset: SQLite files in the state directory (one host's)."""

    model_config = ConfigDict(extra="forbid")

    table: str | None = None
    """DynamoDB table of the shared store (created when absent and allowed); unset: the local SQLite
    files."""

    region: str | None = Field(default=None, pattern=_REGION)
    """Region of the table; default the first region (alphabetically) the spec names."""

    create_table: bool = True
    """Create the table (on-demand billing, TTL on `expires_at`) when it is absent; off: a missing table is
    an error that names it."""

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        return _table_setting(value)  # `SPD_STORE_TABLE=` means "no shared store"


class HaSettings(BaseModel):
    """High availability: only the holder of the lease `name` in DynamoDB table `table` reconciles."""

    model_config = ConfigDict(extra="forbid")

    table: str | None = None
    """DynamoDB table of the leases (created when absent and allowed); unset: no lease, always leader."""

    lease_seconds: Seconds = 20.0
    """Lease duration in seconds, or a duration (`30s`, `1m`). Renewed every third of it; the holder stops
    mutating a quarter of it before it could expire (the safety margin), so a mutating call must not take
    longer than lease/4 in flight."""

    create_table: bool = True
    """Create the table (on-demand billing) when it is absent; off: a missing table keeps the daemon
    standby, saying why on /healthz."""

    name: str | None = Field(default=None, min_length=1, max_length=1024)
    """The lease's name (its item key); default the spec's stack, so one lease per stack."""

    holder: str | None = Field(default=None, min_length=1, max_length=1024)
    """This daemon's id in the lease record; default `hostname:pid`."""

    region: str | None = Field(default=None, pattern=_REGION)
    """Region of the table; default the first region (alphabetically) the spec names."""

    mode: Literal["leader", "shards"] = "leader"
    """`leader`: one daemon (the lease holder) does all the work, the others wait. `shards`: every target
    (the ambient credentials count as one) is a shard with its own lease in `table`; each live daemon holds
    a fair share and works on its shards only. Needs `table` and the shared `store`."""

    @field_validator("table")
    @classmethod
    def _table_name(cls, value: str | None) -> str | None:
        return _table_setting(value)  # `SPD_HA_TABLE=` means "no lease"

    @field_validator("lease_seconds")
    @classmethod
    def _lease_bounds(cls, value: float) -> float:
        if not MIN_LEASE_SECONDS <= value <= MAX_LEASE_SECONDS:
            raise ValueError(
                f"must be between {MIN_LEASE_SECONDS:g} and {MAX_LEASE_SECONDS:g} seconds (got {value:g}): "
                "the holder renews every third of it and stops mutating a quarter of it before it could "
                "expire, so a shorter lease leaves no room for a DynamoDB round trip"
            )
        return value


class Settings(BaseSettings):
    """Every knob of spd, with its default and why it is that."""

    model_config = SettingsConfigDict(
        env_prefix="SPD_",
        env_nested_delimiter="__",
        extra="forbid",
        case_sensitive=False,
        validate_default=True,
    )

    spec: Path = Path("/etc/spd/spec.d")
    """Spec file or directory the daemon keeps the fleet equal to."""

    endpoint_url: str | None = Field(default=None, json_schema_extra=RESTART)
    """Rekognition endpoint: an `http://` or `https://` URL with a host and no `user:password@` (aiohttp
    refuses credentials in a URL next to the request signature); unset means the standard AWS resolution,
    whose `AWS_ENDPOINT_URL_REKOGNITION` / `AWS_ENDPOINT_URL` get the same check."""

    local: bool = Field(default=False, json_schema_extra=RESTART)
    """Use the embedded emulator instead of AWS (state persisted in `local_state`)."""

    local_state: Path | None = Field(default=None, json_schema_extra=RESTART)
    """State file of the embedded emulator; default under the user's state directory."""

    state_dir: Path | None = Field(default=None, json_schema_extra=RESTART)
    """Directory of spd's own local state (the session ledger `sessions.db`, the history `history.db`); default
    `$XDG_STATE_HOME/spd` (or `~/.local/state/spd`)."""

    regions: list[str] = Field(default_factory=list)
    """Regions to observe besides those the spec names (for `status` and pruning); a JSON list in the
    environment."""

    interval: Seconds = Field(default=300.0, gt=0)
    """Seconds between full reconciles (Describe + tags of every processor), or a duration (`5m`,
    `1h30m`)."""

    status_interval: Seconds = Field(default=30.0, gt=0)
    """Seconds between cheap status sweeps (ListStreamProcessors only), or a duration (`30s`, `1m`)."""

    concurrency: int = Field(default=16, ge=1, le=256)
    """Processors worked on at once; the rate limiter still bounds calls per second."""

    rate_limits: dict[str, float] = Field(
        default_factory=lambda: dict(DEFAULT_RATE_LIMITS), json_schema_extra=RESTART
    )
    """Client-side calls per second per API operation, a ceiling: spd spaces its calls for 97% of it, so
    the fleet stays under quota instead of living on retries (`SPD_RATE_LIMITS__DescribeStreamProcessor=20`)."""

    max_attempts: int = Field(default=5, ge=1, le=20, json_schema_extra=RESTART)
    """Attempts per call (botocore standard retry mode) before a call is reported failed."""

    wait_timeout: Seconds = Field(default=600.0, gt=0)
    """Seconds to wait for a processor to leave a transitional state, or a duration (`10m`)."""

    poll_interval: Seconds = Field(default=2.0, gt=0)
    """Seconds between Describe calls while waiting on a transition, or a duration (`2s`)."""

    prune: bool = False
    """Delete processors of this stack that the spec no longer names."""

    preflight: bool = True
    """`plan` and `apply` first look up the streams, collections, roles... the spec references, and stop
    on a missing one before any stream-processor call (`--preflight/--no-preflight` win). `spd run` runs
    it in the background at start-up and on reload and only logs what it finds."""

    log_format: Literal["auto", "json", "console"] = "auto"
    """`json`, `console`, or `auto`: JSON when stdout is not a terminal (journal, files), readable lines
    otherwise."""

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    """Lowest level logged: `debug`, `info`, `warning` or `error` (libraries log at `warning` and above
    unless it is `debug`)."""

    metrics_address: str = Field(default="127.0.0.1:9464", json_schema_extra=RESTART)
    """host:port of /healthz and /metrics; empty disables the HTTP server."""

    grace_period: Seconds = Field(default=30.0, ge=0)
    """Seconds SIGTERM waits for the step in flight before abandoning it, or a duration (`90s`)."""

    failed_backoff_initial: Seconds = Field(default=30.0, gt=0)
    """Delay in seconds (or a duration, `30s`) before the first restart of a processor that went FAILED;
    doubles each time."""

    failed_backoff_max: Seconds = Field(default=3600.0, gt=0)
    """Upper bound of that delay, in seconds or a duration (`1h`)."""

    watch_queue_url: str | None = Field(default=None, json_schema_extra=RESTART)
    """SQS queue fed by an EventBridge rule with Rekognition's "AWS API Call via CloudTrail" events: the
    daemon reconciles the processor each event names within seconds; unset, drift waits for a pass. A
    queue URL `https://sqs.<region>.amazonaws.com/<account>/<name>` (any host for an emulator)."""

    watch_debounce: Seconds = Field(default=1.0, ge=0, le=60)
    """Seconds the watch gathers events about one processor before its one reconcile (bursts), 0 to 60,
    or a duration (`2s`)."""

    @field_validator("watch_queue_url", "results_queue_url", "session_queue_url")
    @classmethod
    def _queue_url(cls, value: str | None) -> str | None:
        """The three SQS queues the daemon reads: an SQS queue URL, or unset (empty means unset)."""
        if not value:
            return None
        problem = queue_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    results_queue_url: str | None = Field(default=None, json_schema_extra=RESTART)
    """SQS queue subscribed to the connected-home processors' SNS topics: the daemon (the leader, with
    `ha`) stores their LABEL_DETECTED and STREAM_PROCESSING_COMPLETE notifications in the session ledger."""

    event_sinks: list[EventSinkSettings] = Field(default_factory=list, json_schema_extra=RESTART)
    """Where the daemon also sends every drift and action event, as CloudEvents (webhook, sns,
    eventbridge); see `spd.config.sink_settings`. `SPD_EVENT_SINKS` takes a JSON list."""

    history_file: Path | None = Field(default=None, json_schema_extra=RESTART)
    """SQLite history of drift and action events; default `history.db` in the state directory (`state_dir`)."""

    history_retention: float = Field(default=30.0, gt=0)
    """Days of history kept; older events are pruned by the daemon (at start-up and every hour), or, in
    the shared store (`store.table`), deleted by the table's TTL."""

    ha: HaSettings = Field(default_factory=HaSettings, json_schema_extra=RESTART)
    """High availability: a lease in DynamoDB that only one daemon holds (the `ha.*` keys below; in the
    environment each is its own `SPD_HA_<KEY>`)."""

    store: StoreSettings = Field(default_factory=StoreSettings, json_schema_extra=RESTART)
    """The shared store: a DynamoDB table holding the session ledger, budgets and history for every host
    (the `store.*` keys; in the environment `SPD_STORE_TABLE`, `SPD_STORE_REGION`,
    `SPD_STORE_CREATE_TABLE`)."""

    # -- connected-home session triggers (spd.daemon.session_triggers) --
    api_token_file: Path | None = None
    """File holding the bearer token `POST /v1/sessions` requires (non-empty, no access for group or
    others: `spd.config.secret_file`); required when `metrics_address` listens beyond loopback. Read for every
    request, so a reload or a rotation applies without a restart."""

    session_queue_url: str | None = Field(default=None, json_schema_extra=RESTART)
    """SQS queue of session triggers (each message body one trigger JSON), long-polled by the daemon;
    checked like `watch_queue_url`; a restart applies a change."""

    @model_validator(mode="before")
    @classmethod
    def _empty_paths_unset(cls, data: Any) -> Any:
        """An empty value of a path setting means "not set" (its default), for every path setting at once:
        `SPD_API_TOKEN_FILE=` in an environment file must not become the path "." (the current directory)."""
        if not isinstance(data, dict):
            return data
        return {key: value for key, value in data.items() if not (value == "" and key in PATH_SETTINGS)}

    @field_validator("history_file", "local_state")
    @classmethod
    def _state_file(cls, value: Path | None, info: ValidationInfo) -> Path | None:
        """A state file setting names a file (created when missing), never an existing directory: the
        directory would only fail later, as a traceback from deep in the start-up."""
        if value is not None and value.is_dir():
            example = value / STATE_FILE_NAMES[str(info.field_name)]
            raise ValueError(
                f"{str(value)!r} is a directory; {info.field_name} names a file, e.g. {str(example)!r}"
            )
        return value

    @field_validator("state_dir")
    @classmethod
    def _state_directory(cls, value: Path | None) -> Path | None:
        if value is not None and value.exists() and not value.is_dir():
            raise ValueError(
                f"{str(value)!r} is not a directory; state_dir names the directory of spd's state files"
            )
        return value

    @field_validator("api_token_file")
    @classmethod
    def _api_token_file(cls, value: Path | None) -> Path | None:
        if value is None:
            return None
        problem = secret_file_problem(value, "api_token_file")
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("rate_limits")
    @classmethod
    def _known_operations(cls, value: dict[str, float]) -> dict[str, float]:
        merged = dict(DEFAULT_RATE_LIMITS)
        # Environment variable names arrive lower-cased; match operations case-insensitively.
        canonical = {name.lower(): name for name in OPERATIONS}
        for given, rate in value.items():
            op = canonical.get(given.lower(), given)
            if op not in OPERATIONS:
                raise ValueError(f"unknown operation {op!r}; expected one of {', '.join(OPERATIONS)}")
            if rate <= 0:
                raise ValueError(f"{op}: rate must be > 0 calls per second")
            merged[op] = float(rate)
        return merged

    @field_validator("endpoint_url")
    @classmethod
    def _endpoint_url(cls, value: str | None) -> str | None:
        if not value:
            return None  # `SPD_ENDPOINT_URL=` in an environment file means "not set"
        problem = endpoint_url_problem(value)
        if problem is not None:
            raise ValueError(problem)
        return value

    @field_validator("metrics_address")
    @classmethod
    def _host_port(cls, value: str) -> str:
        if value == "":
            return value
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError("expected host:port, e.g. 127.0.0.1:9464")
        return value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Values from the settings file arrive as init kwargs; the environment outranks them.
        return (env_settings, init_settings)


def _is_path_setting(annotation: Any) -> bool:
    return annotation is Path or Path in get_args(annotation)


def _restart_required(field: Any) -> bool:
    extra = field.json_schema_extra
    return isinstance(extra, dict) and extra.get("restart") is True


RESTART_REQUIRED = tuple(name for name, field in Settings.model_fields.items() if _restart_required(field))
"""The settings marked `RESTART`, in declaration order: what a reload reports and leaves as it runs."""


PATH_SETTINGS = frozenset(
    name for name, field in Settings.model_fields.items() if _is_path_setting(field.annotation)
)
"""The settings that hold a path (`spec`, `history_file`, `api_token_file`...): empty means unset."""


def _read_settings_file(path: Path, env: Mapping[str, str]) -> tuple[dict[str, Any], Positions]:
    """The file's mapping and where each key and value sits, read as spec files are (same YAML rules)."""
    text = read_spec_text(path, kind="settings")
    if isinstance(text, Diagnostic):
        raise SettingsError([text])
    document = read_document(text, str(path), env)
    if document.problems:
        raise SettingsError(
            [
                Diagnostic(str(path), p.line, p.column, format_path(p.path), p.message)
                for p in document.problems
            ]
        )
    if document.data is None:
        return {}, document.positions
    if not isinstance(document.data, dict):
        line, column = document.positions.locate(document.data, ())
        raise SettingsError([Diagnostic(str(path), line, column, "", "a settings file must be a mapping")])
    return document.data, document.positions


def load_settings(
    path: Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    **overrides: Any,
) -> Settings:
    """Settings from `path` (or `$SPD_SETTINGS_FILE`), the environment, then explicit overrides."""
    env = os.environ if environ is None else environ
    if path is None and env.get(SETTINGS_FILE_ENV):
        path = Path(env[SETTINGS_FILE_ENV])
    file_values, positions = _read_settings_file(path, env) if path is not None else ({}, Positions())
    file_values = _with_block_variables(file_values, env)
    try:
        settings = Settings(**file_values)
        if overrides:
            settings = Settings.model_validate({**settings.model_dump(), **overrides})
    except PydanticSettingsError as exc:
        # A list or mapping variable that is not JSON (e.g. SPD_EVENT_SINKS=webhook).
        field = re.search(r'field "(\w+)"', str(exc))
        variable = f"SPD_{field.group(1).upper()}" if field else ""
        cause = f" ({exc.__cause__})" if exc.__cause__ is not None else ""
        raise SettingsError([Diagnostic("environment", 0, 0, variable, f"expected JSON{cause}")]) from None
    except ValidationError as exc:
        diagnostics = [_settings_diagnostic(err, path, env, file_values, positions) for err in exc.errors()]
        raise SettingsError(sorted(diagnostics, key=lambda d: (d.line, d.column))) from None
    if not settings.local and settings.endpoint_url is None:
        _check_aws_endpoint_variables(env)
    _check_shards(settings, path, env, file_values, positions)
    return settings


def _check_shards(
    settings: Settings,
    path: Path | None,
    env: Mapping[str, str],
    values: dict[str, Any],
    positions: Positions,
) -> None:
    """Shards share one estate between daemons: each needs the lease table for its shards and the shared
    store, so that budgets and open sessions are the estate's and not one host's."""
    if settings.ha.mode != "shards":
        return
    missing = [
        name
        for name, value in (("ha.table", settings.ha.table), ("store.table", settings.store.table))
        if not value
    ]
    if not missing:
        return
    message = (
        f"shards needs {' and '.join(missing)} (SPD_HA_TABLE, SPD_STORE_TABLE): the shard leases "
        "live in ha.table, and the session ledger and budgets every daemon shares in store.table"
    )
    if path is None or any(name.upper() == "SPD_HA_MODE" for name in env):
        raise SettingsError([Diagnostic("environment", 0, 0, "SPD_HA_MODE", message)])
    line, column = positions.locate(values, ("ha", "mode"))
    raise SettingsError([Diagnostic(str(path), line, column, "ha.mode", message)])


BLOCK_VARIABLES = {
    f"SPD_{block.upper()}_{name.upper()}": (block, name)
    for block, model in (("ha", HaSettings), ("store", StoreSettings))
    for name in model.model_fields
}
"""`SPD_HA_TABLE`, `SPD_HA_LEASE_SECONDS`, `SPD_STORE_TABLE`...: the product's names for the fields of the
`ha` and `store` blocks."""


def _with_block_variables(values: dict[str, Any], env: Mapping[str, str]) -> dict[str, Any]:
    """The file's values with `SPD_HA_*` and `SPD_STORE_*` laid over their blocks (the environment wins,
    as elsewhere)."""
    for variable, value in env.items():
        found = BLOCK_VARIABLES.get(variable.upper())
        if found is None:
            continue
        block_name, field = found
        block = values.get(block_name)
        values = {**values, block_name: {**(block if isinstance(block, dict) else {}), field: value}}
    return values


# Where botocore finds the endpoint when spd passes none: the service-specific variable first.
AWS_ENDPOINT_VARIABLES = ("AWS_ENDPOINT_URL_REKOGNITION", "AWS_ENDPOINT_URL")


def _check_aws_endpoint_variables(env: Mapping[str, str]) -> None:
    """The AWS chain's endpoint variables get the same check as `endpoint_url` (botocore's is a traceback)."""
    if env.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return
    for variable in AWS_ENDPOINT_VARIABLES:
        value = env.get(variable)
        if value:
            problem = endpoint_url_problem(value)
            if problem is not None:
                raise SettingsError([Diagnostic("environment", 0, 0, variable, problem)])
            return  # the first one set is the one botocore uses


def _settings_diagnostic(
    err: Any, path: Path | None, env: Mapping[str, str], values: dict[str, Any], positions: Positions
) -> Diagnostic:
    """Point at the variable that set the value when the environment did, else at the file's line."""
    loc: tuple[int | str, ...] = err["loc"]
    message = _message(err["type"], loc, err["msg"])
    key = ".".join(str(p) for p in loc)
    variable = "SPD_" + "__".join(str(p) for p in loc).upper()
    if loc[0] in ("ha", "store") and len(loc) == 2:
        block_variable = f"SPD_{str(loc[0]).upper()}_{str(loc[1]).upper()}"
        if block_variable in {n.upper() for n in env}:
            variable = block_variable
    from_env = any(name.upper() == variable for name in env)
    whole = f"SPD_{str(loc[0]).upper()}"
    if not from_env and len(loc) > 1 and any(name.upper() == whole for name in env):
        # A list or mapping given whole as JSON (SPD_EVENT_SINKS='[...]'): name the variable, then the item.
        return Diagnostic("environment", 0, 0, whole, f"{format_path(loc[1:])}: {message}")
    if from_env or path is None:
        return Diagnostic("environment", 0, 0, variable, message)
    if isinstance(err.get("input"), Yaml11Bool):
        word = err["input"].text
        message = (
            f"got `{word}`, which YAML 1.1 reads as a boolean; write true or false, or quote it ('{word}')"
        )
    at: Literal["key", "value"] = "key" if err["type"] == "extra_forbidden" else "value"
    line, column = positions.locate(values, loc, at=at)
    return Diagnostic(str(path), line, column, key, message)


def environment_warnings(environ: Mapping[str, str] | None = None) -> list[Diagnostic]:
    """`SPD_*` variables that set nothing, most likely misspelt: pydantic-settings ignores them silently."""
    env = os.environ if environ is None else environ
    known = [f"SPD_{name.upper()}" for name in Settings.model_fields]
    warnings = []
    for variable in sorted(env):
        upper = variable.upper()
        if not upper.startswith("SPD_") or upper == SETTINGS_FILE_ENV:
            continue
        # Nested settings (SPD_RATE_LIMITS__<Operation>) are checked by the setting's own validator.
        if upper.split("__", 1)[0] in known or upper in BLOCK_VARIABLES:
            continue
        close = difflib.get_close_matches(upper, [*known, SETTINGS_FILE_ENV], n=1)
        hint = f"; did you mean {close[0]}?" if close else ""
        warnings.append(
            Diagnostic("environment", 0, 0, variable, f"unknown setting, ignored{hint}", severity="warning")
        )
    return warnings


def _message(kind: str, loc: tuple[int | str, ...], message: str) -> str:
    if kind == "value_error":
        # pydantic prefixes the validators' own messages; they read better without it.
        return message.removeprefix("Value error, ")
    if kind != "extra_forbidden":
        return message
    close = difflib.get_close_matches(str(loc[-1]), list(Settings.model_fields), n=1)
    hint = f"; did you mean {close[0]!r}?" if close else f" (known: {', '.join(Settings.model_fields)})"
    return f"unknown setting{hint}"
