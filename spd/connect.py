"""Opening the gateway the settings ask for: the embedded emulator, an explicit endpoint, or AWS.

Shared by the CLI and the daemon so `--local`, `--endpoint-url` and the standard AWS chain
(`AWS_PROFILE`, `AWS_REGION`, `AWS_ENDPOINT_URL_REKOGNITION`) behave the same everywhere.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Iterator

from spd.aws.gateway import Gateway
from spd.extras import local_extra_required
from spd.settings import Settings

# botocore insists on credentials even for a local emulator that ignores signatures.
_LOCAL_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "spd-local", "AWS_SECRET_ACCESS_KEY": "spd-local"}


@contextlib.contextmanager
def _local_endpoint(settings: Settings) -> Iterator[str]:
    with local_extra_required():
        from spd.emulator.embedded import embedded_emulator

    with embedded_emulator(settings.local_state) as url:
        yield url


@contextlib.contextmanager
def _credentials_for_local() -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in _LOCAL_CREDENTIALS}
    profile = os.environ.pop("AWS_PROFILE", None)
    os.environ.update(_LOCAL_CREDENTIALS)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if profile is not None:
            os.environ["AWS_PROFILE"] = profile


@contextlib.asynccontextmanager
async def open_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """A gateway configured from `settings`; with `local`, the embedded emulator runs meanwhile."""
    with contextlib.ExitStack() as stack:
        endpoint = settings.endpoint_url
        if settings.local:
            endpoint = stack.enter_context(_local_endpoint(settings))
            stack.enter_context(_credentials_for_local())
        async with Gateway.open(
            endpoint_url=endpoint,
            rate_limits=settings.rate_limits,
            max_attempts=settings.max_attempts,
            max_connections=max(10, settings.concurrency * 2),
        ) as gateway:
            yield gateway
