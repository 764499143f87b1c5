"""The embedded emulator behind every spd command's `--local` flag.

`embedded_emulator()` serves a private emulator on a free loopback port on a background thread for the
duration of a `with` block and yields its URL; its state (processors and settings) persists in an SQLite file,
by default `$XDG_STATE_HOME/spd/emulator.db` (or `~/.local/state/spd/emulator.db`), so successive
`spd ... --local` runs see the same fleet, and `--local` commands running at the same time share it
safely (each change is one transaction; each sees the others' changes). A JSON `emulator.json` left by
older versions next to the default file is converted into it once and kept as `emulator.json-backup`. Only the Rekognition pieces of moto are imported up front,
so starting it takes a fraction of a second (moto's other services are imported once a spec
references something: `spd.emulator.moto_services.sandbox`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from spd.emulator.backend.service import DEFAULT_ACCOUNT, Emulator, EmulatorStateError
from spd.emulator.http.server import EmulatorServer
from spd.store.sqlite_store import default_state_dir


def default_state_file() -> Path:
    """Where `--local` keeps the emulator's state unless told otherwise, in the default state directory."""
    return default_state_dir() / "emulator.db"


def legacy_state_file() -> Path:
    """Where older versions kept the default state, as JSON; converted into `default_state_file()`."""
    return default_state_file().with_name("emulator.json")


# -- tests name their own state file --------------------------------------------------------------------

UNDER_PYTEST = "PYTEST_CURRENT_TEST"
"""Set by pytest while a test runs, and inherited by the processes it starts (`spd ... --local`)."""


def _default_outside_tests() -> Path:
    """The default state file, refused while a test runs: a test must never read or change the user's own
    `--local` fleet, so it passes a path (`--local-state FILE`, `embedded_emulator(path)`)."""
    if os.environ.get(UNDER_PYTEST):
        raise EmulatorStateError(
            f"the embedded emulator is running under pytest ({UNDER_PYTEST} is set) and was given no state "
            f"file; pass one (--local-state FILE, or embedded_emulator(path)) so that a test never uses "
            f"{default_state_file()}"
        )
    return default_state_file()


# ---------------------------------------------------------------------------------------------------------


@contextmanager
def embedded_emulator(
    state_file: Path | None = None, provide: Iterable[tuple[str, str, str]] = ()
) -> Iterator[str]:
    """Run an emulator in this process for the `with` block; yields its endpoint URL.

    It is the sandbox that plays the user's account: strict (Start fails a processor whose references are
    missing, as on AWS), and first given what `provide` lists ((kind, region, identifier) of each
    resource a spec references, `spd.checks.preflight.Reference`), each created once in the account every
    `--local` request runs as (moto's default) unless it was provided before (`Emulator.provide`).

    Raises `spd.emulator.backend.service.EmulatorStateError` (exit 78) if the state file is unusable, or if no
    state file is given while a pytest test runs (tests never default to the user's own state).
    """
    if state_file is None:
        emulator = Emulator(
            state_file=_default_outside_tests(), legacy_state_file=legacy_state_file(), strict=True
        )
    else:
        emulator = Emulator(state_file=state_file, strict=True)
    try:
        emulator.provide(DEFAULT_ACCOUNT, provide)
        server = EmulatorServer(emulator, host="127.0.0.1", port=0)
        server.start()
        try:
            yield server.url
        finally:
            server.stop()
    finally:
        emulator.close()
