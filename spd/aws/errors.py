"""Service errors into spd's typed errors, and the one retry classification that goes with them.

The table below is the only place that reads an error code or an error message; everything above
`spd.aws` catches the types of `spd.errors` or reads their `temporary` flag.

| service error                                   | spd type                 | temporary | botocore retries |
| ----------------------------------------------- | ------------------------ | --------- | ---------------- |
| ThrottlingException, ProvisionedThroughput...,  | ThrottledError           | yes       | yes              |
| TooManyRequestsException                        |                          |           |                  |
| InternalServerError, ServiceUnavailable..., 5xx | ServiceUnavailableError  | yes       | yes              |
| read time-out                                   | ServiceUnavailableError  | yes       | yes              |
| ResourceInUseException "... name ..."           | NameInUseError           | yes       | no               |
| ResourceInUseException "... stream ..."         | StreamInUseError         | no        | no               |
| ResourceInUseException on StartStreamProcessor  | SessionOpenError (busy)  | yes       | no               |
| ResourceInUseException (any other message)      | BusyError                | yes       | no               |
| ResourceNotFoundException                       | NotFoundError            | no        | no               |
| LimitExceededException, ServiceQuotaExceeded... | LimitReachedError        | no        | **no** (see below) |
| AccessDeniedException, no credentials           | AccessDeniedError        | no        | no               |
| InvalidParameterException, ValidationException, | InvalidParameterError    | no        | no               |
| parameter validation (client side)              |                          |           |                  |
| connection refused, DNS, connect time-out       | EndpointError            | n/a       | yes              |
| anything else                                   | PermanentAwsError        | no        | no               |

"temporary" means: the same call may succeed later without anyone changing anything, so the executor
retries the step (after `retry_after` for throttling, else its poll interval) until its wait time-out.
"botocore retries" is what happens inside one call, before spd sees an error at all.

Where the two differ from botocore's standard retry mode: botocore counts `LimitExceededException` as
throttling and retries it. For stream processors it means the account's processor limit is reached
(AWS's Rekognition error-handling page: "OK to retry? No"), so each such create would be sent
`max_attempts` times before the error surfaced. `install_retry_rules` makes botocore give up at once on
the codes in `NOT_RETRIED_BY_BOTOCORE`. Name-in-use, busy and stream-in-use are not retried by botocore
either (they are not in its lists): a busy processor needs seconds to minutes, which the executor's
polling covers, not botocore's sub-second backoff.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from aiobotocore.retries.standard import register_retry_handler
from botocore.exceptions import (
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ParamValidationError,
    ReadTimeoutError,
)

from spd.errors import (
    AccessDeniedError,
    AwsError,
    BusyError,
    EndpointError,
    InvalidParameterError,
    LimitReachedError,
    NameInUseError,
    NotFoundError,
    PermanentAwsError,
    ServiceUnavailableError,
    SessionOpenError,
    StreamInUseError,
    ThrottledError,
)

THROTTLING_CODES: Final = frozenset(
    {"ThrottlingException", "ProvisionedThroughputExceededException", "TooManyRequestsException"}
)
UNAVAILABLE_CODES: Final = frozenset(
    {
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)
CODE_TYPES: Final[Mapping[str, type[AwsError]]] = {
    "ResourceNotFoundException": NotFoundError,
    "LimitExceededException": LimitReachedError,
    "ServiceQuotaExceededException": LimitReachedError,
    "AccessDeniedException": AccessDeniedError,
    "InvalidParameterException": InvalidParameterError,
    "ValidationException": InvalidParameterError,
    **dict.fromkeys(THROTTLING_CODES, ThrottledError),
    **dict.fromkeys(UNAVAILABLE_CODES, ServiceUnavailableError),
}
"""Error code -> spd type, for every code whose meaning does not depend on the message."""

NOT_RETRIED_BY_BOTOCORE: Final = frozenset({"LimitExceededException", "ServiceQuotaExceededException"})
"""Codes botocore's standard mode would retry but spd knows to be final (see the module docstring)."""

DEFAULT_THROTTLE_DELAY: Final = 1.0
"""Seconds to wait after throttling when the service gives no Retry-After."""


