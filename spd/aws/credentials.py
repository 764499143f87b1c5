"""Credentials per target: an aiobotocore session for each account spd manages.

Called by `spd.aws.gateway` once per target. A target with `role_arns` is reached by STS AssumeRole
from the ambient credentials, hop by hop (each hop's credentials assume the next role; the external id
goes with the first hop, where a third party's trust policy expects it); session name `spd-<stack>`.
Each hop is aiobotocore's own assume-role fetcher behind its deferred refreshable credentials: assumed
on first use, cached, and refreshed before they expire (botocore's windows), so a long-running daemon
never signs with expired keys. A target with a `profile` is a session of that profile (whatever the
profile does: keys, SSO, its own role). The ambient target is the default session, as before targets.
"""

from __future__ import annotations

import logging
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.credentials import AioAssumeRoleCredentialFetcher, AioDeferredRefreshableCredentials
from aiobotocore.session import AioSession, get_session
from botocore.credentials import CredentialProvider
from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from spd.model import Target

# A refused AssumeRole is logged by aiobotocore's refresher with a traceback, before spd reports it once
# per target: without a handler of its own, Python's last-resort handler would print it on stderr.
logging.getLogger("aiobotocore.credentials").addHandler(logging.NullHandler())

SESSION_NAME_MAX = 64
"""STS caps RoleSessionName at 64 characters."""


class _Assumed(CredentialProvider):
    """Hands a session the refreshable credentials of the role chain's last hop (aiobotocore's resolver
    awaits `load`)."""

    METHOD = "spd-assume-role"
    CANONICAL_NAME = "spd-assume-role"

    def __init__(self, credentials: AioDeferredRefreshableCredentials) -> None:
        self._credentials = credentials

    async def load(self) -> AioDeferredRefreshableCredentials:
        return self._credentials


def session_name(stack: str) -> str:
    """`spd-<stack>`, cut to STS's limit (stack names allow more characters than session names keep)."""
    return f"spd-{stack}"[:SESSION_NAME_MAX]


def _sharing(base: AioSession, session: AioSession) -> AioSession:
    """`session` reading service models through `base`'s loader: its cache is then shared, so ten
    targets parse the Rekognition model and the endpoint rules once, not ten times."""
    session.register_component("data_loader", base.get_component("data_loader"))
    return session


def target_session(
    target: Target | None,
    *,
    stack: str,
    endpoint_url: str | None,
    config: AioConfig,
    base: AioSession | None = None,
) -> AioSession:
    """The session whose clients act in `target`'s account (the ambient session for None).

    `base` is the ambient session: the source of the first AssumeRole, and the loader every target's
    session shares.
    """
    source = base if base is not None else get_session()
    if target is None:
        return source
    if target.profile is not None:
        return _sharing(source, AioSession(profile=target.profile))
    sts_region = target.regions[0]

    def client_creator(service: str, **kwargs: Any) -> Any:
        return source.create_client(
            service, region_name=sts_region, endpoint_url=endpoint_url, config=config, **kwargs
        )

    credentials: Any = None
    for hop, role_arn in enumerate(target.role_arns):
        extra: dict[str, Any] = {"RoleSessionName": session_name(stack)}
        if hop == 0 and target.external_id is not None:
            extra["ExternalId"] = target.external_id
        if credentials is None:
            credentials = _ambient(source)
        fetcher = AioAssumeRoleCredentialFetcher(
            client_creator, credentials, role_arn, extra_args=extra, cache={}
        )
        credentials = AioDeferredRefreshableCredentials(fetcher.fetch_credentials, "assume-role")
    session = _sharing(source, get_session())
    resolver = session.get_component("credential_provider")
    resolver.insert_before(resolver.providers[0].METHOD, _Assumed(credentials))
    return session


class _AmbientSource:
    """The ambient chain's credentials, resolved when the first hop is assumed (not at session creation)."""

    def __init__(self, session: AioSession) -> None:
        self._session = session

    async def get_frozen_credentials(self) -> Any:
        credentials = await self._session.get_credentials()
        if credentials is None:
            raise NoCredentialsError()
        return await credentials.get_frozen_credentials()


def _ambient(session: AioSession) -> _AmbientSource:
    return _AmbientSource(session)


async def check(session: AioSession) -> str | None:
    """Resolve the session's credentials now (assuming the whole chain): None when they work, else why.

    The gateway calls this once per target before any processor call, so a role that cannot be assumed
    is one error for the target, not one per processor.
    """
    try:
        credentials = await session.get_credentials()
        if credentials is None:
            return "no credentials found"
        await credentials.get_frozen_credentials()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        return f"{error.get('Code', 'Error')}: {error.get('Message', str(exc))}"
    except BotoCoreError as exc:
        return str(exc)
    return None
