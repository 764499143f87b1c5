"""Without the `local` extra (moto), `--local` and `spd emulator` say what to install instead of a traceback.

moto is installed in the test environment, so each run puts a directory first on PYTHONPATH whose
`moto` package fails to import, exactly as a missing one does.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from spdrun import face, run_spd, spd_env, write_spec

HINT = "the embedded emulator needs the 'local' extra: pip install 'spd[local]'"


@pytest.fixture
def without_moto(tmp_path: Path) -> dict[str, str]:
    package = tmp_path / "no-moto" / "moto"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text(
        "raise ModuleNotFoundError(\"No module named 'moto'\", name='moto')\n"
    )
    return {"PYTHONPATH": str(package.parent)}


@pytest.mark.parametrize(
    "args",
    [
        ["plan", "{spec}", "--local", "--local-state", "{state}"],
        ["run", "--spec", "{spec}", "--local", "--local-state", "{state}"],
        ["emulator", "--port", "0"],
    ],
    ids=["plan", "run", "emulator"],
)
def test_missing_moto_names_the_extra(args, tmp_path, without_moto):
    spec = write_spec(tmp_path / "spec.yaml", [face("lobby")])
    argv = [a.format(spec=spec, state=tmp_path / "state.json") for a in args]
    r = run_spd(argv, env={**without_moto, "SPD_METRICS_ADDRESS": "127.0.0.1:0", "SPD_LOG_FORMAT": "json"})
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    assert HINT in r.stderr
    assert not (tmp_path / "state.json").exists()


def test_python_m_spd_emulator_names_the_extra(without_moto):
    r = subprocess.run(
        [sys.executable, "-m", "spd.emulator", "--port", "0"],
        env=spd_env(without_moto),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert HINT in r.stderr
