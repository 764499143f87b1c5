"""The "did you mean" of every refusal that names something unknown: a command, an option, a processor.

One helper, so a mistyped processor name gets the same hint from `--target`, `spd session start` and a
trigger sent to the daemon. Pure (difflib only): the spec's refusals and the command line both use it.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def close_matches(name: str, known: Iterable[str], n: int = 3) -> list[str]:
    """The names of `known` closest to `name`, best first (difflib's ratio, 0.6 or more); never `name`
    itself (found elsewhere than asked, it is not a spelling mistake)."""
    return difflib.get_close_matches(name, sorted(set(known) - {name}), n=n)


def did_you_mean(name: str, known: Iterable[str]) -> str:
    """`"; did you mean 'x'?"` with the name of `known` closest to `name`; `""` when none is close."""
    close = close_matches(name, known, n=1)
    return f"; did you mean {close[0]!r}?" if close else ""
