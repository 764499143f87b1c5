"""Which `X-Amz-Target` prefixes exist: what the front door needs to tell a typo from a moto failure.

A JSON-protocol request names its service and operation in `X-Amz-Target: <prefix>.<Operation>`
(`DynamoDB_20120810.PutItem`, `Kinesis_20131202.ListStreams`, ...). moto routes signed requests by the
SigV4 credential scope and unsigned ones by a short table of its own, so a target nobody serves either
crashes moto or lands on an unrelated service. `spd.emulator.app` asks here:

* `is_unsigned_target_prefix`: does moto route this prefix without a signature (moto's own table)?
* `is_known_target_prefix`: does any AWS service botocore knows use this prefix? Answering needs every
  botocore service model (a few seconds, once per process), so it is only asked after moto has already
  failed on a request.
"""

from __future__ import annotations

import functools

from botocore.loaders import Loader


def is_unsigned_target_prefix(prefix: str) -> bool:
    # Imported here: moto's dispatcher module is only needed once a request is for moto's services.
    from moto.moto_server.werkzeug_app import UNSIGNED_REQUESTS

    return prefix in UNSIGNED_REQUESTS


def is_known_target_prefix(prefix: str) -> bool:
    return prefix in _botocore_target_prefixes()


@functools.cache
def _botocore_target_prefixes() -> frozenset[str]:
    loader = Loader()
    prefixes: set[str] = set()
    for service in loader.list_available_services("service-2"):
        metadata = loader.load_service_model(service, "service-2").get("metadata", {})
        prefix = metadata.get("targetPrefix")
        if isinstance(prefix, str):
            prefixes.add(prefix)
    return frozenset(prefixes)
