"""Saved plans: a plan written to a file by `spd plan --out`, carried out later by `spd apply FILE`.

A saved plan is only worth something if what it was made from has not moved since. So next to each
processor's planned actions it records a *fingerprint* of what was observed (status,
LastUpdateTimestamp, tags; or "absent") and, for the whole plan, a digest of the desired state it was
planned against. `spd apply FILE` re-reads only the processors the plan names, and refuses the whole
plan, before any mutating call, when a fingerprint, the spec's digest or the re-planned actions differ.

The spec's digest is a SHA-256 of the *canonical desired state* (every config field as the planner
compares it, run state, tags, protect), not of the spec files' bytes: reformatting a spec or editing a
comment does not invalidate a plan, any change spd would act on does.

This module is pure apart from reading and writing the plan file: serialising, parsing with
validation, and comparing.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from spd.errors import ExitCode, SpdError
from spd.model import AMBIENT_TARGET, DesiredState, ObservedProcessor, ObservedState, ProcessorId
from spd.reconcile.plan import Plan, config_fields

FORMAT_VERSION = 1
"""The `format_version` this spd writes and reads; any other is refused."""

PLAN_SUFFIX = ".json"


class SavedPlanError(SpdError):
    """The plan file is unreadable, corrupt, of an unknown version or for another stack (exit 78, like
    any other invalid input file)."""

    exit_code = ExitCode.CONFIG

    def __init__(self, path: str | Path, message: str) -> None:
        super().__init__(f"{path}: {message}")


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What was observed of one processor when the plan was made."""

    status: str
    last_update: str | None
    tags: tuple[tuple[str, str], ...]

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "last_update": self.last_update, "tags": dict(self.tags)}


def fingerprint(observed: ObservedProcessor | None) -> Fingerprint | None:
    """The fingerprint of an observation; None for a processor that did not exist."""
    if observed is None:
        return None
    return Fingerprint(observed.status.value, _iso(observed.updated_at), tuple(sorted(observed.tags or ())))


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def spec_digest(desired: DesiredState) -> str:
    """SHA-256 of the canonical desired state: equal for two specs that ask spd for the same thing."""
    doc = {
        "stack": desired.stack,
        "processors": [
            {
                "region": p.id.region,
                "name": p.name,
                "config": config_fields(p.config),
                "run_state": p.run_state.value,
                "tags": [list(t) for t in p.tags],
                "protect": p.protect,
                # Only with targets, so a spec without them keeps the digest it always had.
                **({"target": p.target} if p.target else {}),
            }
            for p in sorted(desired.processors, key=lambda p: (p.id.target, p.id.region, p.name))
        ],
    }
    if desired.targets:
        doc["targets"] = [
            {"name": t.name, "account_id": t.account_id, "roles": list(t.role_arns), "profile": t.profile}
            for t in desired.targets
        ]
    text = json.dumps(doc, sort_keys=True, separators=(",", ":"), default=str)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SavedProcessor:
    id: ProcessorId
    actions: tuple[str, ...]
    blocked: str | None
    observed: Fingerprint | None


@dataclass(frozen=True, slots=True)
class SavedPlan:
    stack: str
    spec: str
    """The spec path the plan was made from, absolute: `apply FILE` reads it again."""
    spec_digest: str
    prune: bool
    adopt: bool
    only: tuple[str, ...] | None
    """The processor names the plan was limited to (`--target`), None for all; kept under the file's
    documented key `targets`."""
    processors: tuple[SavedProcessor, ...]

    @property
    def ids(self) -> tuple[ProcessorId, ...]:
        return tuple(p.id for p in self.processors)

    def to_json(self, planned: Plan) -> str:
        """The file's text; `planned` adds each processor's changes, for people reading the file."""
        changes = {
            p.id: [
                {
                    "field": c.field,
                    "before": c.before,
                    "after": c.after,
                    "forces_replacement": c.forces_replacement,
                }
                for c in p.changes
            ]
            for p in planned.processors
        }
        doc = {
            "format_version": FORMAT_VERSION,
            "stack": self.stack,
            "spec": self.spec,
            "spec_digest": self.spec_digest,
            "prune": self.prune,
            "adopt": self.adopt,
            "targets": None if self.only is None else list(self.only),
            "processors": [
                {
                    **({"target": p.id.target} if p.id.target else {}),
                    "region": p.id.region,
                    "name": p.id.name,
                    "actions": list(p.actions),
                    "blocked": p.blocked,
                    "observed": None if p.observed is None else p.observed.to_json(),
                    "changes": changes.get(p.id, []),
                }
                for p in self.processors
            ],
        }
        return json.dumps(doc, indent=2, default=str) + "\n"


