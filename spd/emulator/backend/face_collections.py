"""Face collections as the emulator keeps them: what preflight and strict Start look up.

Rekognition's face collections are a separate resource from stream processors (a processor's face search
names one), so they live apart from `spd.emulator.backend.models`: one `Collection` record per (account, region,
CollectionId), kept by `spd.emulator.backend.service.Emulator` and persisted in the state file's `collections`
table (`spd.emulator.backend.state`). The emulator holds no faces: FaceCount and UserCount are always 0.

The ARN is shaped as the service returns it, without the `arn:` prefix
(`aws:rekognition:REGION:ACCOUNT:collection/ID`), and every collection reports face model version 7.0,
the version new collections get.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from spd.emulator.backend.errors import RekognitionError, not_found

FACE_MODEL_VERSION = "7.0"
"""The face model version every new collection gets."""

DEFAULT_PAGE_SIZE = 1000
"""ListCollections' page size when MaxResults is absent."""


class CollectionRecordError(ValueError):
    """A stored collection record that is not one."""


@dataclass(frozen=True, slots=True)
class Collection:
    collection_id: str
    created: float
    """Creation time, seconds since the epoch."""
    tags: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"created": self.created, "tags": dict(self.tags)}

    @classmethod
    def from_json(cls, collection_id: str, data: Any) -> Collection:
        if not isinstance(data, dict):
            raise CollectionRecordError("not a JSON object")
        created, tags = data.get("created"), data.get("tags", {})
        if isinstance(created, bool) or not isinstance(created, int | float):
            raise CollectionRecordError(f"created: {created!r} is not a time")
        if not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
        ):
            raise CollectionRecordError("tags: not an object of strings")
        return cls(collection_id, float(created), dict(tags))


def collection_arn(region: str, account: str, collection_id: str) -> str:
    return f"aws:rekognition:{region}:{account}:collection/{collection_id}"


def already_exists(collection_id: str) -> RekognitionError:
    return RekognitionError(
        "ResourceAlreadyExistsException", f"The collection id: {collection_id} already exists"
    )


def collection_not_found(collection_id: str) -> RekognitionError:
    return not_found(f"The collection id: {collection_id} does not exist")


def describe(collection: Collection, *, region: str, account: str) -> dict[str, Any]:
    return {
        "FaceCount": 0,
        "UserCount": 0,
        "FaceModelVersion": FACE_MODEL_VERSION,
        "CollectionARN": collection_arn(region, account, collection.collection_id),
        "CreationTimestamp": collection.created,
    }


def list_page(
    collections: Mapping[str, Collection], max_results: int | None, cursor: str | None
) -> dict[str, Any]:
    """One page of ListCollections, in CollectionId order, after the id `cursor` encodes.

    The cursor is the last id returned, URL-safe base64 (so `spd.emulator.http.paging` can seal it as is).
    """
    after = None if cursor is None else _decode(cursor)
    ids = sorted(i for i in collections if after is None or i > after)
    size = max_results or DEFAULT_PAGE_SIZE
    page = ids[:size]
    result: dict[str, Any] = {
        "CollectionIds": page,
        "FaceModelVersions": [FACE_MODEL_VERSION] * len(page),
    }
    if len(ids) > size:
        result["NextToken"] = base64.urlsafe_b64encode(page[-1].encode("utf-8")).decode("ascii").rstrip("=")
    return result


def _decode(cursor: str) -> str:
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode("utf-8")
    except (binascii.Error, UnicodeError, ValueError):
        raise RekognitionError("InvalidPaginationTokenException", "Invalid pagination token.") from None
