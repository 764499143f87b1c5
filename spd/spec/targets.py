"""The rules of `targets` and of a processor's `target`: what makes a fleet spread over accounts safe.

Called by `spd.spec.loader`: `check_targets` on each file's `targets` block (role chains, profile or
role, the account the last role lives in), `merge_targets` across files (a target declared twice is an
error, as a processor is), and `target_issues` on every processor with its defaults applied (the target
exists, the region is one of the target's, every ARN names the target's account). A processor never
reaches an account other than its target's: an ARN naming another account would make the service
refuse it at best, or act on another account's resources at worst, so it is refused before any call.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from spd.api.constraints import role_arn_account
from spd.spec import schema
from spd.spec.issues import Issue
from spd.spec.positions import Path

_ACCOUNT = re.compile(schema.ACCOUNT_ID_PATTERN)
_REGION = re.compile(schema.REGION_PATTERN)

ACCOUNT_ARNS: tuple[tuple[str, ...], ...] = (
    ("role_arn",),
    ("input", "kinesis_video_stream_arn"),
    ("output", "kinesis_data_stream_arn"),
    ("notification_channel", "sns_topic_arn"),
    ("kms_key_id",),
)
"""The processor keys whose ARN names an account (a KMS key id or alias that is not an ARN does not)."""


@dataclass(frozen=True, slots=True)
class DeclaredTarget:
    """A target as the processor rules need it: its account (None when unknown) and regions."""

    name: str
    account_id: str | None
    regions: tuple[str, ...]


def role_chain(value: Any) -> list[str] | None:
    """`role_arn` as the chain of roles it names (one role is a chain of one); None when not strings."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def check_targets(targets: Any) -> list[Issue]:
    """The rules within one file's `targets` block that the schema cannot state."""
    if not isinstance(targets, dict):
        return []
    issues: list[Issue] = []
    for name, target in targets.items():
        if not isinstance(target, dict):
            continue
        base: Path = ("targets", name)
        role = target.get("role_arn")
        profile = target.get("profile")
        if role is not None and profile is not None:
            issues.append(
                Issue((*base, "profile"), "a target is reached by role_arn or by profile, not both", "key")
            )
        if role is None and profile is None:
            issues.append(Issue(base, "a target needs role_arn (a role or a role chain) or profile", "key"))
        if target.get("external_id") is not None and role is None:
            issues.append(
                Issue((*base, "external_id"), "external_id is sent when assuming a role: set role_arn", "key")
            )
        if role is None:
            continue
        if not isinstance(role, str | list):
            issues.append(
                Issue((*base, "role_arn"), "role_arn is a role ARN or a list of role ARNs (a chain)")
            )
            continue
        chain = role if isinstance(role, list) else [role]
        if isinstance(role, list) and not role:
            issues.append(Issue((*base, "role_arn"), "a role chain is a non-empty list of role ARNs"))
        for position, item in enumerate(chain):
            path: Path = (*base, "role_arn", position) if isinstance(role, list) else (*base, "role_arn")
            if not isinstance(item, str) or role_arn_account(item) is None:
                what = "a role chain is a list of role ARNs" if isinstance(role, list) else "role_arn is"
                issues.append(
                    Issue(path, f"{what} (arn:aws:iam::ACCOUNT:role/NAME); this is not a role ARN: {item!r}")
                )
        account = target.get("account_id")
        last = chain[-1] if chain else None
        found = role_arn_account(last) if isinstance(last, str) else None
        if isinstance(account, str) and _ACCOUNT.match(account) and found and found != account:
            path = (*base, "role_arn", len(chain) - 1) if isinstance(role, list) else (*base, "role_arn")
            issues.append(
                Issue(
                    path,
                    f"the role assumed last is in account {found}, but the target's account_id is "
                    f"{account}: the last role of a chain is the target account's",
                )
            )
    return issues


def declared_target(name: str, target: Mapping[str, Any]) -> DeclaredTarget:
    """The account and regions of a target as written (the account from its last role when not given)."""
    account = target.get("account_id")
    if not (isinstance(account, str) and _ACCOUNT.match(account)):
        account = None
        chain = role_chain(target.get("role_arn"))
        account = role_arn_account(chain[-1]) if chain else None
    regions = target.get("regions")
    return DeclaredTarget(
        name,
        account,
        tuple(r for r in regions if isinstance(r, str)) if isinstance(regions, list) else (),
    )


def target_issues(
    merged: Mapping[str, Any], base: Path, targets: Mapping[str, DeclaredTarget]
) -> list[Issue]:
    """A processor's `target` (defaults applied): declared, its region one of the target's, its ARNs in
    the target's account."""
    name = merged.get("target")
    if not isinstance(name, str):
        return []
    target = targets.get(name)
    if target is None:
        message = f"unknown target {name!r}"
        message += (
            f" (declared: {', '.join(sorted(targets))})" if targets else "; the spec declares no targets"
        )
        close = difflib.get_close_matches(name, list(targets), n=1, cutoff=0.6)
        if close:
            message += f"; did you mean {close[0]!r}?"
        return [Issue((*base, "target"), message)]
    issues: list[Issue] = []
    region = merged.get("region")
    if isinstance(region, str) and _REGION.match(region) and region not in target.regions:
        issues.append(
            Issue(
                (*base, "region"),
                f"region {region} is not one of the regions of target {name!r} ({', '.join(target.regions)})",
            )
        )
    if target.account_id is None:
        return issues
    for keys in ACCOUNT_ARNS:
        value: Any = merged
        for key in keys:
            value = value.get(key) if isinstance(value, dict) else None
        if not isinstance(value, str) or not value.startswith("arn:"):
            continue
        parts = value.split(":")
        if len(parts) >= 6 and parts[4] and parts[4] != target.account_id:
            issues.append(
                Issue(
                    (*base, *keys),
                    f"this ARN names account {parts[4]}, but target {name!r} is account {target.account_id}",
                )
            )
    return issues
