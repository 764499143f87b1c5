"""The one exception hierarchy of spd, and the exit codes that go with it.

Two families that never mix:

* configuration errors (`SpecError`, `SettingsError`) - the operator's input is wrong; they carry every
  problem found, each located at `file:line:column` and a key path. Exit 78, so systemd's
  `RestartPreventExitStatus=78` ends a crash loop instead of feeding it.
* run-time errors (`AwsError` and friends) - the world misbehaved. Temporary ones (throttling, a
  processor in a transitional state, 5xx) are worth retrying after a delay; permanent ones (invalid
  parameter, access denied, limits) are not. Exit 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1
    CHANGES = 2
    USAGE = 64
    CONFIG = 78


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """One located problem in a spec or settings file."""

    file: str
    line: int
    column: int
    path: str
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        # Line 0 means "no position": a value from the environment rather than from a file.
        where = f"{self.file}:{self.line}:{self.column}" if self.line > 0 else self.file
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
    """A call to the service failed; `code` is the service's error code."""

    temporary: bool = False

    def __init__(self, operation: str, code: str, message: str, *, http_status: int | None = None):
        self.operation = operation
        self.code = code
        self.message = message
        self.http_status = http_status
        super().__init__(f"{operation}: {code}: {message}")


class TemporaryAwsError(AwsError):
    """Retrying later may succeed: throttling, 5xx, resource busy, name still reserved."""

    temporary = True


class PermanentAwsError(AwsError):
    """Retrying will not help until someone changes something: bad parameter, access, limits."""


class NotFoundError(PermanentAwsError):
    """The processor (or ARN) does not exist."""


class EndpointError(SpdError):
    """The service could not be reached at all (connection refused, DNS, TLS)."""


class WaitTimeoutError(SpdError):
    """A processor did not reach the wanted status within the allowed time."""