def save(
    planned: Plan,
    desired: DesiredState,
    spec: Path,
    *,
    prune: bool,
    adopt: bool = False,
    only: Iterable[str] | None,
) -> SavedPlan:
    """The saved form of a plan that was made from `desired` (loaded from `spec`)."""
    return SavedPlan(
        stack=planned.stack,
        spec=str(spec.absolute()),
        spec_digest=spec_digest(desired),
        prune=prune,
        adopt=adopt,
        only=None if only is None else tuple(sorted(set(only))),
        processors=tuple(
            SavedProcessor(p.id, tuple(a.value for a in p.actions), p.blocked, fingerprint(p.observed))
            for p in planned.processors
        ),
    )


def write(path: Path, text: str) -> None:
    """Write the plan file whole or not at all (a temporary file renamed over the target)."""
    directory = path.parent
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise SavedPlanError(path, f"cannot write the plan: {exc.strerror or exc}") from None


def is_plan_file(path: Path) -> bool:
    """Whether `spd apply PATH` means a saved plan rather than a spec.

    Specs are `*.yaml`/`*.yml` files or directories. A regular file is a saved plan when its name ends
    in `.json`, or when its content is a JSON object with a `format_version` key (a key no spec has).
    """
    try:
        if not stat.S_ISREG(os.stat(path).st_mode):
            return False
    except OSError:
        return False
    if path.suffix == PLAN_SUFFIX:
        return True
    try:
        with open(path, "rb") as f:
            head = f.read(64).lstrip()
    except OSError:
        return False
    if not head.startswith(b"{"):
        return False
    try:
        doc = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "format_version" in doc