def translate(operation: str, exc: Exception) -> AwsError | EndpointError:
    """Map a botocore exception to its spd type, by the table in this module's docstring."""
    if isinstance(exc, ClientError):
        return _from_response(operation, exc.response)
    if isinstance(exc, EndpointConnectionError | ConnectTimeoutError):
        return EndpointError(f"cannot reach the Rekognition endpoint: {exc}")
    if isinstance(exc, ReadTimeoutError):
        return ServiceUnavailableError(operation, "ReadTimeout", str(exc))
    if isinstance(exc, NoCredentialsError):
        return AccessDeniedError(
            operation, "NoCredentials", "no AWS credentials found (set AWS_PROFILE, use --local, ...)"
        )
    if isinstance(exc, ParamValidationError):
        return InvalidParameterError(operation, type(exc).__name__, str(exc))
    return PermanentAwsError(operation, type(exc).__name__, str(exc))


def _from_response(operation: str, response: Mapping[str, Any]) -> AwsError:
    err = response.get("Error", {})
    code = str(err.get("Code", "Unknown"))
    message = str(err.get("Message", "")) or code
    metadata = response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode")
    status = status if isinstance(status, int) else None
    if code == "ResourceInUseException":
        return _in_use(operation, code, message, status)
    kind = CODE_TYPES.get(code)
    if kind is ThrottledError:
        return ThrottledError(
            operation, code, message, http_status=status, retry_after=_retry_after(metadata)
        )
    if kind is not None:
        return kind(operation, code, message, http_status=status)
    if status is not None and status >= 500:
        return ServiceUnavailableError(operation, code, message, http_status=status)
    return PermanentAwsError(operation, code, message, http_status=status)


def _in_use(operation: str, code: str, message: str, status: int | None) -> AwsError:
    """ResourceInUseException means three different things; only the message tells which.

    "Stream processor name already in use." (name taken or reserved after a delete), "Kinesis video
    stream ... is already used by stream processor ..." (a stream feeds another processor), and for the
    rest ("Specified resource is in use.", "Stream Processor not available for stopping", "Cannot
    delete stream processor.") the processor's status does not allow the operation yet; on a Start, that
    means it is already starting or running (a connected-home session is open), `SessionOpenError`, a
    kind of busy that session triggers count as coalesced.
    """
    lowered = message.lower()
    if "name" in lowered:
        return NameInUseError(operation, code, message, http_status=status)
    if "stream" in lowered and "used by" in lowered:
        return StreamInUseError(operation, code, message, http_status=status)
    if operation == "StartStreamProcessor":
        return SessionOpenError(operation, code, message, http_status=status)
    return BusyError(operation, code, message, http_status=status)


def _retry_after(metadata: Mapping[str, Any]) -> float:
    headers = metadata.get("HTTPHeaders") or {}
    value = headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else DEFAULT_THROTTLE_DELAY
    except ValueError:
        seconds = DEFAULT_THROTTLE_DELAY
    return max(0.0, seconds)


def error_code(response: Any) -> str | None:
    """The service error code of a `needs-retry` event's response, if it is an error response."""
    if isinstance(response, tuple) and len(response) == 2 and isinstance(response[1], Mapping):
        code = response[1].get("Error", {}).get("Code")
        return str(code) if code else None
    return None


def install_retry_rules(client: Any) -> None:
    """Make the client's standard-mode retries skip `NOT_RETRIED_BY_BOTOCORE`.

    botocore has no setting for which codes are retried, so the standard retry handler (registered
    under the unique id `retry-config-<service>` on `needs-retry`) is replaced by a wrapper that
    answers "no retry" for those codes and defers to a standard handler for the rest; the attempt
    count stays the client's `total_max_attempts`.
    """
    events = client.meta.events
    service = client.meta.service_model.service_id.hyphenize()
    event, unique_id = f"needs-retry.{service}", f"retry-config-{service}"
    events.unregister(event, unique_id=unique_id)
    max_attempts = client.meta.config.retries.get("total_max_attempts")
    standard = register_retry_handler(client, max_attempts=max_attempts)
    events.unregister(event, unique_id=unique_id)

    async def needs_retry(response: Any = None, **kwargs: Any) -> float | None:
        if error_code(response) in NOT_RETRIED_BY_BOTOCORE:
            return None
        delay: float | None = await standard.needs_retry(response=response, **kwargs)
        return delay

    events.register_first(event, needs_retry, unique_id=unique_id)
