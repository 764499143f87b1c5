"""Rekognition service errors as the emulator puts them on the wire.

Each error is a werkzeug `HTTPException`, which is what moto's `BaseResponse.call_action` already turns
into a response (body from `description`, headers from `get_headers`), so handlers simply raise. The body
is the JSON 1.1 error shape Rekognition uses: `__type`, `Code`, `Message` and `Logref`; the HTTP status
follows the service model (500 for InternalServerError and ThrottlingException, 400 for the rest).

Used by the request handlers (`spd.emulator.http.responses`), the backend (`spd.emulator.backend.models`) and fault
injection.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any

from werkzeug.exceptions import HTTPException

from spd.api import rules

JSON_CONTENT_TYPE = "application/x-amz-json-1.1"

ERROR_STATUS: Mapping[str, int] = rules.ERROR_STATUS
"""Modelled error codes and their HTTP status (`spd.api.rules`: 500 for InternalServerError and
ThrottlingException, 400 for the rest)."""

DEFAULT_MESSAGES: dict[str, str] = {
    "AccessDeniedException": "You are not authorized to perform this operation.",
    "InternalServerError": "Amazon Rekognition experienced a service issue. Try your call again.",
    "InvalidPaginationTokenException": "Pagination token in the request is not valid.",
    "InvalidParameterException": "Request has invalid parameters",
    "LimitExceededException": "An Amazon Rekognition service limit was exceeded.",
    "ProvisionedThroughputExceededException": "Provisioned Rate exceeded.",
    "ResourceInUseException": "Specified resource is in use.",
    "ResourceNotFoundException": "The resource specified in the request cannot be found.",
    "ServiceQuotaExceededException": "Service quota exceeded.",
    "ThrottlingException": "Amazon Rekognition is temporarily unable to process the request. Try your call again.",
}


class RekognitionError(HTTPException):
    """One service error; `error_code` is what botocore reports as `Error.Code`."""

    def __init__(self, error_code: str, message: str | None = None, *, status: int | None = None) -> None:
        super().__init__()
        self.error_code = error_code
        self.message = message if message is not None else DEFAULT_MESSAGES.get(error_code, error_code)
        self.code = status if status is not None else ERROR_STATUS.get(error_code, 400)
        self.logref = str(uuid.uuid4())
        self.description = json.dumps(
            {"__type": error_code, "Code": error_code, "Logref": self.logref, "Message": self.message}
        )

    def get_body(self, environ: Any = None, scope: Any = None) -> str:
        return self.description or ""

    def get_headers(self, environ: Any = None, scope: Any = None) -> list[tuple[str, str]]:
        return [("Content-Type", JSON_CONTENT_TYPE), ("X-Amzn-ErrorType", self.error_code)]

    def __str__(self) -> str:
        return f"{self.error_code}: {self.message}"


def invalid_parameter(message: str | None = None) -> RekognitionError:
    return RekognitionError("InvalidParameterException", message)


def in_use(message: str | None = None) -> RekognitionError:
    return RekognitionError("ResourceInUseException", message)


def not_found(message: str | None = None) -> RekognitionError:
    return RekognitionError("ResourceNotFoundException", message)


class SerializationError(RekognitionError):
    """The request body is not a JSON object (what AWS JSON services call SerializationException)."""

    def __init__(self, message: str) -> None:
        super().__init__("SerializationException", message, status=400)


class UnknownOperationError(RekognitionError):
    """An X-Amz-Target the emulator (and moto) does not implement."""

    def __init__(self, operation: str) -> None:
        super().__init__("UnknownOperationException", f"Operation {operation} is not supported.", status=400)