def read(path: Path) -> SavedPlan:
    """Parse and validate a plan file; every problem is a `SavedPlanError` naming the file."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SavedPlanError(path, f"cannot read the plan: {exc}") from None
    return parse(text, path)


def parse(text: str, source: str | Path = "<plan>") -> SavedPlan:
    try:
        doc = json.loads(text)
    except ValueError as exc:
        raise SavedPlanError(source, f"not a saved plan (invalid JSON: {exc})") from None
    if not isinstance(doc, dict) or "format_version" not in doc:
        raise SavedPlanError(source, "not a saved plan (no format_version); write one with `spd plan --out`")
    version = doc["format_version"]
    if version != FORMAT_VERSION:
        raise SavedPlanError(
            source, f"format_version {version!r} is not supported (this spd reads {FORMAT_VERSION})"
        )
    try:
        return SavedPlan(
            stack=_str(doc, "stack"),
            spec=_str(doc, "spec"),
            spec_digest=_str(doc, "spec_digest"),
            prune=_bool(doc, "prune"),
            adopt=_bool(doc, "adopt"),
            only=_names(doc.get("targets")),
            processors=tuple(_processor(i, p) for i, p in enumerate(_list(doc, "processors"))),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SavedPlanError(source, f"corrupt saved plan: {exc.args[0] if exc.args else exc}") from None


def _str(doc: dict[str, Any], key: str, where: str = "") -> str:
    value = doc.get(key)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{where}{key} must be a non-empty string")
    return value


def _bool(doc: dict[str, Any], key: str) -> bool:
    value = doc.get(key)
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false")
    return value


def _list(doc: dict[str, Any], key: str, where: str = "") -> list[Any]:
    value = doc.get(key)
    if not isinstance(value, list):
        raise ValueError(f"{where}{key} must be a list")
    return value


def _names(value: Any) -> tuple[str, ...] | None:
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise ValueError("targets must be null or a list of names")
    return tuple(value)


def _processor(index: int, doc: Any) -> SavedProcessor:
    where = f"processors[{index}]."
    if not isinstance(doc, dict):
        raise ValueError(f"processors[{index}] must be an object")
    actions = _list(doc, "actions", where)
    if not actions or not all(isinstance(a, str) for a in actions):
        raise ValueError(f"{where}actions must be a non-empty list of strings")
    blocked = doc.get("blocked")
    if blocked is not None and not isinstance(blocked, str):
        raise ValueError(f"{where}blocked must be null or a string")
    return SavedProcessor(
        ProcessorId(
            _str(doc, "region", where),
            _str(doc, "name", where),
            _str(doc, "target", where) if "target" in doc else AMBIENT_TARGET,
        ),
        tuple(actions),
        blocked,
        _fingerprint(where, doc.get("observed")),
    )


def _fingerprint(where: str, doc: Any) -> Fingerprint | None:
    if doc is None:
        return None
    if not isinstance(doc, dict):
        raise ValueError(f"{where}observed must be null or an object")
    last = doc.get("last_update")
    if last is not None and not isinstance(last, str):
        raise ValueError(f"{where}observed.last_update must be null or a string")
    tags = doc.get("tags")
    if not isinstance(tags, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in tags.items()
    ):
        raise ValueError(f"{where}observed.tags must be an object of strings")
    return Fingerprint(_str(doc, "status", where + "observed."), last, tuple(sorted(tags.items())))


def changes_since(saved: SavedPlan, observed: ObservedState) -> list[str]:
    """What differs between the plan's fingerprints and a fresh observation of its processors, one line
    per processor (empty when nothing changed)."""
    now = observed.by_id()
    unreadable = dict(observed.unreadable)
    lines = []
    for p in saved.processors:
        if p.id in unreadable:
            lines.append(f"{p.id}: could not be read again: {unreadable[p.id]}")
            continue
        before, after = p.observed, fingerprint(now.get(p.id))
        if before == after:
            continue
        if before is None:
            lines.append(f"{p.id}: appeared since the plan was made")
        elif after is None:
            lines.append(f"{p.id}: disappeared since the plan was made")
        else:
            lines.append(f"{p.id}: {'; '.join(_differences(before, after))}")
    return lines


def _differences(before: Fingerprint, after: Fingerprint) -> list[str]:
    out = []
    if before.status != after.status:
        out.append(f"status {before.status} -> {after.status}")
    old, new = dict(before.tags), dict(after.tags)
    for key in sorted(set(old) | set(new)):
        if old.get(key) != new.get(key):
            out.append(f"tag {key}: {old.get(key)!r} -> {new.get(key)!r}")
    if before.last_update != after.last_update:
        out.append(f"last updated {before.last_update} -> {after.last_update}")
    return out


def plan_differences(saved: SavedPlan, replanned: Plan) -> list[str]:
    """Where planning again from the same inputs gives other actions than the saved ones (it should
    not: this is the last check that what will run is exactly what was saved)."""
    fresh = {p.id: p for p in replanned.processors}
    lines = []
    for p in saved.processors:
        q = fresh.pop(p.id, None)
        if q is None:
            lines.append(f"{p.id}: no longer planned")
            continue
        actions = tuple(a.value for a in q.actions)
        if actions != p.actions or q.blocked != p.blocked:
            lines.append(f"{p.id}: planned {', '.join(p.actions)}, now {', '.join(actions)}")
    lines += [f"{pid}: not in the saved plan" for pid in fresh]
    return lines
