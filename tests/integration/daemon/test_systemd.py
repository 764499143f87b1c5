"""The shipped unit files, checked by systemd's own analyzer.

`systemd-analyze verify` refuses an ExecStart= binary that does not exist, and the units name the
documented install path (/opt/spd/bin/spd), which a test machine does not have. So verify runs on
temporary copies whose ExecStart points at this checkout's `spd` (the same console script the install
creates); everything else in the files is checked as shipped. The security rating reads the real file.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNITS = Path(__file__).resolve().parents[3] / "systemd"
INSTALL_PATH = "/opt/spd/bin/spd"
MAX_EXPOSURE = 2.0

ANALYZE = shutil.which("systemd-analyze")
pytestmark = pytest.mark.skipif(
    ANALYZE is None, reason="systemd-analyze is not installed (apt-get install systemd)"
)


def _unit_files() -> list[Path]:
    return sorted([*UNITS.glob("*.service"), *UNITS.glob("*.timer")])


def _spd_executable() -> str:
    spd = Path(sys.executable).parent / "spd"
    assert spd.exists(), f"{spd} missing: install the project into the virtualenv (pip install -e .)"
    return str(spd)


def test_units_exist_and_name_the_install_path():
    names = {p.name for p in _unit_files()}
    assert names == {"spd.service", "spd-apply.service", "spd-apply.timer"}
    service = (UNITS / "spd.service").read_text()
    assert f"ExecStart={INSTALL_PATH} run" in service
    for line in (
        "Type=notify",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "Restart=on-failure",
        "RestartPreventExitStatus=78",
        "NotifyAccess=main",
        "EnvironmentFile=-/etc/spd/spd.env",
    ):
        assert line in service.splitlines(), line
    assert re.search(r"^WatchdogSec=\S+", service, re.M)
    apply = (UNITS / "spd-apply.service").read_text()
    assert re.search(rf"^ExecStart={re.escape(INSTALL_PATH)} apply --auto-approve \S+", apply, re.M)
    assert "Type=oneshot" in apply.splitlines()


def test_verify_passes_without_warnings(tmp_path):
    spd = _spd_executable()
    for unit in _unit_files():
        (tmp_path / unit.name).write_text(unit.read_text().replace(INSTALL_PATH, spd))
    copies = [str(tmp_path / u.name) for u in _unit_files()]
    result = subprocess.run(
        [ANALYZE, "verify", *copies], capture_output=True, text=True, timeout=60, check=False
    )
    problems = [line for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    assert result.returncode == 0, problems
    assert problems == []


def test_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: a misspelt directive makes verify complain."""
    broken = tmp_path / "spd.service"
    text = (UNITS / "spd.service").read_text().replace(INSTALL_PATH, _spd_executable())
    broken.write_text(text.replace("NoNewPrivileges=yes", "NoNewPrivilege=yes"))
    result = subprocess.run([ANALYZE, "verify", str(broken)], capture_output=True, text=True, timeout=60)
    assert "NoNewPrivilege" in result.stderr


def _exposure(unit: Path) -> float:
    result = subprocess.run(
        [ANALYZE, "security", "--offline=true", str(unit)], capture_output=True, text=True, timeout=60
    )
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", result.stdout)
    assert match, result.stdout + result.stderr
    return float(match.group(1))


@pytest.mark.parametrize("name", ["spd.service", "spd-apply.service"])
def test_security_exposure_is_at_most_two(name):
    assert _exposure(UNITS / name) <= MAX_EXPOSURE


def test_security_rating_reacts_to_hardening(tmp_path):
    """A unit without the sandbox rates far worse, so the figure above measures something."""
    bare = tmp_path / "spd.service"
    bare.write_text("[Service]\nType=notify\nExecStart=/bin/true\n")
    assert _exposure(bare) > 5.0
