"""Which `X-Amz-Target` values name a real operation: what the front door checks before moto runs one.

A JSON-protocol request names its service and operation in `X-Amz-Target: <prefix>.<Operation>`
(`DynamoDB_20120810.PutItem`, `Kinesis_20131202.ListStreams`, ...). moto turns the operation into a
method name and calls whatever method of its response class has that name, so an unchecked target
reaches moto's own machinery (`RekognitionService.CallAction` recursed until the stack ran out;
`SetupClass` crashed), and moto routes a prefix nobody serves to an unrelated service. So
`spd.emulator.http.app` lets a target through only if `is_known_operation` says the botocore service model
with that target prefix has that operation. A prefix no botocore model has is refused, except the 2011
DynamoDB API that moto still serves (`MOTO_ONLY_PREFIXES`), whose operations pass if they look like one
and name none of moto's own methods; moto's answer decides the rest (`is_modelled_prefix` then tells a
moto crash on such a prefix from a moto bug).

The model for the request's signing name (the SigV4 credential scope) is tried first, so the usual
request loads one model; only a prefix that model does not use makes this scan the head of every
botocore model file for its target prefix (a fraction of a second, once per process).
"""

from __future__ import annotations

import functools
import gzip
import json
import re
import threading
from pathlib import Path
from typing import Any

from botocore.loaders import Loader

_OPERATION = re.compile(r"[A-Z][A-Za-z0-9]*")
_INDEX_LOCK = threading.Lock()
MOTO_ONLY_PREFIXES = frozenset({"DynamoDB_20111205"})
"""Target prefixes moto serves that no botocore model has (the 2011 DynamoDB API)."""
_HEAD_BYTES = 16384
# A model file opens with {"version": ..., "metadata": {...flat object...}, "operations": ...}.
_METADATA = re.compile(rb'^\s*\{\s*"version"\s*:\s*"[^"]*"\s*,\s*"metadata"\s*:\s*(?P<metadata>\{[^{}]*\})')
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
    return prefix in MOTO_ONLY_PREFIXES and _looks_like_an_operation(operation)


def is_modelled_prefix(prefix: str) -> bool:
    """Does any botocore service model use this target prefix?"""
    return prefix in _all_target_prefixes()


def is_unsigned_target_prefix(prefix: str) -> bool:
    """Does moto route this prefix without a signature (its own table; otherwise it guesses S3)?"""
    # Imported here: moto's dispatcher module is only needed once a request is for moto's services.
    from spd.emulator.moto_services.moto_glue import UNSIGNED_REQUESTS

    return prefix in UNSIGNED_REQUESTS


def _operations(prefix: str, signing_name: str | None) -> frozenset[str] | None:
    if signing_name:
        modelled = _model_for_signing_name(signing_name)
        if modelled is not None and modelled[0] == prefix:
            return modelled[1]
    return _all_target_prefixes().get(prefix)


def _looks_like_an_operation(operation: str) -> bool:
    from spd.emulator.moto_services.moto_glue import BaseResponse, camelcase_to_underscores

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


def _all_target_prefixes() -> dict[str, frozenset[str]]:
    """Every target prefix botocore models, with its operations."""
    with _INDEX_LOCK:  # built once, by one thread; the others wait for it
        services = _services_by_prefix()
    return {prefix: _operations_of(names) for prefix, names in services.items()}


def _operations_of(services: tuple[str, ...]) -> frozenset[str]:
    operations: frozenset[str] = frozenset()
    for service in services:
        found = _prefix_and_operations(service)
        if found is not None:
            operations |= found[1]
    return operations


@functools.cache
def _services_by_prefix() -> dict[str, tuple[str, ...]]:
    """Which botocore services use which target prefix. Loading all ~430 models takes seconds and
    hundreds of megabytes, so only each model's leading `metadata` object is read where possible."""
    loader = Loader()  # its own: the shared loader would keep every model it loaded
    index: dict[str, tuple[str, ...]] = {}
    for service in loader.list_available_services("service-2"):
        prefix = _metadata(loader, service).get("targetPrefix")
        if isinstance(prefix, str):
            index[prefix] = (*index.get(prefix, ()), service)
    return index


def _metadata(loader: Loader, service: str) -> dict[str, Any]:
    version = loader.determine_latest_version(service, "service-2")
    for base in loader.search_paths:
        for name in ("service-2.json.gz", "service-2.json"):
            path = Path(base, service, version, name)
            if not path.is_file():
                continue
            with gzip.open(path) if name.endswith(".gz") else path.open("rb") as stream:
                head = stream.read(_HEAD_BYTES)
            match = _METADATA.search(head)
            if match is not None:
                metadata: dict[str, Any] = json.loads(match["metadata"])
                return metadata
            break
    model: dict[str, Any] = loader.load_service_model(service, "service-2")
    return dict(model.get("metadata", {}))
