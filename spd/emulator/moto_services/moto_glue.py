"""Every name spd takes from moto, in one place: the emulator's only door into moto.

Most of these are moto's internals (its backends, its request and response classes, its server's
request handler), not a published API, so they move between moto releases; having them here makes the
version spd needs one thing to check (`pyproject.toml` declares the lowest moto that has them all, and
CI installs that version and runs a smoke test), and a moto upgrade one file to read.

The services' backends and model classes are imported when first asked for, not when this module is:
loading moto's S3 or IAM models costs time that a command which never touches them should not pay.
"""

from __future__ import annotations

from typing import Any

from moto import mock_aws
from moto.backends import get_backend
from moto.core.base_backend import BackendDict, BaseBackend
from moto.core.request import Request as MotoRequest
from moto.core.responses import ActionResult, BaseResponse
from moto.core.utils import camelcase_to_underscores
from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult
from moto.iam.exceptions import InvalidInput
from moto.iam.responses import IamResponse
from moto.moto_server.werkzeug_app import (
    UNSIGNED_REQUESTS,
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from moto.rekognition import urls as rekognition_urls
from moto.rekognition.responses import RekognitionResponse

__all__ = [
    "UNSIGNED_REQUESTS",
    "ActionResult",
    "BackendDict",
    "BaseBackend",
    "BaseResponse",
    "DomainDispatcherApplication",
    "IAMPolicy",
    "IAMRequest",
    "IamResponse",
    "InvalidInput",
    "MotoRequest",
    "MotoRequestHandler",
    "PermissionResult",
    "RekognitionResponse",
    "camelcase_to_underscores",
    "create_backend_app",
    "dynamodb_models",
    "events_backends",
    "get_backend",
    "iam_backends",
    "iam_role_classes",
    "mock_aws",
    "rekognition_urls",
    "s3_backends",
    "sns_backends",
    "video_stream_classes",
]


def dynamodb_models() -> Any:
    """moto's DynamoDB model module (its backend class, `Table`, `DynamoType`, and the `copy` it backs up
    tables with)."""
    import moto.dynamodb.models as models

    return models


def iam_backends() -> Any:
    from moto.iam.models import iam_backends as backends

    return backends


def sns_backends() -> Any:
    from moto.sns.models import sns_backends as backends

    return backends


def s3_backends() -> Any:
    from moto.s3.models import s3_backends as backends

    return backends


def events_backends() -> Any:
    from moto.events.models import events_backends as backends

    return backends


def video_stream_classes() -> tuple[Any, type[Exception]]:
    """Kinesis Video's stream model and its "already exists" error (the sandbox creates streams itself)."""
    from moto.kinesisvideo.exceptions import ResourceInUseException
    from moto.kinesisvideo.models import Stream

    return Stream, ResourceInUseException


def iam_role_classes() -> tuple[Any, type[Exception], Any]:
    """IAM's role model, its "already exists" error and its role-id maker (the sandbox creates roles)."""
    from moto.iam.exceptions import EntityAlreadyExists
    from moto.iam.models import Role
    from moto.iam.utils import random_role_id

    return Role, EntityAlreadyExists, random_role_id
