"""Every log event name the code emits, read from the source: the calls on a logger and the `Event`s built.

A name is found as a string literal, as a constant the module can evaluate (`events.DRIFT_DETECTED`,
`WATCH_RECONCILED`), or as an f-string, kept as a pattern (`{name}_receive_failed` -> `*_receive_failed`)
with the place it was found, so a test can ask which catalogued names it stands for. A name passed
through a variable is reported as dynamic, with its place, so a test can say where its values come from.
"""

from __future__ import annotations

import ast
import importlib
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "spd"
LEVELS = {"debug", "info", "warning", "error", "exception", "critical"}
SKIPPED = ("spd/emulator/", "spd/docs/")
"""The emulator logs one access line per call, not events; spd.docs only reads the catalogue."""


@dataclass(frozen=True)
class Emitted:
    """One place that logs an event: the name, or a pattern with `*`, or None when only known at run time."""

    where: str
    call: str
    name: str | None
    pattern: str | None = None


EMITTERS = {"Event", "_event", "_emit", "_report", "TokenFileProblem"}
"""Functions that take an event name first: the core's `Event`, and the helpers that build one or hand
a name to the log (the executor's `_event`, the session windows' `_emit`, the sinks' `_report`, the
API token's `TokenFileProblem`)."""


def _is_logger(node: ast.expr) -> bool:
    return "log" in ast.unparse(node).lower()


def _logger_aliases(tree: ast.Module) -> set[str]:
    """Local names bound to a logger's method (`log_at = log.error if ... else log.warning`)."""
    aliases = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and re.search(
            r"\.(debug|info|warning|error)\b", ast.unparse(node.value)
        ):
            aliases |= {target.id for target in node.targets if isinstance(target, ast.Name)}
    return aliases


def _name_argument(call: ast.Call, aliases: set[str]) -> ast.expr | None:
    func = call.func
    if isinstance(func, ast.Attribute) and _is_logger(func.value):
        if func.attr in LEVELS and call.args:
            return call.args[0]
        if func.attr == "log" and len(call.args) >= 2:
            return call.args[1]
    if isinstance(func, ast.Call) and ast.unparse(func.func) == "getattr" and _is_logger(func.args[0]):
        return call.args[0] if call.args else None  # getattr(log, level)(NAME, ...)
    callee = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if (callee in EMITTERS or callee in aliases) and call.args:
        return call.args[0]
    return None


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def emitted() -> list[Emitted]:
    found: list[Emitted] = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        if relative.startswith(SKIPPED):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        namespace: dict[str, object] | None = None
        aliases = _logger_aliases(tree)
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call):
                continue
            argument = _name_argument(node, aliases)
            if argument is None or (isinstance(argument, ast.Call) and ast.unparse(argument.func) == "Event"):
                continue  # `self._emit(Event(NAME, ...))`: the inner Event is found by itself
            where, call = f"{relative}:{node.lineno}", f"{relative}: {ast.unparse(node)}"
            if isinstance(argument, ast.Constant) and isinstance(argument.value, str):
                found.append(Emitted(where, call, argument.value))
            elif isinstance(argument, ast.JoinedStr):
                pattern = "".join(
                    part.value if isinstance(part, ast.Constant) else "*" for part in argument.values
                )
                found.append(Emitted(where, call, None, pattern))
            else:
                if namespace is None:
                    namespace = vars(importlib.import_module(_module_name(path)))
                try:
                    value = eval(compile(ast.Expression(argument), relative, "eval"), dict(namespace))
                except NameError:
                    value = None
                found.append(Emitted(where, call, value if isinstance(value, str) else None))
    return found
