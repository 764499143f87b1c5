"""The embedded emulator's state file is `emulator.db` (SQLite). The JSON `emulator.json` of older versions
is named only where it is converted (`spd.emulator.embedded.legacy_state_file`) and where that conversion
is tested, so no example, script or test presents it as the current file."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from spd.emulator.embedded import default_state_file, legacy_state_file

ROOT = Path(__file__).resolve().parents[3]
OLD = "emulator" + ".json"
NAMED = re.compile(re.escape(OLD) + r"(?!\w)")  # not the module spd.emulator.http.jsonbody
ALLOWED = {
    "spd/emulator/embedded.py",
    "tests/e2e/emulator/test_state_file.py",
    "tests/integration/emulator/test_state_file_name.py",
    "docs/guides/emulator.md",
}
"""The legacy state's converter, its tests, this test, and the guide that tells users of the conversion."""


def test_the_default_state_file_is_sqlites() -> None:
    assert default_state_file().name == "emulator.db"
    assert legacy_state_file().name == OLD


def test_only_the_conversion_names_the_old_state_file() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "spd", "tests", "config", ".ci", "contrib", "docs"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    naming = []
    for name in listed:
        path = ROOT / name
        if not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue
        if NAMED.search(text):
            naming.append(name)
    assert sorted(set(naming) - ALLOWED) == []
