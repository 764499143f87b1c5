"""Each third-party import in spd/ is declared where it is used, and each declaration is used there.

The core (everything outside spd/emulator/) must import only core dependencies: a systemd install has
no extras. The emulator may also use the `local` extra. A core dependency that only the emulator imports
belongs in `local`, and an extra dependency nothing imports should not be declared. Import names map to
distributions through the installed packages' metadata (`ruamel` is ruamel.yaml, and so on).
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[3]
SPD = ROOT / "spd"
PLUGIN_HOST = {"pytest"}
"""The pytest plugin imports pytest, which is there whenever pytest loads it."""


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> dict[str, set[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    groups = {"core": project["dependencies"], **project["optional-dependencies"]}
    return {group: {_norm(Requirement(r).name) for r in reqs} for group, reqs in groups.items()}


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name.partition(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.partition(".")[0])
    return {n for n in names if n not in sys.stdlib_module_names and n not in ("spd", "__future__")}


def _used() -> dict[str, set[str]]:
    """Distributions imported by the core and by the emulator."""
    distributions = packages_distributions()
    used: dict[str, set[str]] = {"core": set(), "local": set()}
    for path in SPD.rglob("*.py"):
        group = "local" if path.is_relative_to(SPD / "emulator") else "core"
        for name in _imports(path) - PLUGIN_HOST:
            assert name in distributions, f"{path}: {name} is not installed"
            used[group].update(_norm(d) for d in distributions[name])
    return used


def test_every_import_is_declared_where_it_is_used() -> None:
    declared, used = _declared(), _used()
    assert used["core"] <= declared["core"], f"core imports undeclared: {used['core'] - declared['core']}"
    missing = used["local"] - declared["core"] - declared["local"]
    assert not missing, f"the emulator imports what neither core nor local declares: {missing}"


def test_every_declaration_is_used_where_it_is_declared() -> None:
    declared, used = _declared(), _used()
    assert declared["core"] <= used["core"], (
        f"core declares what only extras use: {declared['core'] - used['core']}"
    )
    assert declared["local"] <= used["local"], (
        f"local declares what the emulator does not import: {declared['local'] - used['local']}"
    )


def test_only_the_glue_module_imports_moto() -> None:
    """moto's internals move between releases: one module (spd.emulator.moto_services.moto_glue) takes them, so the
    lowest moto spd declares is checked in one place (.ci/lowest-versions installs and runs it)."""
    root = Path(__file__).parents[3] / "spd"
    glue = root / "emulator" / "moto_services" / "moto_glue.py"
    importers = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = (
                [alias.name for alias in node.names]
                if isinstance(node, ast.Import)
                else [node.module or ""]
                if isinstance(node, ast.ImportFrom) and node.level == 0
                else []
            )
            if any(name == "moto" or name.startswith("moto.") for name in names):
                importers.append(path)
    assert set(importers) == {glue}, sorted(str(p.relative_to(root)) for p in importers)
