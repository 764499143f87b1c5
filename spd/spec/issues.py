"""`Issue`: a problem found in one spec file, addressed by key path before it is given a position.

Produced by `spd.spec.schema_errors` and `spd.spec.validate`, which know nothing of lines and columns;
`spd.spec.loader` locates each one and turns it into an `spd.errors.Diagnostic`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from spd.spec.positions import Path


@dataclass(frozen=True, slots=True)
class Issue:
    path: Path
    """Key path in the file's document with defaults applied, e.g. ("processors", 2, "output")."""
    message: str
    at: Literal["key", "value"] = "value"
    """Point at the key itself (unknown, duplicate, forbidden keys) or at its value."""
    severity: Literal["error", "warning"] = "error"
