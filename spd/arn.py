"""ARNs taken apart: `arn:<partition>:<service>:<region>:<account>:<resource>`.

One reading for every module that needs a part of an ARN (its account, region, partition or resource):
the resource is everything after the fifth colon, so it may hold colons of its own. Standard library
only, so the core, the daemon and the emulator can all use it.
"""

from __future__ import annotations

from typing import NamedTuple


class Arn(NamedTuple):
    partition: str
    service: str
    region: str
    """Empty for global services (IAM, S3)."""
    account: str
    """Empty for S3 buckets."""
    resource: str


def parse_arn(text: str) -> Arn | None:
    """The parts of `text`; None when it is not an ARN (not `arn:`, or fewer than six fields)."""
    parts = text.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return Arn(parts[1], parts[2], parts[3], parts[4], parts[5])
