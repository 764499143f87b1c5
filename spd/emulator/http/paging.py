"""Page tokens a client cannot forge or carry to another request: HMAC-signed, bound to their request.

The backend (`spd.emulator.backend.models`) pages by name and its own cursor says where the last page ended.
`PageTokens.seal` wraps that cursor in a token whose HMAC-SHA256 tag covers the cursor and what the token
is bound to: account, region, operation and MaxResults (the members a paginator keeps the same from page
to page). `PageTokens.open` checks the tag and hands back the cursor; a forged or tampered token, or one
issued for another account, region, operation or page size, is an InvalidPaginationTokenException, as
the service answers for a token it did not issue for this request.

The key is random per server instance (`spd.emulator.http.app`), held in memory only: tokens do not survive a
restart of the emulator (state persisted in a state file does, but a listing in progress must start
again), much as AWS's own tokens expire. Tokens stay within the model's 255-character limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from spd.emulator.backend.errors import RekognitionError

_TAG_BYTES = 16
_SEPARATOR = "."


class PageTokens:
    """Seals and opens the page tokens of one emulator server."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def seal(self, cursor: str, *, account: str, region: str, operation: str, max_results: int | None) -> str:
        """The token for `cursor` (the backend's own, URL-safe base64, so it needs no further encoding)."""
        if _SEPARATOR in cursor:
            raise ValueError("a page cursor must not contain the token separator")
        tag = self._tag(cursor, account, region, operation, max_results)
        return f"{cursor}{_SEPARATOR}{tag}"

    def open(self, token: str, *, account: str, region: str, operation: str, max_results: int | None) -> str:
        """The cursor sealed in `token`, if this server issued it for this very request."""
        cursor, separator, tag = token.rpartition(_SEPARATOR)
        expected = self._tag(cursor, account, region, operation, max_results)
        if not separator or not hmac.compare_digest(tag.encode("utf-8"), expected.encode("ascii")):
            raise _invalid()
        return cursor

    def _tag(self, cursor: str, account: str, region: str, operation: str, max_results: int | None) -> str:
        limit = "" if max_results is None else str(max_results)
        bound = "\n".join((cursor, account, region, operation, limit))
        digest = hmac.new(self._key, bound.encode("utf-8"), hashlib.sha256).digest()[:_TAG_BYTES]
        return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


def _invalid() -> RekognitionError:
    return RekognitionError("InvalidPaginationTokenException", "Invalid pagination token.")
