"""spd installed the way its users install it, from a wheel of this checkout, in fresh virtual environments.

- core only (a systemd host has no `local` extra): the CLI validates, plans and prints the schema, and
  pytest still runs, since pytest loads spd's plugin wherever spd is installed;
- with `local`: a throwaway project's own tests use the plugin's fixtures, and moto's `mock_aws` with
  `spd.emulator.mock.install()`. The test files are the examples of the manual's page on the emulator in your own tests
  (docs/guides/emulator-in-tests.md), so the documentation runs too.

The environments do not see this test suite's packages (no `--system-site-packages`), so a dependency spd
forgets to declare fails here. Resolving spd[local] against a package index takes about a minute, most of
it network round trips, so the dependencies' wheels are kept between runs in a wheelhouse
(`$SPD_TEST_WHEELHOUSE`, default `~/.cache/spd-tests/`) keyed by spd's declared dependencies and the
Python version; the environments install from it with `--no-index` and take seconds. spd itself is
always a fresh wheel of the checkout. The wheel, the wheelhouse and the `local` environment are built
once per session and shared by xdist workers under a lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import venv
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

import doc_examples

pytestmark = [pytest.mark.install, pytest.mark.timeout(600)]

CHECKOUT = Path(__file__).resolve().parents[3]
EXAMPLES = CHECKOUT / "docs" / "guides" / "emulator-in-tests.md"


def _env() -> dict[str, str]:
    """The caller's environment minus anything that would let a venv see this checkout or this venv."""
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def _run(args: list[str | Path], *, cwd: Path | None = None, timeout: float = 300) -> str:
    result = subprocess.run(
        [str(a) for a in args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout
    )
    assert result.returncode == 0, f"{args} exited {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result.stdout


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def shared_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One directory for the whole run: under xdist, the workers' common parent."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return root / "spd-install"


@pytest.fixture(scope="session")
def wheel(shared_dir: Path) -> Path:
    out = shared_dir / "wheel"
    with _locked(shared_dir / "wheel.lock"):
        if not list(out.glob("spd-*.whl")):
            _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", out, CHECKOUT])
    (found,) = out.glob("spd-*.whl")
    return found


def _cache_root() -> Path:
    configured = os.environ.get("SPD_TEST_WHEELHOUSE")
    if configured:
        return Path(configured)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "spd-tests"


@pytest.fixture(scope="session")
def wheelhouse(wheel: Path) -> Path:
    """Wheels of every dependency of spd[local] and of pytest, reused while the declarations stay the same."""
    project = tomllib.loads((CHECKOUT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {"core": project["dependencies"], "local": project["optional-dependencies"]["local"]}
    key = hashlib.sha256(json.dumps([declared, sys.version_info[:2], sys.platform]).encode()).hexdigest()
    root = _cache_root()
    house = root / f"wheelhouse-{key[:16]}"
    with _locked(root / f"{house.name}.lock"):
        if not (house / "complete").exists():
            partial = root / f"{house.name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            _run([sys.executable, "-m", "pip", "wheel", "-q", "-w", partial, f"{wheel}[local]", "pytest"])
            for own in partial.glob("spd-*.whl"):
                own.unlink()  # spd itself always comes fresh from the checkout
            (partial / "complete").touch()
            shutil.rmtree(house, ignore_errors=True)
            partial.rename(house)
    return house


def _new_venv(path: Path, wheelhouse: Path, *requirements: str) -> Path:
    """A new venv with `requirements` from the wheelhouse. It is made without pip of its own (the
    bundled pip's own install is most of a venv's cost, and nothing spd does needs pip): this
    interpreter's pip installs into it (`pip --python`), resolving exactly as the venv's own would."""
    venv.EnvBuilder(with_pip=False, clear=True).create(path)
    python = path / "bin" / "python"
    _run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            python,
            "install",
            "-q",
            "--no-compile",
            "--no-index",
            "--find-links",
            wheelhouse,
            *requirements,
        ]
    )
    return python


@pytest.fixture(scope="session")
def local_python(shared_dir: Path, wheel: Path, wheelhouse: Path) -> Path:
    """A fresh venv with spd[local] and pytest, as a user's project would have."""
    path = shared_dir / "local-venv"
    with _locked(shared_dir / "local-venv.lock"):
        if not (path / "ready").exists():
            _new_venv(path, wheelhouse, f"{wheel}[local]", "pytest")
            (path / "ready").touch()
    return path / "bin" / "python"


def docs_example(*needles: str) -> str:
    """The Python example of the manual's page on the emulator in tests that contains every needle."""
    return doc_examples.example(EXAMPLES, "python", *needles)


def _pytest(python: Path, project: Path) -> str:
    result = subprocess.run(
        [python, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    return f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"


def _assert_all_passed(report: str) -> None:
    assert report.startswith("exit 0\n"), report
    assert re.search(r"\b[2-9] passed\b", report), report
    assert "failed" not in report, report
    assert "error" not in report, report


def _project(root: Path, files: dict[str, str]) -> Path:
    root.mkdir()
    for name, text in files.items():
        (root / name).write_text(text, encoding="utf-8")
    return root


def test_core_install_runs_the_cli_and_pytest_without_the_local_extra(
    tmp_path: Path, wheel: Path, wheelhouse: Path
) -> None:
    python = _new_venv(tmp_path / "venv", wheelhouse, str(wheel), "pytest")
    spd = python.parent / "spd"
    _run([python, "-c", "import importlib.util as u; assert not any(map(u.find_spec, ('moto', 'boto3')))"])
    _run([spd, "validate", CHECKOUT / "config"])
    assert "Usage" in _run([spd, "plan", "--help"])
    assert '"$schema"' in _run([spd, "schema"])

    project = _project(
        tmp_path / "project",
        {
            "test_plain.py": "def test_plain():\n    assert True\n",
            "test_needs_local.py": "def test_emulator(spd_emulator):\n    pass\n",
        },
    )
    report = _pytest(python, project)
    assert "1 passed, 1 error" in report, report
    assert "pip install 'spd[local]'" in report, report
    assert "ModuleNotFoundError" not in report, report


def test_plugin_fixtures_in_a_throwaway_project(tmp_path: Path, local_python: Path) -> None:
    example = docs_example("def test_", "spd_rekognition")
    project = _project(tmp_path / "project", {"test_stream_processors.py": example})
    report = _pytest(local_python, project)
    _assert_all_passed(report)


def test_mock_aws_in_a_throwaway_project(tmp_path: Path, local_python: Path) -> None:
    example = docs_example("def test_", "mock_aws")
    project = _project(tmp_path / "project", {"test_with_moto.py": example})
    report = _pytest(local_python, project)
    _assert_all_passed(report)
