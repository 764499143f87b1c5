"""The one exception hierarchy of spd, and the exit codes that go with it.

Two families that never mix:

* configuration errors (`SpecError`, `SettingsError`) - the operator's input is wrong; they carry every
  problem found, each located at `file:line:column` and a key path. Exit 78, so systemd's
  `RestartPreventExitStatus=78` ends a crash loop instead of feeding it.
* run-time errors (`AwsError` and friends) - the world misbehaved. Each service error arrives as one
  specific type (`NameInUseError`, `BusyError`, `ThrottledError`, `LimitReachedError` ...), made by the
  table in `spd.aws.errors`. Temporary ones (throttling, a processor in a transitional state, a name
  still reserved, 5xx) are worth retrying after a delay, and the executor does; permanent ones (invalid
  parameter, access denied, limits, a stream used by another processor) are not. Exit 1.

One local failure has its own code: a state file that cannot be written for a reason that passes by
itself (disk full, an I/O error, a lock held too long) exits 75 (EX_TEMPFAIL, `StoreTemporaryError` in
`spd.store.state_files`): systemd's `Restart=on-failure` retries it, where 78 would stop the service for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    """What every command's exit status means; the manual's table of exit codes is generated from here."""

    OK = 0
    """Success (`plan`: no changes)."""
    FAILURE = 1
    """Runtime failure: AWS errors, an unreachable endpoint, an apply step that failed, a processor that
    could not be read (`plan`, `apply`, `status --detailed-exitcode`); `apply` with blocked changes left (a
    `protect`ed processor that needs a replace, a name taken by another owner: done what it could, then
    lists them); `apply` cancelled at the question; `--local` or `spd emulator` without the `local` extra
    (moto): `the embedded emulator needs the 'local' extra: pip install 'spd[local]'`."""
    CHANGES = 2
    """`plan --detailed-exitcode` found changes, blocked ones included; `status --detailed-exitcode` found a
    processor drifted, missing, blocked or conflicted."""
    USAGE = 64
    """Usage error: bad flags (e.g. `--endpoint-url` that is not an `http://` or `https://` URL with a
    host; a `--target` that names no processor; `apply` without `--auto-approve` and no terminal on stdin)."""
    TEMPFAIL = 75
    """A state file (the embedded emulator's state, the session ledger, the history) could not be written
    for a reason that passes by itself: a full disk, an I/O error, a lock held too long (EX_TEMPFAIL);
    systemd's `Restart=on-failure` retries it, where 78 would stop the service for good."""
    CONFIG = 78
    """Invalid spec or settings, including a spec path that is missing or cannot be read, and a malformed
    `SPD_ENDPOINT_URL`, `AWS_ENDPOINT_URL_REKOGNITION` or `AWS_ENDPOINT_URL` (so systemd's
    `RestartPreventExitStatus=78` ends a crash loop)."""


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located problem in a spec or settings file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"

    @property
    def location(self) -> str:
        """`file:line:col`, or the file alone: line 0 means "no position" (a value from the environment
        rather than from a file)."""
        return f"{self.file}:{self.line}:{self.column}" if self.line > 0 else self.file

    def __str__(self) -> str:
        where = self.location
        key = f" {self.path}:" if self.path else ""
        prefix = "warning: " if self.severity == "warning" else ""
        return f"{where}:{key} {prefix}{self.message}"


class SpdError(Exception):
    """Base of every error spd raises on purpose."""

    exit_code: ExitCode = ExitCode.FAILURE


class ConfigError(SpdError):
    """The operator's input is invalid; carries every located problem."""

    exit_code = ExitCode.CONFIG

    def __init__(self, diagnostics: list[Diagnostic] | tuple[Diagnostic, ...]) -> None:
        self.diagnostics = tuple(diagnostics)
        super().__init__("\n".join(str(d) for d in self.diagnostics))


class SpecError(ConfigError):
    """The spec file(s) failed to load or validate."""


class SettingsError(ConfigError):
    """The operational settings (env or settings file) are invalid."""


class UsageError(SpdError):
    """The command line itself is wrong."""

    exit_code = ExitCode.USAGE


class AwsError(SpdError):
    """A call to the service failed; `code` is the service's error code (for messages and logs only).

    Code above `spd.aws` never compares `code` or parses `message`: it catches the specific subclasses
    below, or reads `temporary` (worth retrying after `retry_after`, or the caller's poll interval, as
    the table in `spd.aws.errors` says).
    """

    temporary: bool = False

    def __init__(
        self,
        operation: str,
        code: str,
        message: str,
        *,
        http_status: int | None = None,
        retry_after: float | None = None,
    ):
        self.operation = operation
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retry_after = retry_after
        super().__init__(f"{operation}: {code}: {message}")


class TemporaryAwsError(AwsError):
    """Retrying later may succeed: throttling, 5xx, resource busy, name still reserved."""

    temporary = True


class PermanentAwsError(AwsError):
    """Retrying will not help until someone changes something: bad parameter, access, limits."""


class ThrottledError(TemporaryAwsError):
    """The request rate is over the account's quota; `retry_after` says how long to wait."""


class ServiceUnavailableError(TemporaryAwsError):
    """The service failed on its side (5xx, a read time-out)."""


class BusyError(TemporaryAwsError):
    """The processor is in a status where the operation is not allowed yet (starting, stopping...)."""


class SessionOpenError(BusyError):
    """StartStreamProcessor refused because the processor is already starting or running: for a
    connected-home processor, a session is open (another start won the race)."""


class NameInUseError(TemporaryAwsError):
    """The processor name is taken: by an existing processor, or still reserved after a delete."""


class StreamInUseError(PermanentAwsError):
    """The input video stream or output data stream already feeds another processor."""


class NotFoundError(PermanentAwsError):
    """The processor (or ARN) does not exist."""


class LimitReachedError(PermanentAwsError):
    """An account limit (number of processors, tags...) is reached; retrying will not free it."""


class AccessDeniedError(PermanentAwsError):
    """The credentials may not make this call, or there are no credentials."""


class InvalidParameterError(PermanentAwsError):
    """The request was refused as malformed or invalid for this processor."""


class EndpointError(SpdError):
    """The service could not be reached at all (connection refused, DNS, TLS)."""


class WaitTimeoutError(SpdError):
    """A processor did not reach the wanted status within the allowed time."""
