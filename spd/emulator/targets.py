"""Which `X-Amz-Target` values name a real operation: what the front door checks before moto runs one.

A JSON-protocol request names its service and operation in `X-Amz-Target: <prefix>.<Operation>`
(`DynamoDB_20120810.PutItem`, `Kinesis_20131202.ListStreams`, ...). moto turns the operation into a
method name and calls whatever method of its response class has that name, so an unchecked target
reaches moto's own machinery (`RekognitionService.CallAction` recursed until the stack ran out;
`SetupClass` crashed), and moto routes a prefix nobody serves to an unrelated service. So
`spd.emulator.app` lets a target through only if `is_known_operation` says the botocore service model
with that target prefix has that operation. A prefix no botocore model has (moto still serves the 2011
DynamoDB API, which botocore no longer models) passes only if the operation at least looks like one and
names none of moto's own methods; moto's answer decides the rest (`is_modelled_prefix` then tells a
moto crash on a made-up prefix from a moto bug).

The model for the request's signing name (the SigV4 credential scope) is tried first, so the usual
request loads one model; only a prefix that model does not use makes this read every botocore model
(a few seconds, once per process).
"""

from __future__ import annotations

import functools
import re

from botocore.loaders import Loader

_OPERATION = re.compile(r"[A-Z][A-Za-z0-9]*")
_SERVICE = re.compile(r"[a-z0-9][a-z0-9-]*")


def split_target(target: str) -> tuple[str, str]:
    """(prefix, operation) as moto reads them: the operation is what follows the last dot."""
    prefix, _, operation = target.rpartition(".")
    return prefix, operation


def is_known_operation(target: str, signing_name: str | None) -> bool:
    prefix, operation = split_target(target)
    operations = _operations(prefix, signing_name)
    if operations is not None:
        return operation in operations
    return _looks_like_an_operation(operation)


def is_modelled_prefix(prefix: str) -> bool:
    """Does any botocore service model use this target prefix?"""
    return prefix in _all_target_prefixes()


def is_unsigned_target_prefix(prefix: str) -> bool:
    """Does moto route this prefix without a signature (its own table; otherwise it guesses S3)?"""
    # Imported here: moto's dispatcher module is only needed once a request is for moto's services.
    from moto.moto_server.werkzeug_app import UNSIGNED_REQUESTS

    return prefix in UNSIGNED_REQUESTS


def _operations(prefix: str, signing_name: str | None) -> frozenset[str] | None:
    if signing_name:
        modelled = _model_for_signing_name(signing_name)
        if modelled is not None and modelled[0] == prefix:
            return modelled[1]
    return _all_target_prefixes().get(prefix)


def _looks_like_an_operation(operation: str) -> bool:
    from moto.core.responses import BaseResponse
    from moto.core.utils import camelcase_to_underscores

    return _OPERATION.fullmatch(operation) is not None and not hasattr(
        BaseResponse, camelcase_to_underscores(operation)
    )


@functools.cache
def _loader() -> Loader:
    return Loader()


@functools.cache
def _model_for_signing_name(name: str) -> tuple[str, frozenset[str]] | None:
    loader = _loader()
    if _SERVICE.fullmatch(name) is None or name not in loader.list_available_services("service-2"):
        return None
    return _prefix_and_operations(name)


def _prefix_and_operations(service: str) -> tuple[str, frozenset[str]] | None:
    model = _loader().load_service_model(service, "service-2")
    prefix = model.get("metadata", {}).get("targetPrefix")
    if not isinstance(prefix, str):
        return None
    return prefix, frozenset(model.get("operations", {}))


@functools.cache
def _all_target_prefixes() -> dict[str, frozenset[str]]:
    index: dict[str, frozenset[str]] = {}
    for service in _loader().list_available_services("service-2"):
        found = _prefix_and_operations(service)
        if found is not None:
            prefix, operations = found
            index[prefix] = index.get(prefix, frozenset()) | operations
    return index
