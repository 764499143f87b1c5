"""The region spd uses where nothing more specific names one, decided in this one place.

A queue URL from an emulator names no region, a lease table may be given none, an event bus by name
lives in the region of the processor an event is about, yet some events are about no processor, and
a spec may name no region at all. Each then falls back, in this order, to:

1. the first (alphabetically) of the regions given (the spec's, for a stable choice across runs);
2. the standard AWS variables, `AWS_REGION` then `AWS_DEFAULT_REGION`, of the environment the caller
   was given (the daemon's or the command's, never read behind its back, so tests can inject one);
3. `us-east-1`, the region the AWS tools use when nothing is configured.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

LAST_RESORT = "us-east-1"
REGION_VARIABLES = ("AWS_REGION", "AWS_DEFAULT_REGION")


def fallback_region(environ: Mapping[str, str], regions: Iterable[str] = ()) -> str:
    """The first of `regions` (sorted), else the environment's AWS region, else us-east-1."""
    given = sorted(r for r in regions if r)
    if given:
        return given[0]
    for variable in REGION_VARIABLES:
        value = environ.get(variable)
        if value:
            return value
    return LAST_RESORT
