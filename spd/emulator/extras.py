"""Optional dependencies: when one is missing, say which extra to install instead of a traceback.

Below both the CLI's gateway (`spd.connect`) and the emulator's own command (`spd.emulator.command`),
which import the emulator's moto-based modules only inside `local_extra_required`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from spd.errors import SpdError

LOCAL_EXTRA_MISSING = "the embedded emulator needs the 'local' extra: pip install 'spd[local]'"


class MissingExtraError(SpdError):
    """A feature needs an optional dependency that is not installed (exit 1: fix the installation)."""


@contextlib.contextmanager
def local_extra_required() -> Iterator[None]:
    """Wrap the import of `spd.emulator` modules: without moto, a clear message instead of a traceback."""
    try:
        yield
    except ImportError as exc:
        raise MissingExtraError(f"{LOCAL_EXTRA_MISSING} ({exc})") from None
